"""Ground-truth boxes from the synthetic corpus, attached to ``VideoMeta.extra`` for planners.

``vidssl-data synth`` writes ``gt/<id>.json`` per video (manifest column ``gt``) with ``objects[k].boxes``: one
``[x0, y0, x1, y1]`` (pixels, x1/y1 exclusive) or ``null`` (hidden) per frame. The tracking planner reads
``meta.extra["boxes"]`` (object id → ``float32 [num_frames, 4]``, NaN rows where hidden); a dataset attaches them
once per video per worker with ``prepare=attach_boxes`` so planners stay free of I/O.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from vidssl.types import VideoMeta

__all__ = ["attach_boxes", "load_boxes"]


def load_boxes(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Per-object boxes of one ground-truth JSON: ``{object id: float32 [num_frames, 4]}`` (NaN when hidden)."""
    with open(path) as f:
        record = json.load(f)
    out = {}
    for obj in record.get("objects", []):
        rows = [r if r is not None else [np.nan] * 4 for r in obj.get("boxes", [])]
        out[str(obj.get("id", len(out)))] = np.asarray(rows, dtype=np.float32).reshape(-1, 4)
    return out


def attach_boxes(meta: VideoMeta) -> VideoMeta:
    """Return ``meta`` with ``extra["boxes"]`` loaded from ``extra["gt"]`` (unchanged when there is no gt file)."""
    gt = str(meta.extra.get("gt", "") or "")
    if not gt or not os.path.isfile(gt):
        return meta
    return dataclasses.replace(meta, extra={**meta.extra, "boxes": load_boxes(gt)})
