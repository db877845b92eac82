"""Random clip transforms with one draw per clip or tuple (consistent augmentation, PAPERS.md §5.8).

Each transform is called as ``t(frames, rng)`` where ``frames`` is a clip ``uint8 [T, C, H, W]`` (any leading
dims) or a tuple/list of clips (a Shuffle and Learn triplet, VCOP's clips, colorization references + target), and
``rng`` is the example's ``np.random.Generator`` (``make_example`` receives it). Parameters are drawn once and
applied to every frame of every clip in the call, so frames of one example are cropped, flipped and jittered
alike; call the transform once per clip instead when clips must differ (VCOP crops each clip independently but
consistently within it). Outputs keep the input dtype except :class:`Normalize` (float32).

    aug = Compose([RandomResizedCrop(112, scale=(0.3, 1.0)), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4, 0.1)])
    triplet = aug((f1, f2, f3), rng)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

from vidssl.data.transforms.color import IMAGENET_MEAN, IMAGENET_STD, normalize
from vidssl.data.transforms.spatial import (
    center_crop,
    hflip,
    random_resized_crop_params,
    resize_short_side,
    resized_crop,
)

__all__ = [
    "CenterCrop",
    "ClipTransform",
    "ColorJitter",
    "Compose",
    "Normalize",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "eval_transform",
    "train_transform",
]

Frames = TypeVar("Frames", torch.Tensor, Sequence[torch.Tensor])


class ClipTransform(Protocol):
    """``t(frames, rng) -> frames`` with one random draw for everything in ``frames``."""

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Transform a clip or a tuple of clips."""
        ...


def _map(frames: Frames, fn: Callable[[torch.Tensor], torch.Tensor]) -> Frames:
    if torch.is_tensor(frames):
        return fn(frames)
    return type(frames)(fn(f) for f in frames)  # tuple or list, same type back


def _hw(frames: Frames) -> tuple[int, int]:
    first = frames if torch.is_tensor(frames) else frames[0]
    return int(first.shape[-2]), int(first.shape[-1])


@dataclass(frozen=True)
class Compose:
    """Apply transforms in order, all drawing from the same generator."""

    transforms: Sequence[ClipTransform]

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Run every transform."""
        for t in self.transforms:
            frames = t(frames, rng)
        return frames


@dataclass(frozen=True)
class RandomResizedCrop:
    """One random crop box (area ``scale``, aspect ``ratio``) resized to ``size`` for every frame."""

    size: int | tuple[int, int]
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Crop and resize."""
        box = random_resized_crop_params(rng, *_hw(frames), self.scale, self.ratio)
        return _map(frames, lambda f: resized_crop(f, *box, self.size))


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """Mirror every frame with probability ``p`` (one coin per call)."""

    p: float = 0.5

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Maybe flip."""
        return _map(frames, hflip) if rng.random() < self.p else frames


@dataclass(frozen=True)
class ColorJitter:
    """torchvision-style colour jitter with one set of factors (and one random order) per call.

    Brightness, contrast and saturation factors are uniform in ``[max(0, 1 - v), 1 + v]``, hue in ``[-v, v]``
    (``v <= 0.5``); the four operations run in a random order, as in ``torchvision.transforms.ColorJitter``.
    ``p`` is the probability of jittering at all (SimCLR/CVRL apply jitter with p = 0.8).
    """

    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    p: float = 1.0

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Maybe jitter."""
        if rng.random() >= self.p:
            return frames
        ops = []
        for value, fn in ((self.brightness, TF.adjust_brightness), (self.contrast, TF.adjust_contrast),
                          (self.saturation, TF.adjust_saturation)):
            if value > 0:
                ops.append((fn, float(rng.uniform(max(0.0, 1 - value), 1 + value))))
        if self.hue > 0:
            ops.append((TF.adjust_hue, float(rng.uniform(-self.hue, self.hue))))
        order = rng.permutation(len(ops))

        def jitter(f: torch.Tensor) -> torch.Tensor:
            for k in order:
                fn, factor = ops[k]
                f = fn(f, factor)
            return f

        return _map(frames, jitter)


@dataclass(frozen=True)
class RandomGrayscale:
    """Replace colour by luma (kept 3-channel) with probability ``p``."""

    p: float = 0.2

    def __call__(self, frames: Frames, rng: np.random.Generator) -> Frames:
        """Maybe drop colour."""
        if rng.random() >= self.p:
            return frames
        return _map(frames, lambda f: TF.rgb_to_grayscale(f, num_output_channels=3))


@dataclass(frozen=True)
class Resize:
    """Scale the short side to ``size`` (deterministic)."""

    size: int

    def __call__(self, frames: Frames, rng: np.random.Generator | None = None) -> Frames:
        """Resize."""
        return _map(frames, lambda f: resize_short_side(f, self.size))


@dataclass(frozen=True)
class CenterCrop:
    """Central crop (deterministic)."""

    size: int | tuple[int, int]

    def __call__(self, frames: Frames, rng: np.random.Generator | None = None) -> Frames:
        """Crop."""
        return _map(frames, lambda f: center_crop(f, self.size))


@dataclass(frozen=True)
class Normalize:
    """uint8 → float32, ``(x / 255 - mean) / std`` per channel. Usually done on the GPU in the task instead."""

    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def __call__(self, frames: Frames, rng: np.random.Generator | None = None) -> Frames:
        """Normalise."""
        return _map(frames, lambda f: normalize(f, self.mean, self.std))


def train_transform(
    size: int, scale: tuple[float, float] = (0.2, 1.0), jitter: float = 0.4, hue: float = 0.1, gray_p: float = 0.2
) -> Compose:
    """A common training pipeline: random resized crop, flip, colour jitter (p 0.8), random grayscale (uint8 out)."""
    return Compose([
        RandomResizedCrop(size, scale),
        RandomHorizontalFlip(),
        ColorJitter(jitter, jitter, jitter, hue, p=0.8),
        RandomGrayscale(gray_p),
    ])


def eval_transform(size: int, resize: int | None = None) -> Compose:
    """Evaluation pipeline: short side to ``resize`` (default ``size * 8 / 7``, the 112/128 convention), centre crop."""
    return Compose([Resize(resize or round(size * 8 / 7)), CenterCrop(size)])
