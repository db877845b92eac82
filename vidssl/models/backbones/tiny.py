"""Tiny 2D and 3D CNNs (≈0.2–0.3 M parameters) for CPU tests, the synthetic benchmark and 64×64 inputs.

Same contract as the big backbones, small enough to train in minutes on two CPU cores (PAPERS.md §8, "tiny"
column). Both are a stride-2 3×3 stem followed by three residual stages (two 3×3 convolutions + BN + ReLU each,
as in ResNet's basic block, arXiv:1512.03385) of widths ``w, 2w, 4w``.

* ``tiny_cnn2d``: output stride 8 by default, so a 64×64 frame gives an 8×8 map (colourisation's and label
  propagation's tiny setting); ``output_stride=4`` keeps the last stage at stride 1 with dilation 2 (16×16 maps),
  ``output_stride=16`` adds a stride to stage 1.
* ``tiny_cnn3d``: 3×3×3 convolutions, spatial stride 8, temporal stride 4 by default (1 or 2 keep more frames).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from vidssl.models.backbones.base import Backbone
from vidssl.models.registry import register_backbone

__all__ = ["TinyCNN2d", "TinyCNN3d"]


class _ResBlock(nn.Module):
    """Basic residual block in 2 or 3 dimensions: conv-BN-ReLU-conv-BN + (projected) shortcut, then ReLU."""

    def __init__(self, dims: int, cin: int, cout: int, stride: tuple[int, ...], dilation: int = 1) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
        self.conv1 = conv(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = norm(cout)
        self.conv2 = conv(cout, cout, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = norm(cout)
        self.relu = nn.ReLU(inplace=True)
        needs_proj = cin != cout or any(s != 1 for s in stride)
        self.shortcut = nn.Sequential(conv(cin, cout, 1, stride=stride, bias=False), norm(cout)) if needs_proj else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


def _stem(dims: int, cin: int, cout: int, stride: tuple[int, ...]) -> nn.Sequential:
    conv = nn.Conv2d if dims == 2 else nn.Conv3d
    norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
    return nn.Sequential(conv(cin, cout, 3, stride=stride, padding=1, bias=False), norm(cout), nn.ReLU(inplace=True))


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class TinyCNN2d(Backbone):
    """Tiny residual 2D CNN on frames ``[B, C, H, W]``.

    Args:
        width: channels of the first stage ``w``; features are ``4w``-d (``w=32``: 128-d, ≈0.3 M parameters).
        output_stride: 4, 8 (default) or 16.
        in_channels: 3 for RGB, 1 for grayscale (colourisation).

    Shapes:
        ``forward_features``: ``[B, C, H, W] -> [B, 4w, H/s, W/s]`` (``s = output_stride``); ``forward``: ``[B, 4w]``.
    """

    input_layout = "BCHW"

    def __init__(self, *, width: int = 32, output_stride: Literal[4, 8, 16] = 8, in_channels: int = 3) -> None:
        super().__init__()
        if output_stride not in (4, 8, 16):
            raise ValueError(f"output_stride must be 4, 8 or 16, got {output_stride}")
        w = width
        s1 = 2 if output_stride == 16 else 1
        s3, d3 = (1, 2) if output_stride == 4 else (2, 1)
        self.stem = _stem(2, in_channels, w, (2, 2))
        self.stage1 = _ResBlock(2, w, w, (s1, s1))
        self.stage2 = _ResBlock(2, w, 2 * w, (2, 2))
        self.stage3 = _ResBlock(2, 2 * w, 4 * w, (s3, s3), dilation=d3)
        _init(self)
        self.num_features = 4 * w
        self.spatial_stride = output_stride

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W] -> [B, 4w, H/s, W/s]``."""
        self._check_input(x)
        return self.stage3(self.stage2(self.stage1(self.stem(x))))


class TinyCNN3d(Backbone):
    """Tiny residual 3D CNN on clips ``[B, 3, T, H, W]``.

    Args:
        width: first-stage channels ``w``; features are ``4w``-d (``w=16``: 64-d, ≈0.23 M parameters).
        temporal_stride: 1, 2 or 4 (default); stages 3 then 2 halve T.
        in_channels: input channels.

    Shapes:
        ``forward_features``: ``[B, C, T, H, W] -> [B, 4w, T/t, H/8, W/8]``; ``forward``: ``[B, 4w]``.
    """

    input_layout = "BCTHW"

    def __init__(self, *, width: int = 16, temporal_stride: Literal[1, 2, 4] = 4, in_channels: int = 3) -> None:
        super().__init__()
        if temporal_stride not in (1, 2, 4):
            raise ValueError(f"temporal_stride must be 1, 2 or 4, got {temporal_stride}")
        w = width
        t2 = 2 if temporal_stride == 4 else 1
        t3 = 2 if temporal_stride >= 2 else 1
        self.stem = _stem(3, in_channels, w, (1, 2, 2))
        self.stage1 = _ResBlock(3, w, w, (1, 1, 1))
        self.stage2 = _ResBlock(3, w, 2 * w, (t2, 2, 2))
        self.stage3 = _ResBlock(3, 2 * w, 4 * w, (t3, 2, 2))
        _init(self)
        self.num_features = 4 * w
        self.spatial_stride = 8
        self.temporal_stride = temporal_stride

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, H, W] -> [B, 4w, T/t, H/8, W/8]``."""
        self._check_input(x)
        return self.stage3(self.stage2(self.stage1(self.stem(x))))


@register_backbone("tiny_cnn2d")
def build_tiny_cnn2d(**kwargs: Any) -> TinyCNN2d:
    """Tiny residual 2D CNN for CPU: 128-d, stride 8 (4 or 16 optional), ~0.3 M params."""
    return TinyCNN2d(**kwargs)


@register_backbone("tiny_cnn3d")
def build_tiny_cnn3d(**kwargs: Any) -> TinyCNN3d:
    """Tiny residual 3D CNN for CPU: 64-d, strides t4/s8, ~0.23 M params."""
    return TinyCNN3d(**kwargs)
