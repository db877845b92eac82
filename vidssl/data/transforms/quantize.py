"""k-means colour quantisation of Lab ab values (Vondrick et al., ECCV 2018; PAPERS.md §3.1), in torch.

Vondrick et al. quantise the ab channels into 16 clusters by k-means fit on ab values *sampled from training videos*
(the public re-implementation resizes 10k sampled frames to 32×32 first); the colorization target of each pixel is
its nearest centroid. ``fit_kmeans`` is plain Lloyd iterations with k-means++ seeding (Arthur & Vassilvitskii, SODA
2007), deterministic for a given generator, on whatever device the points are.

    quantizer = AbQuantizer.fit(sample_ab_pixels(frames, 20000, generator=g), k=16, generator=g)
    labels = quantizer.assign(rgb_to_lab(frames)[..., 1:, :, :])      # long [..., H, W] in [0, 16)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vidssl.data.transforms.lab import rgb_to_lab

__all__ = ["AbQuantizer", "fit_kmeans", "nearest_centroid", "sample_ab_pixels"]


def nearest_centroid(points: torch.Tensor, centroids: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Index of the nearest centroid (Euclidean) for each row of ``points`` ``[N, D]`` → long ``[N]``."""
    out = torch.empty(points.shape[0], dtype=torch.long, device=points.device)
    c = centroids.to(points)
    for s in range(0, points.shape[0], chunk):  # bounded memory for full-resolution frames
        out[s : s + chunk] = torch.cdist(points[s : s + chunk], c).argmin(dim=1)
    return out


def fit_kmeans(
    points: torch.Tensor, k: int, iters: int = 50, generator: torch.Generator | None = None, tol: float = 1e-6
) -> torch.Tensor:
    """k-means (Lloyd) with k-means++ seeding.

    Args:
        points: float ``[N, D]`` (N >= k).
        k: clusters.
        iters: maximum Lloyd iterations.
        generator: CPU ``torch.Generator`` for the seeding draws (reproducible on any device).
        tol: stop when no centroid moves more than this.

    Returns:
        float ``[k, D]`` centroids in seeding order, on ``points.device``.
    """
    x = points.float()
    n = x.shape[0]
    if n < k:
        raise ValueError(f"k-means needs at least k={k} points, got {n}")
    first = int(torch.randint(n, (1,), generator=generator))
    centroids = [x[first]]
    d2 = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        probs = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / n)
        nxt = int(torch.multinomial(probs.cpu(), 1, generator=generator))
        centroids.append(x[nxt])
        d2 = torch.minimum(d2, ((x - x[nxt]) ** 2).sum(1))
    c = torch.stack(centroids)
    for _ in range(iters):
        assign = nearest_centroid(x, c)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x).unsqueeze(1)
        new = torch.where(counts > 0, sums / counts.clamp_min(1), c)  # an empty cluster keeps its centroid
        moved = (new - c).norm(dim=1).max()
        c = new
        if moved <= tol:
            break
    return c


def sample_ab_pixels(
    frames: torch.Tensor, num: int, generator: torch.Generator | None = None, size: int | None = 32
) -> torch.Tensor:
    """Random ab values from frames, for fitting the quantiser.

    Args:
        frames: ``uint8 [N, 3, H, W]`` RGB (or float in [0, 1]).
        num: how many pixels to return (with replacement when fewer exist).
        generator: CPU generator.
        size: resize frames to ``size × size`` first (the reference fit uses 32×32, so that every frame counts
            alike, not every pixel); ``None`` keeps full resolution.

    Returns:
        float ``[num, 2]`` (a, b) values.
    """
    x = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
    if size is not None:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    ab = rgb_to_lab(x.clamp(0, 1))[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)
    idx = torch.randint(ab.shape[0], (num,), generator=generator).to(ab.device)
    return ab[idx]


@dataclass
class AbQuantizer:
    """Nearest-centroid quantiser of Lab ab values.

    Attributes:
        centroids: float ``[K, 2]`` (a, b) in OpenCV's float Lab convention.
    """

    centroids: torch.Tensor

    @classmethod
    def fit(
        cls, ab: torch.Tensor, k: int = 16, iters: int = 50, generator: torch.Generator | None = None
    ) -> AbQuantizer:
        """Fit ``k`` centroids on sampled ab values ``[N, 2]`` (see :func:`sample_ab_pixels`)."""
        return cls(fit_kmeans(ab, k, iters, generator).cpu())

    @property
    def num_colors(self) -> int:
        """K."""
        return int(self.centroids.shape[0])

    def assign(self, ab: torch.Tensor) -> torch.Tensor:
        """Quantise ``ab`` float ``[..., 2, H, W]`` → long ``[..., H, W]`` centroid indices (on ab's device)."""
        flat = ab.movedim(-3, -1).reshape(-1, 2).float()
        return nearest_centroid(flat, self.centroids.to(flat.device)).reshape(*ab.shape[:-3], *ab.shape[-2:])

    def decode(self, labels: torch.Tensor) -> torch.Tensor:
        """Centroid colours of ``labels`` long ``[..., H, W]`` → float ``[..., 2, H, W]``."""
        return self.centroids.to(labels.device)[labels].movedim(-1, -3)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the centroids as a ``[K, 2]`` float32 ``.npy`` (the format of the published centroid files)."""
        np.save(path, self.centroids.numpy().astype(np.float32))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AbQuantizer:
        """Read centroids from a ``[K, 2]`` ``.npy`` file."""
        arr = np.load(path, allow_pickle=False)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"{path}: expected [K, 2] ab centroids, got shape {arr.shape}")
        return cls(torch.from_numpy(arr.astype(np.float32)))
