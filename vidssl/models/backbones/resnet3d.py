"""3D clip networks from torchvision: R3D-18, MC3-18, R(2+1)D-18 and S3D.

* R3D / MC3 / R(2+1)D: Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition",
  arXiv:1711.11248. torchvision's ``VideoResNet`` has a stem with stride (1, 2, 2) and stages 2–4 that downsample
  by 2 in space; R3D and R(2+1)D also downsample by 2 in time, while MC3 ("mixed convolutions": 3D convolutions
  only in the stem and stage 1, 2D afterwards) keeps the full temporal resolution. Hence spatial stride 16 for all
  three and temporal stride 8 / 1 / 8.
* S3D: Xie et al., "Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in Video
  Classification", arXiv:1712.04851 — separable (2D spatial then 1D temporal) Inception; 1024-d, spatial stride 32,
  temporal stride 8; its final (2, 2, 2) max-pool needs at least 5 input frames.

Note VCOP (PAPERS.md §5.2) used 10-layer R3D / R(2+1)D variants (``layer_sizes=(1,1,1,1)``), not these 18-layer
ones; ``layers=(1, 1, 1, 1)`` builds them.

Inputs are ``[B, 3, T, H, W]`` (BCTHW); :class:`vidssl.models.adapters.ClipEncoder` permutes from the data layout
``[B, T, C, H, W]``. Weights are never downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn
from torchvision.models.video import s3d
from torchvision.models.video.resnet import (
    BasicBlock,
    BasicStem,
    Conv2Plus1D,
    Conv3DNoTemporal,
    Conv3DSimple,
    R2Plus1dStem,
    VideoResNet,
)

from vidssl.models.backbones.base import Backbone
from vidssl.models.registry import register_backbone

__all__ = ["S3DBackbone", "VideoResNetBackbone"]

_VARIANTS: dict[str, tuple[list[type[nn.Module]], type[nn.Module], int]] = {
    # name: (conv maker per stage, stem, temporal stride)
    "r3d": ([Conv3DSimple] * 4, BasicStem, 8),
    "mc3": ([Conv3DSimple] + [Conv3DNoTemporal] * 3, BasicStem, 1),
    "r2plus1d": ([Conv2Plus1D] * 4, R2Plus1dStem, 8),
}


class VideoResNetBackbone(Backbone):
    """torchvision ``VideoResNet`` trunk (stem + 4 stages, no avgpool/fc) on clips ``[B, 3, T, H, W]``.

    Args:
        variant: ``"r3d"``, ``"mc3"`` or ``"r2plus1d"``.
        layers: blocks per stage; ``(2, 2, 2, 2)`` is the 18-layer network, ``(1, 1, 1, 1)`` VCOP's 10-layer one.

    Shapes:
        ``forward_features``: ``[B, 3, T, H, W] -> [B, 512, T/t, H/16, W/16]`` with ``t = temporal_stride``.
        ``forward``: ``[B, 512]`` (global average pool, as torchvision's ``avgpool``).
    """

    input_layout = "BCTHW"

    def __init__(self, variant: Literal["r3d", "mc3", "r2plus1d"] = "r3d", *, layers: Sequence[int] = (2, 2, 2, 2)):
        super().__init__()
        if variant not in _VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {sorted(_VARIANTS)}")
        conv_makers, stem, t_stride = _VARIANTS[variant]
        net = VideoResNet(BasicBlock, conv_makers, list(layers), stem)  # type: ignore[arg-type]
        self.stem = net.stem
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.num_features = 512
        self.spatial_stride = 16
        self.temporal_stride = t_stride
        self.variant = variant

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W] -> [B, 512, T', H', W']`` dense features."""
        self._check_input(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))


class S3DBackbone(Backbone):
    """torchvision S3D ``features`` (no avgpool/classifier) on clips ``[B, 3, T, H, W]``, T ≥ 5.

    Shapes:
        ``forward_features``: ``[B, 3, T, H, W] -> [B, 1024, T/8, H/32, W/32]``. ``forward``: ``[B, 1024]``.
    """

    input_layout = "BCTHW"
    min_frames = 5

    def __init__(self) -> None:
        super().__init__()
        self.features = s3d(weights=None).features
        self.num_features = 1024
        self.spatial_stride = 32
        self.temporal_stride = 8

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W] -> [B, 1024, T', H', W']`` dense features."""
        self._check_input(x)
        return self.features(x)


@register_backbone("r3d_18")
def build_r3d_18(**kwargs: Any) -> VideoResNetBackbone:
    """R3D-18: full 3×3×3 convolutions, 512-d, strides t8/s16 (arXiv:1711.11248)."""
    return VideoResNetBackbone("r3d", **kwargs)


@register_backbone("mc3_18")
def build_mc3_18(**kwargs: Any) -> VideoResNetBackbone:
    """MC3-18: 3D convs in stem+stage 1, 2D after; 512-d, strides t1/s16 (arXiv:1711.11248)."""
    return VideoResNetBackbone("mc3", **kwargs)


@register_backbone("r2plus1d_18")
def build_r2plus1d_18(**kwargs: Any) -> VideoResNetBackbone:
    """R(2+1)D-18: factorised spatial + temporal convs, 512-d, strides t8/s16 (arXiv:1711.11248)."""
    return VideoResNetBackbone("r2plus1d", **kwargs)


@register_backbone("s3d")
def build_s3d(**kwargs: Any) -> S3DBackbone:
    """S3D: separable 3D Inception, 1024-d, strides t8/s32, T >= 5 (arXiv:1712.04851)."""
    return S3DBackbone(**kwargs)
