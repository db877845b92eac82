"""Colourisation-by-pointing head (Vondrick et al., "Tracking Emerges by Colorizing Videos", arXiv:1806.09594).

PAPERS.md §3.1 step 3: "For target pixel j and every reference pixel i (over all 3 reference frames),
A_ij = exp(f_iᵀ f_j / T) / Σ_k exp(f_kᵀ f_j / T) — normalised over reference positions for each target pixel.
Predicted colour distribution y_j = Σ_i A_ij c_i with c_i the one-hot quantised colour of reference pixel i";
T = 1 in training and 0.5 at test. The same attention propagates masks or keypoints at test time (step 7).

Mistakes this module is written to avoid (PAPERS.md §3.1): the softmax runs over the *reference* axis (the last axis
of ``[B, N_target, N_ref]`` logits), jointly over all reference frames (not per frame), and colours/labels are at
feature resolution. Pixels are flattened row-major: reference pixel ``(r, y, x)`` has index ``(r*h + y)*w + x``,
target pixel ``(y, x)`` has index ``y*w + x`` — the same order as ``colors.flatten(1)`` on ``[B, R, h, w]``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vidssl.models.registry import register_head

__all__ = ["ColorizationHead", "attention_logits", "copy_labels", "flatten_pixels"]


def flatten_pixels(feats: torch.Tensor) -> torch.Tensor:
    """``[B, E, h, w] -> [B, h*w, E]`` or ``[B, R, E, h, w] -> [B, R*h*w, E]`` (row-major pixel order)."""
    if feats.ndim == 4:
        return feats.flatten(2).transpose(1, 2)
    if feats.ndim == 5:
        return feats.transpose(1, 2).flatten(2).transpose(1, 2)  # [B, E, R, h, w] -> [B, R*h*w, E]
    raise ValueError(f"expected [B, E, h, w] or [B, R, E, h, w], got {tuple(feats.shape)}")


def attention_logits(ref: torch.Tensor, target: torch.Tensor, temperature: float) -> torch.Tensor:
    """Pointer logits ``f_iᵀ f_j / T``.

    Args:
        ref: reference embeddings ``[B, N_ref, E]``.
        target: target embeddings ``[B, N_target, E]``.
        temperature: T > 0.

    Returns:
        ``[B, N_target, N_ref]``; a softmax over the last axis gives A (each target row sums to 1 over references).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.bmm(target, ref.transpose(1, 2)) / temperature


def copy_labels(logits: torch.Tensor, ref_labels: torch.Tensor) -> torch.Tensor:
    """Attention-weighted copy ``y_j = Σ_i A_ij c_i``.

    Args:
        logits: ``[B, N_target, N_ref]`` from :func:`attention_logits`.
        ref_labels: ``[B, N_ref, K]`` one-hot colours, soft labels or masks of the reference pixels.

    Returns:
        ``[B, N_target, K]``; rows are distributions when ``ref_labels`` rows are.
    """
    return torch.bmm(torch.softmax(logits.float(), dim=-1), ref_labels.float())


class ColorizationHead(nn.Module):
    """Per-pixel embedding (1×1 conv to ``embed_dim``) and the pointer attention over reference pixels.

    Args:
        in_features: channels of the backbone's dense features.
        embed_dim: embedding width (Vondrick: 64, "32×32×64 features per frame").
        temperature: softmax temperature in training mode (1.0).
        test_temperature: temperature in eval mode (0.5, "sharper pointer").

    Shapes:
        ``forward(ref_feats [B, R, D, h, w], target_feats [B, D, h', w'])`` → logits ``[B, h'*w', R*h*w]``.
    """

    input_layout = "BRDHW+BDHW"

    def __init__(
        self, in_features: int = 512, embed_dim: int = 64, *, temperature: float = 1.0, test_temperature: float = 0.5
    ) -> None:
        super().__init__()
        self.embed = nn.Conv2d(in_features, embed_dim, kernel_size=1)
        self.temperature, self.test_temperature = temperature, test_temperature

    def current_temperature(self, temperature: float | None = None) -> float:
        """The explicit ``temperature`` if given, else 1.0-style training or 0.5-style test value by mode."""
        if temperature is not None:
            return temperature
        return self.temperature if self.training else self.test_temperature

    def forward(
        self, ref_feats: torch.Tensor, target_feats: torch.Tensor, temperature: float | None = None
    ) -> torch.Tensor:
        """Pointer logits ``[B, N_target, N_ref]`` (already divided by the temperature)."""
        if ref_feats.ndim != 5 or target_feats.ndim != 4:
            raise ValueError(
                f"expected ref [B, R, D, h, w] and target [B, D, h, w], got {tuple(ref_feats.shape)} "
                f"and {tuple(target_feats.shape)}"
            )
        b, r = ref_feats.shape[:2]
        ref = self.embed(ref_feats.flatten(0, 1))
        ref = ref.reshape(b, r, *ref.shape[1:])
        return attention_logits(
            flatten_pixels(ref), flatten_pixels(self.embed(target_feats)), self.current_temperature(temperature)
        )

    def predict(
        self,
        ref_feats: torch.Tensor,
        target_feats: torch.Tensor,
        ref_colors: torch.Tensor,
        num_colors: int,
        temperature: float | None = None,
    ) -> torch.Tensor:
        """Predicted colour distributions ``[B, K, h', w']`` from reference colour indices ``[B, R, h, w]``."""
        logits = self(ref_feats, target_feats, temperature)
        onehot = F.one_hot(ref_colors.flatten(1).long(), num_colors)  # [B, N_ref, K]
        probs = copy_labels(logits, onehot)  # [B, N_target, K]
        h, w = target_feats.shape[-2:]
        return probs.transpose(1, 2).reshape(probs.shape[0], num_colors, h, w)


@register_head("colorization")
def build_colorization(**kwargs: Any) -> ColorizationHead:
    """Vondrick pointer: 1x1 embed to 64-d, softmax over all reference pixels (T=1 train, 0.5 test)."""
    return ColorizationHead(**kwargs)
