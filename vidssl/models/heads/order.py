"""Order heads: Shuffle and Learn's tuple verification and VCOP's clip-order classification.

* Shuffle and Learn (Misra, Zitnick, Hebert, arXiv:1603.08561; PAPERS.md §1.1 step 5): the three frames go through
  the *same* trunk, the "fc7 (4096-d each) outputs are sliced back and concatenated along channels (3×4096 = 12288-d)
  → fc8_tri (2 outputs) → softmax cross-entropy". :class:`OrderHead` takes the per-frame trunk features; with
  ``frame_hidden`` set, a shared per-frame ``fc → ReLU → dropout`` plays the role of fc7 on top of a conv trunk.
* VCOP (Xu et al., CVPR 2019, "Self-supervised Spatiotemporal Learning via Video Clip Order Prediction"; PAPERS.md
  §5.2 step 3): "pairwise concat (1024) → fc7 512 → ReLU, concat the 3 pair features → dropout 0.5 → fc8 (6)", pairs
  ``(i, j)`` for ``i < j`` in presentation order, fc7 shared across pairs; classes index
  :func:`clip_order_permutations`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import nn

from vidssl.models.registry import register_head

__all__ = ["OrderHead", "VCOPHead", "clip_order_permutations"]


def clip_order_permutations(num_clips: int) -> list[tuple[int, ...]]:
    """Class index → permutation, in ``itertools.permutations`` order (as VCOP's ``ucf101.py``).

    Example:
        >>> clip_order_permutations(3)[:2]
        [(0, 1, 2), (0, 2, 1)]
    """
    return list(itertools.permutations(range(num_clips)))


class OrderHead(nn.Module):
    """Shared per-frame features of an N-tuple, concatenated in tuple order, → linear classifier.

    Args:
        in_features: per-frame feature width ``D``.
        num_frames: tuple length N (3 for Shuffle and Learn).
        num_classes: 2 (in order / shuffled).
        frame_hidden: width of the optional shared per-frame fc ("fc7"); ``None`` feeds trunk features directly.
        dropout: dropout after the per-frame fc (S&L: 0.5 after fc6 and fc7).

    Shapes:
        ``[B, N, D]`` → logits ``[B, num_classes]``.
    """

    input_layout = "BND"

    def __init__(
        self,
        in_features: int = 512,
        num_frames: int = 3,
        num_classes: int = 2,
        *,
        frame_hidden: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.frame_fc: nn.Module = (
            nn.Sequential(nn.Linear(in_features, frame_hidden), nn.ReLU(inplace=True), nn.Dropout(dropout))
            if frame_hidden
            else nn.Identity()
        )
        width = frame_hidden or in_features
        self.fc = nn.Linear(num_frames * width, num_classes)
        self.num_frames, self.num_classes = num_frames, num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D] -> [B, num_classes]``; frame order matters (concatenation, not pooling)."""
        if x.ndim != 3 or x.shape[1] != self.num_frames:
            raise ValueError(f"OrderHead expects [B, {self.num_frames}, D], got {tuple(x.shape)}")
        return self.fc(self.frame_fc(x).flatten(1))


class VCOPHead(nn.Module):
    """VCOP pairwise head: shared fc over every ordered pair's concatenation, concat, dropout, fc to N! classes.

    Args:
        in_features: per-clip feature width ``D`` (512 for R3D).
        num_clips: N (3 → 6 classes).
        hidden: pairwise fc width (VCOP: 512).
        dropout: dropout before the classifier (VCOP: 0.5).

    Shapes:
        ``[B, N, D]`` → logits ``[B, N!]``.
    """

    input_layout = "BND"

    def __init__(self, in_features: int = 512, num_clips: int = 3, *, hidden: int = 512, dropout: float = 0.5):
        super().__init__()
        self.pairs = list(itertools.combinations(range(num_clips), 2))
        self.pair_fc = nn.Linear(2 * in_features, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.num_clips, self.num_classes = num_clips, math.factorial(num_clips)
        self.fc = nn.Linear(len(self.pairs) * hidden, self.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, N, D] -> [B, N!]``."""
        if x.ndim != 3 or x.shape[1] != self.num_clips:
            raise ValueError(f"VCOPHead expects [B, {self.num_clips}, D], got {tuple(x.shape)}")
        i, j = zip(*self.pairs)
        pairs = torch.cat([x[:, list(i)], x[:, list(j)]], dim=2)  # [B, P, 2D], pair p = (f_i, f_j)
        h = self.relu(self.pair_fc(pairs)).flatten(1)  # [B, P * hidden]
        return self.fc(self.dropout(h))


@register_head("order")
def build_order(**kwargs: Any) -> OrderHead:
    """Shuffle and Learn: per-frame features concatenated -> fc -> 2 classes."""
    return OrderHead(**kwargs)


@register_head("vcop")
def build_vcop(**kwargs: Any) -> VCOPHead:
    """VCOP: pairwise concat -> fc 512 -> ReLU, concat, dropout 0.5 -> fc N!."""
    return VCOPHead(**kwargs)
