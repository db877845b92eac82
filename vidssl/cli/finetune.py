"""Fine-tune or linear-probe an action classifier, from a pretrain run or from scratch, and test it.

Examples:
  vidssl finetune -c configs/finetune/supervised_tiny.yaml data.manifest=corpus/manifest.csv
  vidssl finetune -c configs/finetune/supervised_tiny.yaml finetune.init=runs/shuffle_and_learn_tiny
  vidssl finetune -c configs/finetune/linear_probe_tiny.yaml finetune.init=RUN_DIR data.labels_per_class=5
  vidssl finetune -c configs/finetune/ulmfit_tiny.yaml finetune.init=RUN_DIR     # gradual unfreezing, one-cycle

Modes: finetune.mode=full (everything trains) or linear (backbone frozen in eval mode, checked unchanged at the
end); finetune.unfreeze=gradual and finetune.lr_decay<1 give ULMFiT's gradual unfreezing and discriminative
learning rates. After training the test split is scored: clip and video accuracy (eval.clips_per_video clips per
video), top-k, per-class accuracy, confusion_matrix.png and predictions.csv in the run folder.
"""

from __future__ import annotations

import argparse

from vidssl.train.cli_support import add_recipe_arguments, config_from_args, run_or_explain
from vidssl.train.config import FinetuneConfig

HELP = "fine-tune or linear-probe for action classification"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Recipe, overrides and --print-config."""
    add_recipe_arguments(parser, extra_sections=", finetune")


def main(args: argparse.Namespace) -> int:
    """Train (or resume), test, and return the exit status."""
    from vidssl.train.commands import finetune, prepare_config

    def run() -> int:
        cfg = config_from_args(FinetuneConfig, args, prepare_config)
        if cfg is None:
            return 0
        return 0 if finetune(cfg).complete or cfg.run.stop_after_epochs else 1

    return run_or_explain(run, "finetune")
