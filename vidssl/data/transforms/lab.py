"""RGB ↔ CIE Lab in torch, matching OpenCV's *float* convention (PAPERS.md §3.1).

OpenCV's ``cv2.cvtColor(rgb_float01, cv2.COLOR_RGB2Lab)`` linearises sRGB (gamma 2.4 with a linear toe), converts to
XYZ with the sRGB/D65 matrix, normalises by the D65 white point and returns L in [0, 100] and a, b ≈ [-128, 127].
The colour-quantisation centroids of Vondrick et al. (reused byte-identically by CorrFlow) live in that float ab
space; OpenCV's *uint8* Lab (L scaled to [0, 255], ab offset by 128) is a different space and silently breaks them.
These functions compute the exact formulas (OpenCV itself approximates with tables, within ~0.4 of these values),
on any device, for tensors ``[..., 3, H, W]``.
"""

from __future__ import annotations

import torch

__all__ = ["lab_to_rgb", "rgb_to_lab"]

# sRGB (linear) -> XYZ, D65; the matrix OpenCV documents for RGB2XYZ.
_RGB2XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
_EPS = 0.008856  # (6/29)^3 as rounded in the CIE standard and OpenCV
_KAPPA = 903.3


def _to_unit(rgb: torch.Tensor) -> torch.Tensor:
    if rgb.shape[-3] != 3:
        raise ValueError(f"expected 3 channels at dim -3, got shape {tuple(rgb.shape)}")
    if rgb.dtype == torch.uint8:
        return rgb.float() / 255.0
    return rgb.float() if rgb.dtype != torch.float64 else rgb


def _mix(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply a 3×3 colour matrix along dim -3."""
    return torch.einsum("ij,...jhw->...ihw", matrix.to(x), x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """Convert RGB to Lab (OpenCV float convention).

    Args:
        rgb: ``uint8 [..., 3, H, W]`` in [0, 255] or float in [0, 1].

    Returns:
        float32 (float64 for float64 input) ``[..., 3, H, W]``: L in [0, 100], a and b roughly in [-128, 127].
    """
    x = _to_unit(rgb)
    lin = torch.where(x > 0.04045, ((x + 0.055) / 1.055).clamp_min(0).pow(2.4), x / 12.92)
    xyz = _mix(lin, _RGB2XYZ) / _WHITE.to(x).view(3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS).pow(1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(-3)
    y = xyz[..., 1, :, :]
    big_l = torch.where(y > _EPS, 116.0 * fy - 16.0, _KAPPA * y)
    return torch.stack([big_l, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Convert Lab (OpenCV float convention) back to RGB in [0, 1] (clamped), e.g. to show colorization results.

    Args:
        lab: float ``[..., 3, H, W]``.

    Returns:
        float ``[..., 3, H, W]`` in [0, 1].
    """
    big_l, a, b = lab.float().unbind(-3) if lab.dtype != torch.float64 else lab.unbind(-3)
    fy = (big_l + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.stack([fx, fz], dim=-3)
    xz = torch.where(f > 7.787 * _EPS + 16.0 / 116.0, f.pow(3), (f - 16.0 / 116.0) / 7.787)
    # inverse of the forward's two L branches: 116 f(Y) - 16 above the toe (L > 8), kappa * Y below it
    y = torch.where(big_l > _KAPPA * _EPS, fy.pow(3), big_l / _KAPPA)
    xyz = torch.stack([xz[..., 0, :, :], y, xz[..., 1, :, :]], dim=-3)
    xyz = xyz * _WHITE.to(xyz).view(3, 1, 1)
    lin = _mix(xyz, torch.linalg.inv(_RGB2XYZ)).clamp(0.0, 1.0)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin.pow(1.0 / 2.4) - 0.055, 12.92 * lin)
    return rgb.clamp(0.0, 1.0)
