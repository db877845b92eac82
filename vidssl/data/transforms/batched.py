"""Batched augmentation of clips ``[B, T, C, H, W]`` on whatever device they are on (the GPU path).

Per-sample random parameters (one draw per clip: the same crop, flip and colour factors for all T frames of a clip,
different across the batch) are drawn on the CPU from an optional ``torch.Generator``, so results are reproducible
and identical on CPU and CUDA, then applied with a handful of vectorised kernels:

* crop + resize: ``torchvision.ops.roi_align`` with one box per frame (``aligned=True``; adaptive sampling averages
  ``ceil(box / output)`` samples per output pixel, so downscaling is antialiased much like area resampling);
* flip: ``torch.where`` between the image and its mirror;
* colour: :mod:`.color` with factor tensors ``[B]``, in the fixed order brightness → contrast → saturation → hue
  (torchvision draws a random order per call; a fixed order keeps the batch one kernel per operation);
* grayscale and normalisation.

    aug = BatchedAugment(size=112, scale=(0.2, 1.0)).to(device)   # nn.Module, no parameters
    x = aug(batch["frames"].to(device), generator=torch.Generator().manual_seed(step))   # float [B,T,3,112,112]
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.ops import roi_align

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

__all__ = ["BatchedAugment", "batched_crop_params", "batched_resized_crop"]


def batched_crop_params(
    batch: int,
    height: int,
    width: int,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
    attempts: int = 10,
) -> torch.Tensor:
    """Random-resized-crop boxes for ``batch`` samples (torchvision's algorithm, vectorised).

    Returns:
        float ``[B, 4]`` boxes ``(top, left, crop_height, crop_width)`` in pixels (CPU).
    """
    area = height * width
    target = area * torch.empty(batch, attempts).uniform_(scale[0], scale[1], generator=generator)
    log_r = torch.empty(batch, attempts).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    aspect = torch.exp(log_r)
    w = torch.sqrt(target * aspect).round()
    h = torch.sqrt(target / aspect).round()
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = torch.where(ok.any(1), ok.float().argmax(1), torch.zeros(batch, dtype=torch.long))
    pick = lambda t: t.gather(1, first[:, None]).squeeze(1)  # noqa: E731 (first valid attempt per sample)
    h, w = pick(h), pick(w)
    # fallback (no valid attempt): centre crop with the aspect ratio clamped into `ratio`
    in_ratio = width / height
    fb_w = width if in_ratio <= max(ratio) else round(height * max(ratio))
    fb_h = height if in_ratio >= min(ratio) else round(width / min(ratio))
    valid = ok.any(1)
    h = torch.where(valid, h, torch.tensor(float(fb_h)))
    w = torch.where(valid, w, torch.tensor(float(fb_w)))
    u = torch.rand(batch, 2, generator=generator)
    top = torch.where(valid, torch.floor(u[:, 0] * (height - h + 1)), torch.floor((height - h) / 2))
    left = torch.where(valid, torch.floor(u[:, 1] * (width - w + 1)), torch.floor((width - w) / 2))
    return torch.stack([top, left, h, w], dim=1)


def batched_resized_crop(
    x: torch.Tensor, boxes: torch.Tensor, size: int | tuple[int, int], flip: torch.Tensor | None = None
) -> torch.Tensor:
    """Crop each clip's box and resize to ``size``; optionally mirror some clips.

    Args:
        x: ``[B, T, C, H, W]`` (uint8 is converted to float in [0, 1]).
        boxes: ``[B, 4]`` ``(top, left, height, width)`` pixels, one box per clip.
        size: output ``(h, w)`` or side.
        flip: bool ``[B]``, mirror those clips.

    Returns:
        float ``[B, T, C, h, w]``.
    """
    oh, ow = (size, size) if isinstance(size, int) else size
    b, t, c, h, w = x.shape
    xf = to_float(x).reshape(b * t, c, h, w)
    bx = boxes.to(device=x.device, dtype=xf.dtype).repeat_interleave(t, dim=0)
    rois = torch.stack(
        [torch.arange(b * t, device=x.device, dtype=xf.dtype), bx[:, 1], bx[:, 0], bx[:, 1] + bx[:, 3],
         bx[:, 0] + bx[:, 2]], dim=1,
    )  # (frame, x0, y0, x1, y1) with pixel edges as coordinates
    out = roi_align(xf, rois, output_size=(oh, ow), spatial_scale=1.0, sampling_ratio=-1, aligned=True)
    out = out.reshape(b, t, c, oh, ow)
    if flip is not None:
        out = torch.where(flip.to(x.device).view(b, 1, 1, 1, 1), out.flip(-1), out)
    return out


class BatchedAugment(nn.Module):
    """Random resized crop, flip, colour jitter, grayscale and normalisation for a batch of clips.

    Args:
        size: output side (or ``(h, w)``).
        scale: crop area fraction range.
        ratio: crop aspect ratio range.
        flip_p: probability of mirroring a clip.
        brightness: jitter strength (factor in ``[1 - v, 1 + v]``).
        contrast: jitter strength.
        saturation: jitter strength.
        hue: hue shift range ``[-v, v]`` turns.
        jitter_p: probability a clip is colour-jittered at all.
        gray_p: probability a clip is turned to grayscale.
        mean: normalisation mean (``None`` skips normalisation; output stays in [0, 1]).
        std: normalisation std.
    """

    def __init__(
        self,
        size: int | tuple[int, int],
        *,
        scale: tuple[float, float] = (0.2, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip_p: float = 0.5,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.1,
        jitter_p: float = 0.8,
        gray_p: float = 0.2,
        mean: tuple[float, ...] | None = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.size, self.scale, self.ratio = size, scale, ratio
        self.flip_p, self.jitter_p, self.gray_p = flip_p, jitter_p, gray_p
        self.strength = (brightness, contrast, saturation, hue)
        self.mean, self.std = mean, std

    def draw(self, batch: int, height: int, width: int, generator: torch.Generator | None = None) -> dict:
        """Draw every per-clip parameter (CPU tensors): boxes, flip, jitter factors, grayscale mask."""
        g = generator
        boxes = batched_crop_params(batch, height, width, self.scale, self.ratio, g)
        flip = torch.rand(batch, generator=g) < self.flip_p
        jitter = torch.rand(batch, generator=g) < self.jitter_p
        br, co, sa, hu = self.strength
        factors = []
        for v in (br, co, sa):
            f = torch.empty(batch).uniform_(max(0.0, 1 - v), 1 + v, generator=g)
            factors.append(torch.where(jitter, f, torch.ones(batch)))
        h = torch.empty(batch).uniform_(-hu, hu, generator=g) if hu > 0 else torch.zeros(batch)
        factors.append(torch.where(jitter, h, torch.zeros(batch)))
        gray = torch.rand(batch, generator=g) < self.gray_p
        return {"boxes": boxes, "flip": flip, "factors": factors, "gray": gray}

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, params: dict | None = None
                ) -> torch.Tensor:
        """Augment ``x`` ``[B, T, C, H, W]`` (uint8 or float in [0, 1]) → float ``[B, T, C, size, size]``."""
        if x.ndim != 5:
            raise ValueError(f"expected clips [B, T, C, H, W], got shape {tuple(x.shape)}")
        p = params or self.draw(x.shape[0], x.shape[-2], x.shape[-1], generator)
        out = batched_resized_crop(x, p["boxes"], self.size, p["flip"])
        br, co, sa, hu = p["factors"]
        if self.strength[0] > 0:
            out = adjust_brightness(out, br)
        if self.strength[1] > 0:
            out = adjust_contrast(out, co)
        if self.strength[2] > 0:
            out = adjust_saturation(out, sa)
        if self.strength[3] > 0:
            out = adjust_hue(out, hu)
        if self.gray_p > 0:
            out = torch.where(p["gray"].to(out.device).view(-1, 1, 1, 1, 1), grayscale(out), out)
        if self.mean is not None:
            out = normalize(out, self.mean, self.std)
        return out
