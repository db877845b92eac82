"""Look, Listen and Learn (L3) towers: VGG-style CNNs for spectrograms and frames.

Arandjelović & Zisserman, "Look, Listen and Learn", arXiv:1705.08168 (PAPERS.md §4.1): each subnetwork has
"4 VGG-style blocks of two 3×3 conv + BN + ReLU, channels 64, 128, 256, 512, 2×2 max-pool after blocks 1–3; final
max-pool over the whole remaining map (vision 28×28, audio 32×24) → 512-d". The audio tower sees a log-magnitude
spectrogram of 1 s at 48 kHz (257 frequency bins × 199 frames) laid out ``[B, 1, F, T]``; the vision tower one
224×224 RGB frame. Spatial and temporal strides are 8 (three 2×2 pools; floor rounding: 257×199 → 32×24).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from vidssl.models.backbones.base import Backbone, InputLayout
from vidssl.models.registry import register_backbone

__all__ = ["L3Tower"]


class L3Tower(Backbone):
    """Four blocks of (3×3 conv + BN + ReLU) × 2, 2×2 max-pool after blocks 1–3, global max-pool.

    Args:
        widths: channels of the four blocks; L3 uses ``(64, 128, 256, 512)``.
        in_channels: 1 for spectrograms, 3 for RGB frames.
        input_layout: ``"B1FT"`` (audio; ``[B, F, T]`` also accepted) or ``"BCHW"`` (vision).

    Shapes:
        audio: ``[B, 1, F, T] -> forward_features [B, widths[-1], F//8, T//8] -> forward [B, widths[-1]]``.
        vision: ``[B, 3, H, W] -> [B, widths[-1], H//8, W//8] -> [B, widths[-1]]``.
    """

    pool = "max"

    def __init__(
        self, *, widths: Sequence[int] = (64, 128, 256, 512), in_channels: int = 1, input_layout: InputLayout = "B1FT"
    ) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"L3 towers have 4 blocks, got widths={tuple(widths)}")
        if input_layout not in ("B1FT", "BCHW"):
            raise ValueError(f"input_layout must be 'B1FT' or 'BCHW', got {input_layout!r}")
        layers: list[nn.Module] = []
        cin = in_channels
        for i, w in enumerate(widths):
            for _ in range(2):
                layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                cin = w
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # He init, as the marl/l3embedding re-implementation
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        self.input_layout = input_layout
        self.num_features = widths[-1]
        self.spatial_stride = 8
        self.temporal_stride = 8 if input_layout == "B1FT" else 1

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Dense map before the global max-pool (shapes in the class docstring)."""
        if self.input_layout == "B1FT" and x.ndim == 3:  # BFT spectrograms
            x = x.unsqueeze(1)
        self._check_input(x)
        return self.features(x)


@register_backbone("l3_audio")
def build_l3_audio(**kwargs: Any) -> L3Tower:
    """L3 audio tower on log-spectrograms [B,1,F,T]: 4 VGG blocks 64-512, global max-pool, 512-d."""
    return L3Tower(**kwargs)


@register_backbone("l3_audio_tiny")
def build_l3_audio_tiny(**kwargs: Any) -> L3Tower:
    """L3 audio tower at 1/4 width (16-128), 128-d, ~0.3 M params, for CPU."""
    kwargs.setdefault("widths", (16, 32, 64, 128))
    return L3Tower(**kwargs)


@register_backbone("l3_vision")
def build_l3_vision(**kwargs: Any) -> L3Tower:
    """L3 vision tower on frames [B,3,H,W]: 4 VGG blocks 64-512, global max-pool, 512-d."""
    kwargs.setdefault("in_channels", 3)
    kwargs.setdefault("input_layout", "BCHW")
    return L3Tower(**kwargs)
