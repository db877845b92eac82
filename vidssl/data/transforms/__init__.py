"""Transforms on uint8 clips ``[T, C, H, W]`` (one random draw per clip or tuple) and their batched GPU versions.

* :mod:`.clip`: per-example random transforms ``t(frames, rng)`` for ``make_example`` (CPU workers);
* :mod:`.batched`: :class:`BatchedAugment` for ``[B, T, C, H, W]`` on the training device;
* :mod:`.spatial` / :mod:`.color`: the underlying operations;
* :mod:`.lab` / :mod:`.quantize`: Lab conversion (OpenCV float convention) and k-means ab quantisation.
"""

from __future__ import annotations

from vidssl.data.transforms.batched import BatchedAugment, batched_crop_params, batched_resized_crop
from vidssl.data.transforms.clip import (
    CenterCrop,
    ClipTransform,
    ColorJitter,
    Compose,
    Normalize,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    eval_transform,
    train_transform,
)
from vidssl.data.transforms.color import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    grayscale,
    normalize,
    to_float,
)
from vidssl.data.transforms.lab import lab_to_rgb, rgb_to_lab
from vidssl.data.transforms.quantize import AbQuantizer, fit_kmeans, nearest_centroid, sample_ab_pixels
from vidssl.data.transforms.spatial import (
    center_crop,
    hflip,
    random_resized_crop_params,
    resize_short_side,
    resized_crop,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AbQuantizer",
    "BatchedAugment",
    "CenterCrop",
    "ClipTransform",
    "ColorJitter",
    "Compose",
    "Normalize",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "batched_crop_params",
    "batched_resized_crop",
    "center_crop",
    "eval_transform",
    "fit_kmeans",
    "grayscale",
    "hflip",
    "lab_to_rgb",
    "nearest_centroid",
    "normalize",
    "random_resized_crop_params",
    "resize_short_side",
    "resized_crop",
    "rgb_to_lab",
    "sample_ab_pixels",
    "to_float",
    "train_transform",
]
