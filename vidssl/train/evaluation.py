"""Evaluation runs wired to recipes: classification on a split, retrieval between two splits.

Used by training (per-epoch validation, final test) and by ``vidssl evaluate``. Every process evaluates its share of
the videos; the results are gathered, and rank 0 writes the files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch import nn

from vidssl.eval.classification import (
    aggregate_clips,
    classification_report,
    plot_confusion_matrix,
    predict_videos,
    write_predictions,
)
from vidssl.eval.retrieval import extract_video_features, retrieval_topk
from vidssl.tasks.supervised import EvalClips
from vidssl.train.config import PretrainConfig
from vidssl.train.data import class_names, eval_dataset
from vidssl.train.distributed import DistInfo
from vidssl.train.loaders import make_loader
from vidssl.train.precision import resolve_precision
from vidssl.train.run_dir import RunDir

__all__ = ["classification_evaluator", "evaluate_classification", "evaluate_retrieval"]


def _loader(cfg: PretrainConfig, dataset: Any, dist_info: DistInfo) -> Any:
    batch = cfg.eval.batch_size or cfg.data.batch_size
    return make_loader(dataset, global_batch=batch, dist_info=dist_info, train=False, seed=cfg.run.seed,
                       num_workers=cfg.data.num_workers).loader


def classification_evaluator(
    cfg: PretrainConfig, task: nn.Module, split: str, dist_info: DistInfo
) -> Callable[[nn.Module, int], Mapping[str, float]]:
    """Per-epoch validation for :func:`vidssl.train.engine.fit`: video/clip accuracy on ``split``."""
    loader = _loader(cfg, eval_dataset(cfg, task.eval_view(), split), dist_info)
    precision = resolve_precision(cfg.run.precision, dist_info.device)

    def run(model: nn.Module, epoch: int) -> Mapping[str, float]:
        logits, labels, _ = predict_videos(model, loader, dist_info=dist_info, precision=precision)
        return classification_report(logits, labels, num_classes=cfg.data.num_classes, k=cfg.eval.topk,
                                     aggregate=cfg.eval.aggregate).summary()

    return run


def evaluate_classification(
    cfg: PretrainConfig, task: nn.Module, split: str, dist_info: DistInfo, out_dir: str | Path
) -> dict[str, Any]:
    """Full test evaluation: metrics, ``confusion_matrix.png`` and ``predictions.csv`` in ``out_dir``.

    Returns:
        The report as a dict (scalars, per-class accuracy, confusion matrix, class names, counts).
    """
    loader = _loader(cfg, eval_dataset(cfg, task.eval_view(), split), dist_info)
    precision = resolve_precision(cfg.run.precision, dist_info.device)
    logits, labels, ids = predict_videos(task, loader, dist_info=dist_info, precision=precision)
    report = classification_report(logits, labels, num_classes=cfg.data.num_classes, k=cfg.eval.topk,
                                   aggregate=cfg.eval.aggregate)
    names = class_names(cfg.data)
    out = RunDir(out_dir, is_main=dist_info.is_main)
    if dist_info.is_main:
        out.path.mkdir(parents=True, exist_ok=True)
        plot_confusion_matrix(report.confusion, names, out.path / "confusion_matrix.png",
                              title=f"{split}: video accuracy {report.video_accuracy:.3f} ({report.num_videos} videos)")
        write_predictions(out.path / "predictions.csv", ids, labels, aggregate_clips(logits, cfg.eval.aggregate),
                          names)
    return {"split": split, **report.as_dict(), "class_names": names,
            "clips_per_video": cfg.eval.clips_per_video, "aggregate": cfg.eval.aggregate}


def evaluate_retrieval(cfg: PretrainConfig, backbone: nn.Module, dist_info: DistInfo) -> dict[str, Any]:
    """VCOP retrieval top-k: ``eval.retrieval_query`` videos query ``eval.retrieval_gallery`` videos."""
    d, e = cfg.data, cfg.eval
    view = EvalClips(e.clips_per_video, d.num_frames, d.frame_stride, d.resize, d.crop_size)
    backbone = backbone.to(dist_info.device).eval()
    feats = {}
    for role, split in (("query", e.retrieval_query), ("gallery", e.retrieval_gallery)):
        loader = _loader(cfg, eval_dataset(cfg, view, split), dist_info)
        feats[role] = extract_video_features(backbone, loader, num_frames=d.num_frames, mean=d.mean, std=d.std,
                                             mode=e.retrieval_features, dist_info=dist_info)
    (q, ql, _), (g, gl, _) = feats["query"], feats["gallery"]
    topk = retrieval_topk(q, ql, g, gl, ks=e.retrieval_ks)
    return {**topk, "query_split": e.retrieval_query, "gallery_split": e.retrieval_gallery, "queries": len(q),
            "gallery": len(g), "feature": e.retrieval_features, "feature_dim": int(q.shape[1]),
            "clips_per_video": e.clips_per_video}
