"""Manifests: one row per video, written by ``vidssl-data`` and read by vidssl datasets.

The single source of truth for manifest columns (``data_tools`` and ``vidssl`` both import this module). A manifest is
a CSV or Parquet file; ``path`` values are relative to the manifest's own folder unless absolute. Unknown extra
columns are kept and passed to ``VideoMeta.extra``.

Columns (all optional except ``path``; missing ones take the defaults below):

=================  ========  =====================================================================================
column             type      meaning
=================  ========  =====================================================================================
path               str       video file, relative to the manifest folder (or absolute)
video_id           str       stable id (defaults to ``path``)
label              str       class name ("" when unlabeled)
label_index        int       class index (-1 when unlabeled)
split              str       train / val / test / ""
group              str       videos of one group never straddle splits (UCF101 ``gXX``)
status             str       ``ok`` or an error class (``corrupt``, ``no_video_stream``, ``timeout``...)
reason             str       human-readable reason for a non-ok status
num_frames         int       frames a full decode yields
fps                float     average frame rate
duration           float     seconds
width, height      int       displayed size (rotation applied)
rotation           int       clockwise degrees applied for display
codec, pix_fmt     str       video codec and pixel format
start_time         float     pts of frame 0 (seconds)
is_vfr             bool      variable frame rate
keyframe_interval  float     mean frames between keyframes
num_keyframes      int       keyframes in the stream
keyframes          str       space-separated keyframe indices (may be empty)
has_audio          bool      an audio stream exists
audio_codec        str
audio_rate         int       Hz
audio_channels     int
audio_seconds      float
audio_start        float     first audio sample time (seconds, file clock)
size_bytes         int
motion             str       space-separated motion magnitude per window (``vidssl-data motion``)
motion_window      int       frames per motion window
=================  ========  =====================================================================================
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vidssl.types import VideoMeta

__all__ = [
    "COLUMNS",
    "iter_metas",
    "read_manifest",
    "row_to_meta",
    "write_manifest",
]

# column -> (dtype name, default). Order is the order written.
COLUMNS: dict[str, tuple[str, Any]] = {
    "path": ("str", ""),
    "video_id": ("str", ""),
    "label": ("str", ""),
    "label_index": ("int", -1),
    "split": ("str", ""),
    "group": ("str", ""),
    "status": ("str", "ok"),
    "reason": ("str", ""),
    "num_frames": ("int", 0),
    "fps": ("float", 0.0),
    "duration": ("float", 0.0),
    "width": ("int", 0),
    "height": ("int", 0),
    "rotation": ("int", 0),
    "codec": ("str", ""),
    "pix_fmt": ("str", ""),
    "start_time": ("float", 0.0),
    "is_vfr": ("bool", False),
    "keyframe_interval": ("float", 0.0),
    "num_keyframes": ("int", 0),
    "keyframes": ("str", ""),
    "has_audio": ("bool", False),
    "audio_codec": ("str", ""),
    "audio_rate": ("int", 0),
    "audio_channels": ("int", 0),
    "audio_seconds": ("float", 0.0),
    "audio_start": ("float", 0.0),
    "size_bytes": ("int", 0),
    "motion": ("str", ""),
    "motion_window": ("int", 0),
}


def _coerce(df: pd.DataFrame) -> pd.DataFrame:
    """Fill missing known columns with defaults and cast them to their declared types."""
    df = df.copy()
    for col, (kind, default) in COLUMNS.items():
        if col not in df.columns:
            df[col] = default
        if kind == "str":
            df[col] = df[col].fillna("").astype(str)
        elif kind == "int":
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(default).astype("int64")
        elif kind == "float":
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(default).astype("float64")
        elif kind == "bool":
            df[col] = df[col].map(_to_bool).astype(bool)
    empty_id = df["video_id"] == ""
    df.loc[empty_id, "video_id"] = df.loc[empty_id, "path"]
    known = [c for c in COLUMNS if c in df.columns]
    return df[known + [c for c in df.columns if c not in COLUMNS]]


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return bool(value)


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet manifest, filling defaults for missing columns.

    Args:
        path: ``*.csv`` or ``*.parquet``.

    Returns:
        A DataFrame with every column of :data:`COLUMNS` (plus any extras), one row per video. The manifest's folder
        is stored in ``df.attrs["root"]`` so relative paths can be resolved.

    Raises:
        FileNotFoundError: no such manifest.
        ValueError: the file has no ``path`` column or an unknown extension.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"manifest not found: {path} (create one with `vidssl-data scan ROOT --out {path}`)")
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix in (".csv", ".tsv"):
        df = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    else:
        raise ValueError(f"{path}: manifest must be .csv or .parquet")
    if "path" not in df.columns:
        raise ValueError(f"{path}: manifest has no 'path' column (columns: {list(df.columns)})")
    df = _coerce(df)
    df.attrs["root"] = str(path.resolve().parent)
    return df


def write_manifest(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a manifest atomically (temp file in the same folder, then rename).

    Args:
        df: rows to write; missing known columns are filled with defaults.
        path: ``*.csv`` or ``*.parquet``.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = _coerce(df)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if path.suffix == ".parquet":
            out.to_parquet(tmp, index=False)
        else:
            out.to_csv(tmp, index=False)
        # mkstemp creates 0600; a manifest is a shared artefact, so give it the permissions open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _floats(text: str) -> np.ndarray:
    text = str(text).strip()
    return np.array([float(x) for x in text.split()], dtype=np.float32) if text else np.zeros(0, np.float32)


def row_to_meta(row: pd.Series | dict[str, Any], root: str | os.PathLike[str] = ".") -> VideoMeta:
    """Turn one manifest row into the ``VideoMeta`` planners consume.

    The per-window ``motion`` column is expanded to one value per frame.

    Args:
        row: a manifest row (Series or dict).
        root: folder that relative ``path`` values are relative to (``df.attrs["root"]``).
    """
    r = dict(row)
    rel = str(r["path"])
    abspath = rel if os.path.isabs(rel) else os.path.join(str(root), rel)
    n = int(r.get("num_frames", 0) or 0)
    motion = None
    window = int(r.get("motion_window", 0) or 0)
    per_window = _floats(r.get("motion", ""))
    if per_window.size and window > 0 and n > 0:
        motion = np.repeat(per_window, window)[:n]
        if motion.size < n:  # last partial window
            motion = np.pad(motion, (0, n - motion.size), mode="edge")
    keyframes = tuple(int(x) for x in str(r.get("keyframes", "")).split())
    extra = {k: v for k, v in r.items() if k not in COLUMNS}
    extra.update({"split": r.get("split", ""), "group": r.get("group", ""), "label_name": r.get("label", "")})
    has_audio = _to_bool(r.get("has_audio", False))
    return VideoMeta(
        video_id=str(r.get("video_id") or rel),
        path=abspath,
        num_frames=n,
        fps=float(r.get("fps") or 1.0),
        width=int(r.get("width", 0) or 0),
        height=int(r.get("height", 0) or 0),
        label=int(r.get("label_index", -1)),
        has_audio=has_audio,
        start_time=float(r.get("start_time", 0.0) or 0.0),
        audio_start=float(r.get("audio_start", 0.0) or 0.0) if has_audio else None,
        audio_duration=float(r.get("audio_seconds", 0.0) or 0.0) if has_audio else None,
        motion=motion,
        keyframes=keyframes,
        extra=extra,
    )


def iter_metas(df: pd.DataFrame, *, only_ok: bool = True) -> Iterator[VideoMeta]:
    """Yield ``VideoMeta`` for the rows of a manifest (skipping rows whose status is not ``ok``)."""
    root = df.attrs.get("root", ".")
    for _, row in df.iterrows():
        if only_ok and row.get("status", "ok") != "ok":
            continue
        yield row_to_meta(row, root)
