"""Adapters that make the input layout explicit: any backbone on clips, any backbone on single frames.

Data arrives as ``[B, T, C, H, W]`` clips or ``[B, C, H, W]`` frames (``vidssl.types``). Rather than each task
deciding how to feed a 2D network a clip or a 3D network a frame, two wrappers state it once:

* :class:`ClipEncoder` (``BTCHW``): with a 2D backbone, every frame goes through the shared network (T folded into
  B), giving per-frame features; with a 3D backbone the clip is permuted to ``[B, C, T, H, W]`` (the only place that
  permutation happens). Either way the dense map is ``[B, D, T', H', W']``; ``forward`` pools space, optionally
  applies a small temporal convolution, then pools time with ``"mean"``, ``"max"`` or ``"concat"``. Concatenation
  keeps temporal order, which order-sensitive tasks need: mean/max pooling of per-frame features is invariant to
  frame order, so a clip and its time reversal (the synthetic corpus has such class pairs) become identical.
* :class:`FrameEncoder` (``BCHW``): a 2D backbone is used as is; a 3D backbone sees the frame repeated
  ``num_frames`` times ("repeat", default ``temporal_stride`` frames = one output time cell) or a clip of length 1
  ("single"; with zero temporal padding each 3D kernel then only uses its central temporal tap, i.e. the network acts
  as a 2D network whose BN statistics were learned on clips — usable, but a shift from training conditions). The
  output time axis is averaged away.

Both are :class:`~vidssl.models.backbones.base.Backbone` subclasses, so they satisfy the same contract.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from vidssl.models.backbones.base import Backbone, global_pool

__all__ = ["ClipEncoder", "FrameEncoder", "TemporalPool"]

TemporalPool = Literal["mean", "max", "concat"]


class ClipEncoder(Backbone):
    """Clips ``[B, T, C, H, W]`` through a 2D (per frame) or 3D backbone, then temporal pooling.

    Args:
        backbone: a ``BCHW`` or ``BCTHW`` backbone.
        pooling: how the ``T'`` time cells are combined after spatial pooling: ``"mean"``, ``"max"`` or
            ``"concat"`` (order-preserving, ``num_features = T' * D``).
        num_frames: clip length T; required for ``"concat"`` (it fixes ``num_features``), checked when given.
        temporal_kernel: if > 0, a ``Conv1d(D, D, k) + BN + ReLU`` over time (odd ``k``, same padding) before
            temporal pooling, so mean/max pooling can still see motion.
        spatial_grid: ``g > 1`` pools each time cell to a ``g x g`` grid instead of one vector (``D`` becomes
            ``D * g * g``). Global pooling discards *where* things are, so a per-frame 2D trunk followed by a
            linear classifier cannot tell "moves left" from "moves right"; a coarse grid keeps position (the role
            CaffeNet's fc6 over the 6x6 conv5 map plays in Shuffle and Learn, PAPERS.md §1.3).

    Shapes:
        ``forward_features``: ``[B, T, C, H, W] -> [B, D, T', H', W']`` (``T' = ceil(T / temporal_stride)``).
        ``forward``: ``[B, D]`` for mean/max, ``[B, T' * D]`` for concat (time-major: cell 0's D values first);
        ``D`` is ``backbone.num_features * spatial_grid ** 2``.
    """

    input_layout = "BTCHW"

    def __init__(
        self,
        backbone: Backbone,
        *,
        pooling: TemporalPool = "mean",
        num_frames: int | None = None,
        temporal_kernel: int = 0,
        spatial_grid: int = 1,
    ) -> None:
        super().__init__()
        if spatial_grid < 1:
            raise ValueError(f"spatial_grid must be >= 1, got {spatial_grid}")
        if backbone.input_layout not in ("BCHW", "BCTHW"):
            raise ValueError(f"ClipEncoder needs a BCHW or BCTHW backbone, got {backbone.input_layout}")
        if pooling not in ("mean", "max", "concat"):
            raise ValueError(f"pooling must be 'mean', 'max' or 'concat', got {pooling!r}")
        if pooling == "concat" and num_frames is None:
            raise ValueError("pooling='concat' needs num_frames (it fixes the feature width)")
        if temporal_kernel and temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}")
        self.backbone = backbone
        self.pooling: TemporalPool = pooling
        self.num_frames = num_frames
        self.spatial_grid = spatial_grid
        d = backbone.num_features * spatial_grid * spatial_grid
        self.temporal_conv = (
            nn.Sequential(
                nn.Conv1d(d, d, temporal_kernel, padding=temporal_kernel // 2, bias=False),
                nn.BatchNorm1d(d),
                nn.ReLU(inplace=True),
            )
            if temporal_kernel
            else None
        )
        self.spatial_stride = backbone.spatial_stride
        self.temporal_stride = backbone.temporal_stride
        self.min_frames = backbone.min_frames
        self.pool = backbone.pool
        self.time_cells = math.ceil(num_frames / backbone.temporal_stride) if num_frames else None
        self.num_features = d * self.time_cells if pooling == "concat" and self.time_cells else d

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, C, H, W] -> [B, D, T', H', W']``."""
        self._check_input(x)
        if self.num_frames is not None and x.shape[1] != self.num_frames:
            raise ValueError(f"ClipEncoder was built for T={self.num_frames}, got T={x.shape[1]}")
        b, t = x.shape[:2]
        if self.backbone.input_layout == "BCTHW":
            return self.backbone.forward_features(x.transpose(1, 2))
        feats = self.backbone.forward_features(x.flatten(0, 1))  # [B*T, D, H', W']
        return feats.reshape(b, t, *feats.shape[1:]).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial pool, optional temporal conv, temporal pool: ``[B, D]`` or ``[B, T' * D]`` (concat)."""
        feats = self.forward_features(x)  # [B, D, T', H', W']
        cells = feats.transpose(1, 2).flatten(0, 1)  # [B*T', D0, H', W']
        if self.spatial_grid > 1:
            g = self.spatial_grid
            grid = F.adaptive_max_pool2d(cells, g) if self.pool == "max" else F.adaptive_avg_pool2d(cells, g)
            per_time = grid.flatten(1)  # [B*T', D0 * g * g]
        else:
            per_time = global_pool(cells, self.pool)  # [B*T', D]
        per_time = per_time.reshape(feats.shape[0], feats.shape[2], -1).transpose(1, 2)  # [B, D, T']
        if self.temporal_conv is not None:
            per_time = self.temporal_conv(per_time)
        if self.pooling == "mean":
            return per_time.mean(dim=2)
        if self.pooling == "max":
            return per_time.amax(dim=2)
        return per_time.transpose(1, 2).flatten(1)  # time-major concat keeps order

    def extra_repr(self) -> str:
        """Shown by ``print(model)``."""
        return (f"{super().extra_repr()}, pooling={self.pooling}, num_frames={self.num_frames}, "
                f"spatial_grid={self.spatial_grid}")


class FrameEncoder(Backbone):
    """Frames ``[B, C, H, W]`` through a 2D backbone, or through a 3D backbone as a static clip.

    Args:
        backbone: a ``BCHW`` or ``BCTHW`` backbone.
        mode: for 3D backbones, ``"repeat"`` (the frame repeated ``num_frames`` times) or ``"single"`` (T = 1;
            rejected when the backbone needs more frames, e.g. S3D).
        num_frames: clip length for ``"repeat"``; default ``max(temporal_stride, min_frames)``.

    Shapes:
        ``forward_features``: ``[B, C, H, W] -> [B, D, H', W']`` (3D output time cells averaged).
        ``forward``: ``[B, D]``.
    """

    input_layout = "BCHW"

    def __init__(
        self, backbone: Backbone, *, mode: Literal["repeat", "single"] = "repeat", num_frames: int | None = None
    ) -> None:
        super().__init__()
        if backbone.input_layout not in ("BCHW", "BCTHW"):
            raise ValueError(f"FrameEncoder needs a BCHW or BCTHW backbone, got {backbone.input_layout}")
        if mode not in ("repeat", "single"):
            raise ValueError(f"mode must be 'repeat' or 'single', got {mode!r}")
        self.backbone = backbone
        self.mode = mode
        if mode == "single":
            if backbone.min_frames > 1:
                raise ValueError(f"{type(backbone).__name__} needs >= {backbone.min_frames} frames; use mode='repeat'")
            num_frames = 1
        self.num_frames = num_frames or max(backbone.temporal_stride, backbone.min_frames)
        self.num_features = backbone.num_features
        self.spatial_stride = backbone.spatial_stride
        self.pool = backbone.pool

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, D, H', W']``."""
        self._check_input(x)
        if self.backbone.input_layout == "BCHW":
            return self.backbone.forward_features(x)
        clip = x.unsqueeze(2).expand(-1, -1, self.num_frames, -1, -1).contiguous()  # [B, C, T, H, W]
        return self.backbone.forward_features(clip).mean(dim=2)

    def extra_repr(self) -> str:
        """Shown by ``print(model)``."""
        return f"{super().extra_repr()}, mode={self.mode}, num_frames={self.num_frames}"
