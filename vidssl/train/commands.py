"""The bodies of ``vidssl pretrain`` and ``vidssl finetune`` as library functions (the CLI only parses arguments).

From Python::

    from vidssl.train.commands import finetune
    from vidssl.train.config import FinetuneConfig, load_config
    cfg = load_config(FinetuneConfig, "configs/finetune/supervised_tiny.yaml", ["data.manifest=corpus/manifest.csv"])
    result = finetune(cfg)          # trains (or resumes), evaluates on the test split, writes metrics.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from torch import nn

from vidssl.tasks.registry import TASKS, build_task
from vidssl.train.checkpoint import load_checkpoint
from vidssl.train.config import FinetuneConfig, PretrainConfig
from vidssl.train.config_schema import ConfigError
from vidssl.train.data import check_data, manifest_summary, resolve_num_classes, train_dataset
from vidssl.train.distributed import DistInfo, cleanup_distributed
from vidssl.train.engine import FitResult, fit, setup_process
from vidssl.train.evaluation import classification_evaluator, evaluate_classification, pretext_evaluator, split_size
from vidssl.train.run_dir import RunDir

__all__ = ["finetune", "init_backbone", "is_supervised", "prepare_config", "pretrain"]


def is_supervised(cfg: PretrainConfig) -> bool:
    """Whether the recipe's task trains on labels (classification metrics apply)."""
    entry = TASKS.get(cfg.task.name)
    return entry is not None and entry.kind == "supervised"


def prepare_config(cfg: PretrainConfig) -> PretrainConfig:
    """Fill values that depend on the data (``data.num_classes``) so the resolved config is complete."""
    if is_supervised(cfg) and cfg.data.manifest and Path(cfg.data.manifest).is_file():
        resolve_num_classes(cfg)  # a missing manifest is reported when training starts (after --print-config)
    return cfg


def init_backbone(task: nn.Module, cfg: PretrainConfig, log: Any = print) -> str:
    """Load ``finetune.init`` (a pretrain run) or ``model.weights`` into ``task.backbone``; returns what was loaded.

    Raises:
        ConfigError: the pretrain run used another backbone (the message gives the overrides to use).
    """
    init = getattr(getattr(cfg, "finetune", None), "init", "")
    if init:
        state = load_checkpoint(init)
        used = state["config"].get("model", {})
        if used.get("name") != cfg.model.name or dict(used.get("kwargs", {})) != cfg.model.kwargs:
            kwargs = yaml.safe_dump(dict(used.get("kwargs", {})), default_flow_style=True).strip()
            raise ConfigError(
                f"finetune.init={init} was pretrained with model.name={used.get('name')} model.kwargs={kwargs} "
                f"(this recipe: {cfg.model.name} {cfg.model.kwargs}); pass the same: "
                f"model.name={used.get('name')} 'model.kwargs={kwargs}'"
            )
        task.backbone.load_state_dict(state["backbone"])
        return f"backbone from {init} (epoch {state['epoch']})"
    if cfg.model.weights:
        from vidssl.models import load_weights

        report = load_weights(task.backbone, cfg.model.weights)
        return report.summary()
    return "backbone from scratch (random init)"


def _final_test(cfg: PretrainConfig, split: str, dist_info: DistInfo) -> Any:
    def run(task: nn.Module, run_dir: RunDir) -> dict[str, Any]:
        return evaluate_classification(cfg, task, split, dist_info, run_dir.path)

    return run


def _train(cfg: PretrainConfig, policy_factory: Any = None) -> FitResult:
    check_data(cfg.data)
    dist_info = setup_process(cfg)
    try:
        say = print if dist_info.is_main else (lambda *a, **k: None)
        task = build_task(cfg)
        say(f"task {cfg.task.name}: {init_backbone(task, cfg)}")
        if cfg.data.manifest:
            say(f"data {cfg.data.manifest}: {manifest_summary(cfg.data)}")
        policy = policy_factory(task) if policy_factory else None
        supervised = is_supervised(cfg)
        evaluate = final = None
        if supervised and cfg.data.val_split and cfg.data.manifest:
            evaluate = classification_evaluator(cfg, task, cfg.data.val_split, dist_info)
        elif not supervised and cfg.data.val_split:
            held_out = split_size(cfg, cfg.data.val_split)
            # Tasks that draw negatives or references from another video need two held-out videos.
            need = 2 if getattr(task, "uses_other_video", False) else 1
            if held_out >= need:  # held-out pretext metrics: val/<diagnostic>
                evaluate = pretext_evaluator(cfg, task, cfg.data.val_split, dist_info)
            else:
                say(f"no held-out pretext validation: data.val_split={cfg.data.val_split!r} has {held_out} usable "
                    f"video(s) and task {cfg.task.name} needs {need} (it pairs videos); add videos to that split, or "
                    "set data.val_split='' to silence this")
        if supervised and cfg.data.test_split and cfg.data.manifest:
            final = _final_test(cfg, cfg.data.test_split, dist_info)
        return fit(cfg, task, train_dataset(cfg, task), dist_info=dist_info, evaluate=evaluate,
                   final_evaluate=final, policy=policy)
    finally:
        cleanup_distributed()


def pretrain(cfg: PretrainConfig) -> FitResult:
    """Train ``cfg.task`` on the training split and validate it on ``data.val_split``.

    Supervised tasks get classification metrics (and a final test); pretext tasks get their own diagnostics on the
    held-out split every ``run.eval_every`` epochs and at the end (``val/<diagnostic>``, ``metrics.json["val"]``).
    """
    return _train(prepare_config(cfg))


def finetune(cfg: FinetuneConfig) -> FitResult:
    """Fine-tune or linear-probe a classifier from ``finetune.init`` (or from scratch) and test it."""
    from vidssl.eval.finetune import FinetunePolicy

    if not is_supervised(cfg):
        raise ConfigError(f"vidssl finetune trains a supervised task; task.name={cfg.task.name} is a pretext task "
                          "(use `vidssl pretrain` for it, then finetune.init=RUN_DIR)")
    if cfg.finetune.init and not Path(cfg.finetune.init).exists():
        raise ConfigError(f"finetune.init={cfg.finetune.init} does not exist; pass a pretrain run folder")
    f = cfg.finetune

    def policy(task: nn.Module) -> FinetunePolicy:
        return FinetunePolicy(task, mode=f.mode, unfreeze=f.unfreeze, unfreeze_every=f.unfreeze_every,
                              num_groups=f.layer_groups, lr_decay=f.lr_decay)

    return _train(prepare_config(cfg), policy)
