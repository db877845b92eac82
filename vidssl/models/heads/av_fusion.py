"""L3 audio-visual correspondence fusion head (Arandjelović & Zisserman, arXiv:1705.08168; PAPERS.md §4.1).

"Fusion: concat (1024) → fc 128 (ReLU) → fc 2 → softmax". The softmax lives in the loss
(:func:`vidssl.losses.avc.avc_loss`), so the head returns logits.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vidssl.models.registry import register_head

__all__ = ["AVFusionHead"]


class AVFusionHead(nn.Module):
    """Concatenate vision and audio embeddings → fc(hidden) → ReLU → fc(num_classes).

    Args:
        vision_features: vision tower width (L3: 512).
        audio_features: audio tower width (L3: 512).
        hidden: fusion width (L3: 128).
        num_classes: 2 (corresponds / does not).

    Shapes:
        ``vision [B, Dv]``, ``audio [B, Da]`` → logits ``[B, num_classes]``.
    """

    input_layout = "BD+BD"

    def __init__(
        self, vision_features: int = 512, audio_features: int = 512, *, hidden: int = 128, num_classes: int = 2
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(vision_features + audio_features, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, vision: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """``[B, Dv], [B, Da] -> [B, num_classes]``."""
        if vision.shape[0] != audio.shape[0]:
            raise ValueError(f"batch sizes differ: vision {tuple(vision.shape)}, audio {tuple(audio.shape)}")
        return self.fc2(self.relu(self.fc1(torch.cat([vision, audio], dim=1))))


@register_head("av_fusion")
def build_av_fusion(**kwargs: Any) -> AVFusionHead:
    """L3 fusion: concat(512+512) -> fc 128 -> ReLU -> fc 2."""
    return AVFusionHead(**kwargs)
