"""From the recipe's ``data`` section to datasets: manifest splits, label budget, shards, evaluation sets.

Training reads ``data.train_split`` of the manifest through :class:`~vidssl.data.datasets.clip_dataset.
VideoClipDataset` (or streams ``data.shards`` through :class:`~vidssl.data.datasets.wds.WebDatasetClips`) with the
task's ``plan`` / ``make_example``; evaluation sets hold one example per video (``EvalClips``: K clips, centre crop).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from torch.utils.data import Dataset, IterableDataset

from vidssl.data.manifest import read_manifest
from vidssl.train.config import DataConfig, PretrainConfig
from vidssl.train.config_schema import ConfigError
from vidssl.train.label_budget import labels_per_class
from vidssl.types import VideoMeta

__all__ = ["check_data", "class_names", "eval_dataset", "resolve_num_classes", "split_videos", "train_dataset"]


def _manifest(cfg: DataConfig) -> Path:
    if not cfg.manifest:
        raise ConfigError(
            "data.manifest is required: make one with `vidssl-data synth OUT --videos 200` (built-in synthetic corpus) "
            "or `vidssl-data scan ROOT`, then pass data.manifest=OUT/manifest.csv"
        )
    path = Path(cfg.manifest)
    if not path.is_file():
        raise ConfigError(f"data.manifest={cfg.manifest}: no such file (create it with `vidssl-data synth OUT`)")
    return path


def check_data(cfg: DataConfig) -> None:
    """Fail early, with the fix, when neither a readable manifest nor shards are configured."""
    if not cfg.shards:
        _manifest(cfg)


def class_names(cfg: DataConfig) -> list[str]:
    """Class names in label order: ``classes.txt`` beside the manifest, else the manifest's label column."""
    if not cfg.manifest:
        return [str(i) for i in range(cfg.num_classes)]
    path = _manifest(cfg)
    listed = path.parent / "classes.txt"
    if listed.is_file():
        return [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    df = read_manifest(path)
    pairs = df[df["label_index"] >= 0][["label_index", "label"]].drop_duplicates().sort_values("label_index")
    names = {int(i): str(n) or str(i) for i, n in zip(pairs["label_index"], pairs["label"])}
    n = max(names, default=-1) + 1
    return [names.get(i, str(i)) for i in range(n)]


def resolve_num_classes(cfg: PretrainConfig) -> int:
    """Fill ``data.num_classes`` from the manifest when it is 0 (max ``label_index`` + 1); returns it."""
    if cfg.data.num_classes <= 0:
        df = read_manifest(_manifest(cfg.data))
        cfg.data.num_classes = int(df["label_index"].max()) + 1 if len(df) else 0
    return cfg.data.num_classes


def split_videos(cfg: DataConfig, split: str, *, seed: int = 0, budget: bool = False) -> list[VideoMeta]:
    """Videos of ``split`` (status ok), optionally cut to ``data.labels_per_class`` per class.

    Raises:
        ConfigError: the split is empty (the message lists the manifest's splits).
    """
    from vidssl.data.datasets.sources import load_videos

    path = _manifest(cfg)
    df = read_manifest(path)
    if not (df["split"] == split).any():
        have = sorted(set(df["split"].astype(str)) - {""})
        raise ConfigError(f"{path}: no videos in split {split!r} (splits here: {', '.join(have) or 'none'}); "
                          "set data.train_split / val_split / test_split, or add splits with `vidssl-data split`")
    videos = load_videos(df, split=split)
    if budget and cfg.labels_per_class:
        videos = labels_per_class(videos, cfg.labels_per_class, seed=seed)
    return videos


def train_dataset(cfg: PretrainConfig, task: Any) -> Dataset | IterableDataset:
    """The training set for ``task``: manifest split (map-style) or shards (streaming)."""
    d = cfg.data
    common: dict[str, Any] = {"seed": cfg.run.seed, "uses_other_video": task.uses_other_video,
                              "on_error": d.on_error, "backend": d.decode_backend}
    if d.shards:
        from vidssl.data.datasets.wds import WebDatasetClips

        if d.labels_per_class:
            raise ConfigError("data.labels_per_class needs a manifest (shards stream every video); unset data.shards")
        return WebDatasetClips(d.shards, task.plan, task.make_example, clips_per_video=d.clips_per_video, **common)
    from vidssl.data.datasets.clip_dataset import VideoClipDataset

    videos = split_videos(d, d.train_split, seed=cfg.run.seed, budget=True)
    return VideoClipDataset(videos, task.plan, task.make_example, clips_per_epoch=len(videos) * d.clips_per_video,
                            **common)


def eval_dataset(cfg: PretrainConfig, view: Any, split: str) -> Dataset:
    """One example per video of ``split`` (``view``: ``EvalClips``; K clips each), in a fixed order."""
    from vidssl.data.datasets.clip_dataset import VideoClipDataset

    videos = split_videos(cfg.data, split)
    return VideoClipDataset(videos, view.plan, view.make_example, clips_per_epoch=len(videos), seed=cfg.run.seed,
                            on_error=cfg.data.on_error, backend=cfg.data.decode_backend)


def manifest_summary(cfg: DataConfig) -> str:
    """``"train 29 / val 5 / test 6 videos, 10 classes"`` for logs."""
    df: pd.DataFrame = read_manifest(_manifest(cfg))
    counts = df[df["status"] == "ok"]["split"].value_counts()
    parts = [f"{s} {int(counts.get(s, 0))}" for s in (cfg.train_split, cfg.val_split, cfg.test_split) if s]
    return " / ".join(parts) + f" videos, {int(df['label_index'].max()) + 1} classes"
