"""Evaluation runs wired to recipes: classification on a split, retrieval between two splits, held-out pretext metrics.

Used by training (per-epoch validation, final test) and by ``vidssl evaluate``. Every process evaluates its share of
the videos; the results are gathered, and rank 0 writes the files.

Pretext tasks are validated on their own objective (:func:`pretext_evaluator`): the task's ``plan`` /
``make_example`` / ``forward`` on the held-out split (``data.val_split``), ``eval.clips_per_video`` draws per video
with fixed seeds (the same examples every epoch), eval mode, no gradients; the diagnostics (``balanced_accuracy``,
``color_acc``, ``majority_acc``, ``triplet_acc``...) are averaged by example counts over all processes and logged as
``val/<diagnostic>`` (``log.jsonl``, TensorBoard) and ``metrics.json["val"]``. ``benchmarks/pretext.py`` reads them.
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
from vidssl.train.data import class_names, eval_dataset, split_videos
from vidssl.train.distributed import DistInfo
from vidssl.train.loaders import make_loader
from vidssl.train.loop import evaluate_task
from vidssl.train.precision import resolve_precision
from vidssl.train.run_dir import RunDir

__all__ = [
    "classification_evaluator",
    "evaluate_classification",
    "evaluate_pretext",
    "evaluate_retrieval",
    "has_split",
    "pretext_eval_dataset",
    "pretext_evaluator",
    "split_size",
]

# Held-out examples are drawn with this epoch number (training epochs count from 1), a fixed set of draws.
PRETEXT_EVAL_EPOCH = 0


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


def split_size(cfg: PretrainConfig, split: str) -> int:
    """Number of usable (status ok) videos in ``split`` of the manifest (0 without a manifest)."""
    from vidssl.data.manifest import read_manifest

    if not split or not cfg.data.manifest or not Path(cfg.data.manifest).is_file():
        return 0
    df = read_manifest(cfg.data.manifest)
    return int(((df["split"] == split) & (df["status"] == "ok")).sum())


def has_split(cfg: PretrainConfig, split: str) -> bool:
    """Whether the manifest has usable (status ok) videos in ``split`` (False without a manifest)."""
    return split_size(cfg, split) > 0


def pretext_eval_dataset(cfg: PretrainConfig, task: nn.Module, split: str) -> Any:
    """Held-out examples of ``task`` on ``split``: the task's own planner and example builder, fixed draws.

    ``eval.clips_per_video`` examples per video, rounded up to whole global batches so that every batch is full
    (in-batch negatives and foreign-reference controls see as many videos as in training) and every process gets
    the same number of batches. Sample ``i`` reads video ``perm[i % N]`` (one fixed permutation: consecutive
    examples come from different videos) with random draws from ``sample_rng(run.seed, 0, i)``, so the set is the
    same at every epoch and for any number of processes or workers.
    """
    from vidssl.data.datasets.clip_dataset import VideoClipDataset

    d = cfg.data
    videos = split_videos(d, split)
    batch = d.batch_size
    wanted = len(videos) * max(cfg.eval.clips_per_video, 1)
    size = -(-wanted // batch) * batch
    dataset = VideoClipDataset(videos, task.plan, task.make_example, clips_per_epoch=size, seed=cfg.run.seed,
                               uses_other_video=task.uses_other_video, on_error=d.on_error, backend=d.decode_backend)
    dataset.set_epoch(PRETEXT_EVAL_EPOCH)
    return dataset


def pretext_evaluator(
    cfg: PretrainConfig, task: nn.Module, split: str, dist_info: DistInfo
) -> Callable[[nn.Module, int], Mapping[str, float]]:
    """Per-epoch held-out validation of a pretext task for :func:`vidssl.train.engine.fit`.

    Returns:
        ``(task, epoch) -> {"loss", <every diagnostic>, "examples"}`` (``fit`` logs them as ``val/<key>``).
    """
    dataset = pretext_eval_dataset(cfg, task, split)
    loader = make_loader(dataset, global_batch=cfg.data.batch_size, dist_info=dist_info, train=False,
                         seed=cfg.run.seed, num_workers=cfg.data.num_workers).loader
    precision = resolve_precision(cfg.run.precision, dist_info.device)

    def run(model: nn.Module, epoch: int) -> Mapping[str, float]:
        return evaluate_task(model, loader, dist_info=dist_info, precision=precision, seed=cfg.run.seed)

    return run


def evaluate_pretext(cfg: PretrainConfig, task: nn.Module, split: str, dist_info: DistInfo) -> dict[str, float]:
    """One held-out pass of ``task`` on ``split`` (e.g. a trained run's backbone and head on the test split)."""
    task = task.to(dist_info.device)
    return dict(pretext_evaluator(cfg, task, split, dist_info)(task, 0))
