"""Pretrain a backbone with a task (pretext, or supervised as a baseline) from a YAML recipe.

Examples:
  vidssl pretrain -c configs/pretrain/supervised_tiny.yaml data.manifest=corpus/manifest.csv
  vidssl pretrain -c configs/pretrain/supervised_tiny.yaml --print-config
  torchrun --nproc_per_node 4 -m vidssl pretrain -c RECIPE.yaml    # DDP: gloo on CPU, nccl on GPUs

The run folder (run.out_dir, default runs/<recipe name>) gets config.yaml, git.json, log.jsonl, TensorBoard events,
checkpoint.pt, metrics.json and loss_curves.png. Kill it at any time and rerun the same command to resume.
Pretrained backbones feed `vidssl finetune ... finetune.init=RUN_DIR`, `vidssl evaluate retrieval RUN_DIR` and
`vidssl track`.
"""

from __future__ import annotations

import argparse

from vidssl.train.cli_support import add_recipe_arguments, config_from_args, run_or_explain
from vidssl.train.config import PretrainConfig

HELP = "pretrain a backbone with a pretext task from a YAML recipe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Recipe, overrides and --print-config."""
    add_recipe_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Train (or resume) and return the exit status."""
    from vidssl.train.commands import prepare_config, pretrain

    def run() -> int:
        cfg = config_from_args(PretrainConfig, args, prepare_config)
        if cfg is None:
            return 0
        return 0 if pretrain(cfg).complete or cfg.run.stop_after_epochs else 1

    return run_or_explain(run, "pretrain")
