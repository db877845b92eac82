"""Evaluate a run: action classification on a split, or video retrieval top-k (VCOP protocol).

Examples:
  vidssl evaluate classification runs/supervised_tiny                  # test split of the run's own manifest
  vidssl evaluate classification runs/supervised_tiny --split val eval.clips_per_video=5
  vidssl evaluate retrieval runs/shuffle_and_learn_tiny                 # test videos query train videos
  vidssl evaluate retrieval -c configs/finetune/supervised_tiny.yaml --random-init data.manifest=corpus/manifest.csv

RUN_DIR's config.yaml supplies the recipe (KEY=VALUE overrides apply on top, e.g. data.manifest=OTHER.csv to score
another corpus). Results go to RUN_DIR/eval_<split>/ (metrics.json, confusion_matrix.png, predictions.csv) or
RUN_DIR/retrieval_<query>_<gallery>.json; --out changes the folder. Retrieval needs only the backbone, so any
pretrain run works; --random-init gives the untrained baseline for the same recipe.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vidssl.train.cli_support import allow_intermixed, run_or_explain
from vidssl.train.config import FinetuneConfig, PretrainConfig, load_config
from vidssl.train.config_schema import ConfigError, dump_yaml

HELP = "evaluate a run: classification or retrieval top-k"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``classification|retrieval``, RUN_DIR, overrides, and where results go."""
    allow_intermixed(parser)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("kind", choices=("classification", "retrieval"), help="what to measure")
    parser.add_argument("items", nargs="*", metavar="RUN_DIR | KEY=VALUE",
                        help="the run folder to evaluate, then dotted overrides (eval.clips_per_video=5 ...)")
    parser.add_argument("-c", "--config", metavar="RECIPE.yaml",
                        help="recipe to use instead of RUN_DIR/config.yaml (with --random-init: no run needed)")
    parser.add_argument("--split", default=None,
                        help="classification: split to score (default data.test_split); retrieval uses "
                             "eval.retrieval_query / eval.retrieval_gallery")
    parser.add_argument("--random-init", action="store_true",
                        help="evaluate the recipe's backbone untrained (the baseline pretrained features must beat)")
    parser.add_argument("--out", default=None, help="folder for the results (default: inside RUN_DIR)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved recipe and exit")


def _split_items(items: list[str]) -> tuple[str | None, list[str]]:
    runs = [i for i in items if "=" not in i]
    if len(runs) > 1:
        raise ConfigError(f"give one RUN_DIR, got {runs}; overrides must look like key=value")
    return (runs[0] if runs else None), [i for i in items if "=" in i]


def _load(args: argparse.Namespace) -> tuple[Any, Path | None]:
    run_dir, overrides = _split_items(args.items)
    if run_dir is None and not (args.config and args.random_init):
        raise ConfigError("pass a RUN_DIR (a pretrain or finetune run folder), or --config RECIPE --random-init")
    recipe = args.config or (Path(run_dir) / "config.yaml")
    if not Path(recipe).is_file():
        raise FileNotFoundError(f"{recipe} not found; is {run_dir} a vidssl run folder?")
    import yaml

    cls = FinetuneConfig if "finetune" in (yaml.safe_load(Path(recipe).read_text()) or {}) else PretrainConfig
    cfg = load_config(cls, recipe, overrides)
    return cfg, Path(run_dir) if run_dir else None


def main(args: argparse.Namespace) -> int:
    """Run the evaluation and print its headline numbers."""
    return run_or_explain(lambda: _main(args), "evaluate")


def _main(args: argparse.Namespace) -> int:
    from vidssl.train.commands import is_supervised, prepare_config
    from vidssl.train.distributed import cleanup_distributed
    from vidssl.train.engine import setup_process
    from vidssl.train.run_dir import RunDir

    cfg, run_dir = _load(args)
    if args.kind == "classification":
        cfg = prepare_config(cfg)
    if args.print_config:
        print(dump_yaml(cfg), end="")
        return 0
    if args.kind == "classification" and args.random_init:
        raise ConfigError("--random-init applies to retrieval (an untrained classifier scores chance)")
    if args.kind == "classification" and not is_supervised(cfg):
        raise ConfigError(f"{run_dir} was trained with the pretext task {cfg.task.name!r}, which has no classifier: "
                          f"fine-tune it first (vidssl finetune -c RECIPE finetune.init={run_dir}) or run "
                          f"`vidssl evaluate retrieval {run_dir}`")
    dist_info = setup_process(cfg)
    try:
        base = Path(args.out) if args.out else (run_dir or Path(cfg.run.out_dir))
        if args.kind == "classification":
            result = _classification(cfg, run_dir, args.split or cfg.data.test_split, dist_info, base, args.out)
        else:
            result = _retrieval(cfg, run_dir, args.random_init, dist_info)
            name = f"retrieval_{cfg.eval.retrieval_query}_{cfg.eval.retrieval_gallery}"
            name += "_random_init.json" if args.random_init else ".json"
            RunDir(base, is_main=dist_info.is_main).write_json(name, result)
            result["written"] = str(base / name)
        if dist_info.is_main:
            _print_headline(args.kind, result)
    finally:
        cleanup_distributed()
    return 0


def _classification(cfg: Any, run_dir: Path | None, split: str, dist_info: Any, base: Path,
                    out: str | None) -> dict[str, Any]:
    from vidssl.tasks.registry import build_task
    from vidssl.train.checkpoint import load_checkpoint
    from vidssl.train.evaluation import evaluate_classification
    from vidssl.train.run_dir import RunDir

    task = build_task(cfg)
    state = load_checkpoint(run_dir)
    task.load_state_dict(state["model"])
    task.to(dist_info.device)
    folder = Path(out) if out else base / f"eval_{split}"
    result = evaluate_classification(cfg, task, split, dist_info, folder)
    result["checkpoint_epoch"] = state["epoch"]
    RunDir(folder, is_main=dist_info.is_main).write_json("metrics.json", result)
    result["written"] = str(folder)
    return result


def _retrieval(cfg: Any, run_dir: Path | None, random_init: bool, dist_info: Any) -> dict[str, Any]:
    from vidssl.models import create_backbone
    from vidssl.train.checkpoint import load_backbone
    from vidssl.train.evaluation import evaluate_retrieval

    if random_init:
        backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)  # seeded by setup_process
    else:
        backbone = load_backbone(run_dir)
    result = evaluate_retrieval(cfg, backbone, dist_info)
    result["backbone"] = "random init" if random_init else str(run_dir)
    return result


def _print_headline(kind: str, result: dict[str, Any]) -> None:
    if kind == "classification":
        k = result["k"]
        print(f"{result['split']}: video accuracy {result['video_accuracy']:.4f} (top{k} {result['video_topk']:.4f}), "
              f"clip accuracy {result['clip_accuracy']:.4f}, mean class accuracy {result['mean_class_accuracy']:.4f}"
              f" over {result['num_videos']} videos x {result['clips_per_video']} clips -> {result['written']}")
    else:
        tops = " ".join(f"{k}={v:.4f}" for k, v in result.items() if k.startswith("top"))
        print(f"retrieval {result['query_split']} -> {result['gallery_split']} ({result['queries']} queries, "
              f"{result['gallery']} gallery videos, {result['feature']} features): {tops} -> {result['written']}")
    print(json.dumps({k: v for k, v in result.items() if isinstance(v, int | float)}, sort_keys=True))
