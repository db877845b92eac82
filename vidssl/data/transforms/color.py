"""Colour operations with per-sample factors, for batches on any device, plus normalisation.

Every function takes images ``[B, ..., C, H, W]`` as float in [0, 1] (or uint8, converted) and factors that are a
float (one value for all) or a tensor ``[B]`` (one value per sample, broadcast over its frames). Semantics follow
``torchvision.transforms.v2.functional.adjust_*`` (brightness blends with black, contrast with the mean gray level of
each frame, saturation with the grayscale image, hue rotates the HSV hue; ITU-R 601 luma weights), which the tests
check sample by sample. Per-clip CPU pipelines (:mod:`.clip`) call torchvision directly; these vectorised versions
exist because torchvision's kernels take one scalar factor per call.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "grayscale",
    "normalize",
    "to_float",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] → float32 [0, 1]; float input is returned unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def _per_sample(factor: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor | float:
    """Reshape a ``[B]`` factor to broadcast over ``x``'s trailing dims."""
    if not torch.is_tensor(factor):
        return float(factor)
    return factor.to(device=x.device, dtype=x.dtype).reshape(-1, *([1] * (x.ndim - 1)))


def grayscale(x: torch.Tensor, keep_channels: bool = True) -> torch.Tensor:
    """ITU-R 601 luma (0.2989 R + 0.587 G + 0.114 B): ``[..., 3 or 1, H, W]``."""
    x = to_float(x)
    r, g, b = x.unbind(-3)
    gray = (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)
    return gray.expand_as(x) if keep_channels else gray


def _blend(a: torch.Tensor, b: torch.Tensor | float, ratio: torch.Tensor | float) -> torch.Tensor:
    return (ratio * a + (1.0 - ratio) * b).clamp_(0.0, 1.0)


def adjust_brightness(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Multiply intensities by ``factor`` (0 gives black, 1 the original)."""
    x = to_float(x)
    return _blend(x, 0.0, _per_sample(factor, x))


def adjust_contrast(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Blend each frame with its mean gray level (0 gives flat gray, 1 the original)."""
    x = to_float(x)
    mean = grayscale(x, keep_channels=False).mean(dim=(-3, -2, -1), keepdim=True)
    return _blend(x, mean, _per_sample(factor, x))


def adjust_saturation(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Blend with the grayscale image (0 gives gray, 1 the original, 2 doubles saturation)."""
    x = to_float(x)
    return _blend(x, grayscale(x, keep_channels=False), _per_sample(factor, x))


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(-3)
    maxc, argmax = x.max(dim=-3)  # on ties the formulas below give the same hue, so any argmax works
    delta = maxc - x.amin(dim=-3)
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(argmax == 0, torch.remainder((g - b) / safe, 6.0),
                    torch.where(argmax == 1, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = torch.where(delta > 0, h / 6.0, torch.zeros_like(h))
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    return torch.stack((h, s, maxc), dim=-3)


def _hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    # channel n in (5, 3, 1) for (R, G, B): v - v s clamp(min(k, 4 - k), 0, 1) with k = (n + 6 h) mod 6
    h, s, v = x.unbind(-3)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=x.dtype, device=x.device).view(3, 1, 1)
    k = torch.remainder(n + 6.0 * h.unsqueeze(-3), 6.0)
    ramp = torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)
    vs = v.unsqueeze(-3)
    return vs - vs * s.unsqueeze(-3) * ramp


def adjust_hue(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``factor`` turns (``[-0.5, 0.5]``)."""
    x = to_float(x)
    hsv = _rgb_to_hsv(x)
    f = _per_sample(factor, x)
    if torch.is_tensor(f):
        f = f.squeeze(-3)  # hue channel has no channel dim
    h = torch.remainder(hsv[..., 0, :, :] + f, 1.0)
    return _hsv_to_rgb(torch.stack((h, hsv[..., 1, :, :], hsv[..., 2, :, :]), dim=-3))


def normalize(
    x: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> torch.Tensor:
    """``(x - mean) / std`` per channel (dim -3) after uint8 → [0, 1] conversion."""
    x = to_float(x)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x - m) / s
