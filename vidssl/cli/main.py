"""``vidssl`` command dispatcher.

Each command lives in its own module under ``vidssl.cli`` and exposes ``HELP`` (one line), ``add_arguments(parser)``
and ``main(args) -> int``. Modules are imported only when their command runs, so ``vidssl --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from vidssl.cli import dispatch

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


DESCRIPTION = "Video self-supervised learning: pretrain, fine-tune, track, benchmark."


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser listing the commands (sub-parsers are filled in lazily by :func:`main`)."""
    return dispatch.build_parser("vidssl", DESCRIPTION, COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run one command; returns the process exit code."""
    return dispatch.dispatch("vidssl", DESCRIPTION, COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
