"""A cheap per-frame motion estimate, computed by decoding once per video (dataset side; planners never decode).

Planners use ``VideoMeta.motion`` when ``vidssl-data motion`` stored it in the manifest (the recommended route: it is
computed once, offline). Without it they sample uniformly, unless the dataset is given
``prepare=MotionEstimate(...)``: the first time a worker meets a video it decodes every ``step``-th frame, measures
the mean absolute difference of consecutive decoded frames on a small gray thumbnail, spreads that to every frame
and caches the result in the meta. The estimate is a pure function of the file, so it does not change which worker
computes it or how many there are. It costs one sparse decode per video per worker; for large corpora, use the
offline index.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vidssl.data.datasets.decoding import open_reader, reconcile_meta
from vidssl.types import VideoMeta

__all__ = ["MotionEstimate", "frame_difference_motion"]


def frame_difference_motion(frames: torch.Tensor, size: int = 32) -> np.ndarray:
    """Mean absolute difference between consecutive frames ``uint8 [N, 3, H, W]`` → float32 ``[N]`` (first = second).

    Frames are turned gray and shrunk to ``size`` on the short side first, so noise and compression artefacts
    weigh little and the cost is tiny.
    """
    x = frames.float().mean(dim=1, keepdim=True)
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    if scale < 1:
        x = F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="area")
    diff = (x[1:] - x[:-1]).abs().mean(dim=(1, 2, 3)).numpy()
    return np.concatenate([diff[:1], diff]).astype(np.float32) if diff.size else np.zeros(len(x), np.float32)


@dataclass(frozen=True)
class MotionEstimate:
    """``prepare`` hook: attach a frame-difference motion estimate to metas that have none.

    Attributes:
        step: decode every ``step``-th frame (the estimate is interpolated in between).
        size: thumbnail short side.
        backend: decode backend.
    """

    step: int = 4
    size: int = 32
    backend: str = "auto"

    def __call__(self, meta: VideoMeta) -> VideoMeta:
        """Return ``meta`` with ``motion`` float32 ``[num_frames]`` (unchanged if it already has one)."""
        if meta.motion is not None:
            return meta
        with open_reader(meta.path, self.backend, "cpu", meta.path) as reader:
            meta = reconcile_meta(meta, reader.info)
            if meta.num_frames < 2:
                return meta
            idx = np.unique(np.append(np.arange(0, meta.num_frames, self.step), meta.num_frames - 1))
            sparse = frame_difference_motion(reader.get_frames(idx).data, self.size)
        motion = np.interp(np.arange(meta.num_frames), idx, sparse).astype(np.float32)
        return dataclasses.replace(meta, motion=motion)
