"""Model cards: what ``vidssl list-models`` prints for a registered name (built on the meta device, no memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vidssl.models.registry import MODELS

__all__ = ["ModelCard", "count_parameters", "describe"]


@dataclass(frozen=True)
class ModelCard:
    """Static facts about one registered model built with its default arguments.

    Attributes:
        name: registry name.
        kind: ``"backbone"`` or ``"head"``.
        input_layout: the module's ``input_layout`` (backbones: BCHW/BCTHW/B1FT; heads: see ``vidssl.models.heads``).
        num_features: backbone feature width; ``None`` for heads.
        spatial_stride: backbone spatial stride; ``None`` for heads.
        temporal_stride: backbone temporal stride; ``None`` for heads.
        num_params: number of parameters.
        summary: one-line description (the builder's docstring).
    """

    name: str
    kind: str
    input_layout: str
    num_features: int | None
    spatial_stride: int | None
    temporal_stride: int | None
    num_params: int
    summary: str


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def describe(name: str, **kwargs: Any) -> ModelCard:
    """Build ``name`` on the meta device (no allocation, no init cost) and read its card."""
    entry = MODELS.get(name)
    with torch.device("meta"):
        model = MODELS.create(name, **kwargs)
    is_backbone = entry.kind == "backbone"
    return ModelCard(
        name=name,
        kind=entry.kind,
        input_layout=str(getattr(model, "input_layout", "?")),
        num_features=int(model.num_features) if is_backbone else None,
        spatial_stride=int(model.spatial_stride) if is_backbone else None,
        temporal_stride=int(model.temporal_stride) if is_backbone else None,
        num_params=count_parameters(model),
        summary=entry.summary,
    )
