"""Argument handling shared by ``vidssl pretrain``, ``finetune`` and ``evaluate``: recipes, overrides, errors.

Parsers are built by ``add_recipe_arguments(parser)`` so launchers can reuse them (DINO's ``get_args_parser``
pattern); errors users can fix (bad keys, missing files) print one message and exit with status 2 instead of a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

from vidssl.train.config import load_config
from vidssl.train.config_schema import ConfigError, dump_yaml

__all__ = ["USER_ERRORS", "add_recipe_arguments", "allow_intermixed", "config_from_args", "run_or_explain"]

C = TypeVar("C")
# Errors whose message tells the user what to do; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ConfigError, FileNotFoundError)

EPILOG = """\
Recipe sections: data, model, task, optim, run, eval{extra}. Every key has a default and a help line;
`--print-config` shows them all with the values this command would use. Override any key as section.key=value:
  optim.lr=0.01  run.epochs=5  'model.kwargs={{width: 16}}'  data.mean=[0.5,0.5,0.5]  run.out_dir=runs/try1
Rerunning a command with the same run.out_dir resumes from its checkpoint.pt.
"""


def allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Accept options between ``KEY=VALUE`` items (``... run.epochs=5 --print-config optim.lr=0.1``).

    Plain ``parse_args`` stops filling a ``nargs="*"`` positional at the first option and then rejects the items
    after it; the dispatcher calls ``parse_args``, so route it to ``parse_intermixed_args``.
    """
    parser.parse_args = parser.parse_intermixed_args  # type: ignore[method-assign]


def add_recipe_arguments(parser: argparse.ArgumentParser, *, extra_sections: str = "") -> None:
    """``--config``, ``--print-config`` and the ``KEY=VALUE`` overrides."""
    allow_intermixed(parser)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG.format(extra=extra_sections)
    parser.add_argument("-c", "--config", metavar="RECIPE.yaml",
                        help="YAML recipe (configs/...); without it the built-in defaults are used")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="dotted overrides applied after the recipe, e.g. optim.lr=0.01 run.epochs=5")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved recipe (every key, its value and what it does) and exit")


def config_from_args(cls: type[C], args: argparse.Namespace, prepare: Callable[[C], C] | None = None) -> C | None:
    """Load the recipe + overrides; with ``--print-config`` print it and return ``None``."""
    cfg = load_config(cls, args.config, args.overrides)
    if prepare is not None:
        cfg = prepare(cfg)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return None
    return cfg


def run_or_explain(fn: Callable[[], int], command: str) -> int:
    """Run ``fn``; errors with advice print ``vidssl COMMAND: error: ...`` without a traceback.

    Returns:
        ``fn``'s status; 2 for a usage error (recipe, paths, resuming a different recipe); 1 for a training
        failure that explains itself (non-finite loss, a linear probe that changed its frozen backbone).
    """
    from vidssl.eval.finetune import BackboneChangedError
    from vidssl.train.checkpoint import CheckpointError
    from vidssl.train.engine import ResumeMismatchError
    from vidssl.train.loop import NonFiniteLossError

    try:
        return fn()
    except (*USER_ERRORS, ResumeMismatchError, CheckpointError) as err:
        print(f"vidssl {command}: error: {err}", file=sys.stderr)
        return 2
    except (NonFiniteLossError, BackboneChangedError) as err:
        print(f"vidssl {command}: training failed: {err}", file=sys.stderr)
        return 1
