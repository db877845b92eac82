"""Spatial operations on clips ``[..., C, H, W]`` (uint8 or float) and their random parameters.

The operations are torchvision's tensor kernels (``torchvision.transforms.v2.functional``), which treat every leading
dimension as a batch, so one call transforms all frames of a clip identically. The random draws are separate,
take an explicit ``np.random.Generator`` and happen once per clip or tuple (PAPERS.md §5.8: re-seeding Python's
``random`` per frame no longer gives consistent crops with modern torchvision).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

__all__ = [
    "center_crop",
    "hflip",
    "random_resized_crop_params",
    "resize_short_side",
    "resized_crop",
]


def random_resized_crop_params(
    rng: np.random.Generator,
    height: int,
    width: int,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    attempts: int = 10,
) -> tuple[int, int, int, int]:
    """Inception-style crop box: area fraction in ``scale``, aspect ratio (log-uniform) in ``ratio``.

    The algorithm of ``torchvision.transforms.RandomResizedCrop.get_params`` (10 attempts, then a centre crop with the
    ratio clamped), drawn from ``rng``.

    Returns:
        ``(top, left, crop_height, crop_width)`` in pixels.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(attempts):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(
    frames: torch.Tensor, top: int, left: int, height: int, width: int, size: int | tuple[int, int]
) -> torch.Tensor:
    """Crop the box and resize it to ``size`` (bilinear, antialiased) on every frame: ``[..., C, *size]``."""
    size = (size, size) if isinstance(size, int) else size
    return TF.resized_crop(frames, top, left, height, width, list(size), antialias=True)


def resize_short_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Scale so the shorter side is ``size``, keeping the aspect ratio (bilinear, antialiased)."""
    return TF.resize(frames, [size], antialias=True)


def center_crop(frames: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Central ``size`` crop (zero-padded when the frame is smaller, as torchvision does)."""
    size = (size, size) if isinstance(size, int) else size
    return TF.center_crop(frames, list(size))


def hflip(frames: torch.Tensor) -> torch.Tensor:
    """Mirror left-right."""
    return frames.flip(-1)
