"""Where the list of videos comes from: manifests (CSV/Parquet) and class-folder layouts.

Every source produces a manifest-shaped ``pandas.DataFrame`` (columns of :mod:`vidssl.data.manifest`, the folder that
relative paths are relative to in ``df.attrs["root"]``), and :func:`load_videos` turns any of them into the
``VideoMeta`` list datasets take. Frame counts may be missing (folders and split files do not have them): datasets
measure them when they open a video (:func:`vidssl.data.datasets.decoding.reconcile_meta`), or
:func:`vidssl.data.probe_video` / ``vidssl-data scan`` can fill them in up front.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from vidssl.data.manifest import COLUMNS, read_manifest, row_to_meta
from vidssl.types import VideoMeta

__all__ = [
    "VIDEO_EXTENSIONS",
    "class_folder_manifest",
    "load_videos",
    "manifest_frame",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ogv")
PATH_EXTRAS = ("gt", "annotations", "davis_frames")  # extra columns holding paths relative to the manifest


def manifest_frame(rows: Sequence[dict], root: str | os.PathLike[str]) -> pd.DataFrame:
    """Build a manifest DataFrame from row dicts (missing columns take their defaults)."""
    df = pd.DataFrame(list(rows))
    for col, (_, default) in COLUMNS.items():
        if col not in df.columns:
            df[col] = default
    empty = df["video_id"] == ""
    df.loc[empty, "video_id"] = df.loc[empty, "path"]
    df.attrs["root"] = str(Path(root).resolve())
    return df


def class_folder_manifest(
    root: str | os.PathLike[str], extensions: Iterable[str] = VIDEO_EXTENSIONS, classes: Sequence[str] | None = None
) -> pd.DataFrame:
    """Index a ``root/<class>/<video>`` layout (torchvision ``ImageFolder`` style, nested folders allowed).

    Args:
        root: the folder holding one sub-folder per class.
        extensions: video file extensions to keep (case-insensitive).
        classes: class names in label order; default the sorted sub-folder names.

    Returns:
        Manifest DataFrame with ``path`` (relative to ``root``), ``label`` and ``label_index``.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: no videos found, or a sub-folder is not in ``classes``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"class-folder root not found: {root}")
    exts = {e.lower() for e in extensions}
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    classes = list(classes) if classes is not None else names
    index = {c: i for i, c in enumerate(classes)}
    rows = []
    for name in names:
        if name not in index:
            raise ValueError(f"{root / name}: folder is not one of the {len(classes)} given classes")
        for path in sorted((root / name).rglob("*")):
            if path.suffix.lower() in exts and path.is_file():
                rel = path.relative_to(root).as_posix()
                rows.append({"path": rel, "video_id": rel, "label": name, "label_index": index[name]})
    if not rows:
        raise ValueError(f"no videos with extensions {sorted(exts)} under {root}/<class>/")
    return manifest_frame(rows, root)


def _inside(path: str, root: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def load_videos(
    manifest: str | os.PathLike[str] | pd.DataFrame,
    *,
    split: str | Sequence[str] | None = None,
    only_ok: bool = True,
    allow_outside_root: bool = False,
) -> list[VideoMeta]:
    """``VideoMeta`` for every usable row of a manifest.

    Args:
        manifest: a CSV/Parquet path or a manifest DataFrame (``attrs["root"]`` resolves relative paths).
        split: keep only rows of this split (or these splits).
        only_ok: drop rows whose ``status`` is not ``ok`` (recorded failures of ``vidssl-data verify``).
        allow_outside_root: allow paths (``..`` or absolute) that resolve outside the manifest's folder; off by
            default so a manifest cannot point training at arbitrary files.

    Returns:
        The videos, in manifest order. Extra path columns (``gt``, ``annotations``, ``davis_frames``) are resolved to
        absolute paths in ``meta.extra``.

    Raises:
        ValueError: a path leaves the root without ``allow_outside_root``, or nothing is left after filtering.
    """
    df = read_manifest(manifest) if not isinstance(manifest, pd.DataFrame) else manifest
    root = df.attrs.get("root", ".")
    if split is not None:
        wanted = {split} if isinstance(split, str) else set(split)
        df = df[df["split"].isin(wanted)]
    if only_ok:
        df = df[df["status"] == "ok"]
    metas = []
    for _, row in df.iterrows():
        meta = row_to_meta(row, root)
        if not allow_outside_root and not _inside(meta.path, root):
            raise ValueError(f"{meta.video_id}: path {meta.path} is outside the dataset root {root} "
                             "(pass allow_outside_root=True to allow it)")
        extra = dict(meta.extra)
        for key in PATH_EXTRAS:
            value = str(extra.get(key, "") or "")
            if value and value.lower() != "nan":
                extra[key] = value if os.path.isabs(value) else os.path.join(root, value)
        metas.append(dataclasses.replace(meta, extra=extra))
    if not metas:
        raise ValueError(f"no usable videos in the manifest (split={split!r}, only_ok={only_ok})")
    return metas
