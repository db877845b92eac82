"""Classification head: global pool → dropout → linear (the standard fine-tuning / linear-probe head)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vidssl.models.backbones.base import PoolMode, global_pool
from vidssl.models.registry import register_head

__all__ = ["ClassificationHead"]


class ClassificationHead(nn.Module):
    """Pool, dropout, fully connected layer, as torchvision's video ResNets end ("avgpool → fc").

    Args:
        in_features: feature width ``D`` (a backbone's ``num_features``).
        num_classes: output classes.
        pool: global pooling over every axis after D when given dense features (``"avg"`` or ``"max"``).
        dropout: dropout probability before the linear layer (VCOP fine-tuning and S&L use 0.5).

    Shapes:
        ``[B, D]`` or dense ``[B, D, *S]`` → logits ``[B, num_classes]``.
    """

    input_layout = "BD*"

    def __init__(self, in_features: int = 512, num_classes: int = 10, *, pool: PoolMode = "avg", dropout: float = 0.0):
        super().__init__()
        self.pool: PoolMode = pool
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_classes)
        self.in_features, self.num_classes = in_features, num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D(, *S)] -> [B, num_classes]``."""
        return self.fc(self.dropout(global_pool(x, self.pool)))


@register_head("classification")
def build_classification(**kwargs: Any) -> ClassificationHead:
    """Pool -> dropout -> fc; logits [B, num_classes]."""
    return ClassificationHead(**kwargs)
