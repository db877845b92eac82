"""Lazy sub-command dispatch shared by ``vidssl`` and ``vidssl-data``.

Each command is a module exposing ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``; it is
imported only when its command runs, so ``--help`` stays fast. Exit codes: 0 success, 2 unknown command (argparse
itself exits 2 on bad arguments); the command's own code otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence

__all__ = ["build_parser", "dispatch"]


def build_parser(prog: str, description: str, commands: Mapping[str, tuple[str, str]]) -> argparse.ArgumentParser:
    """The top-level parser listing ``commands`` (name → (module, one-line help)); sub-parsers are filled lazily."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in commands.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def dispatch(prog: str, description: str, commands: Mapping[str, tuple[str, str]],
             argv: Sequence[str] | None = None) -> int:  # fmt: skip
    """Parse ``argv`` (default ``sys.argv[1:]``), run one command and return the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        parser = build_parser(prog, description, commands)
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"{prog}: unknown command {argv[0]!r}; choose from {', '.join(commands)}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    name = argv[0]
    module = importlib.import_module(commands[name][0])
    sub = argparse.ArgumentParser(
        prog=f"{prog} {name}", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.main(args) or 0)
