"""``vidssl-data`` command dispatcher.

Each tool is a module exposing ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int``; modules are imported
only when their command runs. Exit codes: 0 success, 1 some inputs failed (the run completed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from vidssl.cli import dispatch

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


DESCRIPTION = "Preprocess video corpora for vidssl: synth, scan, verify, transcode, motion, split, shard, stats."


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser listing the commands (sub-parsers are filled in lazily by :func:`main`)."""
    return dispatch.build_parser("vidssl-data", DESCRIPTION, COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the process exit code."""
    return dispatch.dispatch("vidssl-data", DESCRIPTION, COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
