"""Projection and embedding heads.

* :class:`ProjectionHead` follows lightly's block list (STYLE.md §4): ``(in, out, norm, activation)`` tuples, each
  a ``Linear`` (bias only without norm) followed by the optional norm and activation.
* ``projection_mlp`` builds the SimCLR/CVRL-style projector. SimCLR (Chen et al., arXiv:2002.05709): "We use a MLP
  with one hidden layer to obtain z_i = g(h_i) = W(2)σ(W(1)h_i) where σ is a ReLU non-linearity"; CVRL
  (Qian et al., arXiv:2008.03800) uses 2048-2048-128 (PAPERS.md §8).
* :class:`EmbeddingHead` is Wang & Gupta's metric embedding (arXiv:1505.00687; PAPERS.md §2.1 step 3):
  "fc6 4096 → fc7 1024 → ReLU → L2 normalisation"; on dense inputs it acts per position (a 1×1 convolution), which
  is CRW's node head ("linear head to 128-d → L2-normalise", arXiv:2006.14613).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidssl.models.registry import register_head

__all__ = ["EmbeddingHead", "ProjectionHead", "projection_mlp"]

Block = tuple[int, int, nn.Module | None, nn.Module | None]


class ProjectionHead(nn.Module):
    """A sequence of ``Linear → norm → activation`` blocks.

    Args:
        blocks: ``(in_features, out_features, norm or None, activation or None)`` per layer.

    Shapes:
        ``[B, blocks[0].in]`` → ``[B, blocks[-1].out]``.
    """

    input_layout = "BD"

    def __init__(self, blocks: Sequence[Block]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout, norm, act in blocks:
            layers.append(nn.Linear(cin, cout, bias=norm is None))  # a following norm makes the bias redundant
            layers += [m for m in (norm, act) if m is not None]
        self.layers = nn.Sequential(*layers)
        self.out_features = blocks[-1][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D_in] -> [B, D_out]``."""
        return self.layers(x)


def projection_mlp(
    in_features: int = 512,
    hidden_features: int = 2048,
    out_features: int = 128,
    *,
    num_layers: int = 2,
    batch_norm: bool = True,
) -> ProjectionHead:
    """SimCLR/CVRL projector: ``num_layers - 1`` hidden ``Linear → BN → ReLU`` blocks, then a plain ``Linear``."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    dims = [in_features] + [hidden_features] * (num_layers - 1) + [out_features]
    blocks: list[Block] = [
        (dims[i], dims[i + 1], nn.BatchNorm1d(dims[i + 1]) if batch_norm else None, nn.ReLU(inplace=True))
        for i in range(num_layers - 1)
    ]
    blocks.append((dims[-2], dims[-1], None, None))
    return ProjectionHead(blocks)


class EmbeddingHead(nn.Module):
    """Optional hidden fc, fc to ``dim``, optional ReLU, L2 normalisation over the feature axis.

    Args:
        in_features: input width ``D``.
        dim: embedding width (W&G: 1024; CRW: 128).
        hidden: width of an optional first ``fc → ReLU`` layer (W&G's fc6: 4096), ``None`` for none.
        relu: ReLU before normalisation (W&G's released prototxt has it; CRW does not).
        normalize: L2-normalise the output (needed by cosine-distance losses).

    Shapes:
        ``[B, D] -> [B, dim]``, or dense ``[B, D, *S] -> [B, dim, *S]`` (applied per position).
    """

    input_layout = "BD*"

    def __init__(
        self,
        in_features: int = 512,
        dim: int = 1024,
        *,
        hidden: int | None = None,
        relu: bool = True,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(hidden or in_features, dim))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)
        self.normalize = normalize
        self.out_features = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, D(, *S)] -> [B, dim(, *S)]``, unit L2 norm along ``dim`` when ``normalize``."""
        out = self.layers(x.movedim(1, -1)).movedim(-1, 1)
        return F.normalize(out, dim=1) if self.normalize else out


@register_head("projection_mlp")
def build_projection_mlp(**kwargs: Any) -> ProjectionHead:
    """SimCLR/CVRL projector MLP (Linear-BN-ReLU)*(n-1) -> Linear; default 512-2048-128."""
    return projection_mlp(**kwargs)


@register_head("embedding")
def build_embedding(**kwargs: Any) -> EmbeddingHead:
    """Wang & Gupta metric embedding: fc -> 1024 -> ReLU -> L2 norm (per position on dense input)."""
    return EmbeddingHead(**kwargs)
