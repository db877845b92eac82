"""``vidssl`` command dispatcher.

Each command lives in its own module under ``vidssl.cli`` and exposes ``HELP`` (one line), ``add_arguments(parser)``
and ``main(args) -> int``. Modules are imported only when their command runs, so ``vidssl --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "pretrain": ("vidssl.cli.pretrain", "pretrain a backbone with a pretext task from a YAML recipe"),
    "finetune": ("vidssl.cli.finetune", "fine-tune or linear-probe for action classification"),
    "evaluate": ("vidssl.cli.evaluate", "evaluate a run: classification or retrieval top-k"),
    "track": ("vidssl.cli.track", "label propagation on DAVIS-layout folders, scored with J&F"),
    "demo": ("vidssl.cli.demo", "the main job end to end on the built-in synthetic corpus"),
    "bench": ("vidssl.cli.bench", "run a benchmark (quality) and write its report"),
    "list-models": ("vidssl.cli.list_models", "list registered backbones and heads"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; sub-parsers are filled in lazily by :func:`main`."""
    parser = argparse.ArgumentParser(
        prog="vidssl",
        description="Video self-supervised learning: pretrain, fine-tune, track, benchmark.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser = build_parser()
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"vidssl: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    sub = argparse.ArgumentParser(
        prog=f"vidssl {name}", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.main(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
