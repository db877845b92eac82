"""``vidssl-data`` command dispatcher.

Each tool is a module exposing ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int``; modules are imported
only when their command runs. Exit codes: 0 success, 1 some inputs failed (the run completed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> (module, one-line help), in pipeline order.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("data_tools.synth.cli", "generate the built-in synthetic corpus (videos, audio, masks, labels)"),
    "scan": ("data_tools.scan", "probe every video under a folder into a manifest (what really decodes)"),
    "verify": ("data_tools.verify", "fully decode the videos of a manifest and update their status"),
    "transcode": ("data_tools.transcode", "training-friendly copies: short side, fps, short GOP, H.264, AAC"),
    "motion": ("data_tools.motion", "per-video motion profile for motion-aware planners"),
    "split": ("data_tools.split", "train/val/test splits by group, or official UCF101/HMDB51 lists"),
    "shard": ("data_tools.shard", "WebDataset tar shards for streaming"),
    "stats": ("data_tools.stats", "corpus statistics: a text table and a PNG"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser listing the tools."""
    parser = argparse.ArgumentParser(
        prog="vidssl-data",
        description="Preprocess video corpora for vidssl: synth, scan, verify, transcode, motion, split, shard, stats.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one tool; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser = build_parser()
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"vidssl-data: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    sub = argparse.ArgumentParser(
        prog=f"vidssl-data {name}", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.main(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
