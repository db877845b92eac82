"""The colour palette of colorization pretraining: k-means on Lab ab of training frames (Vondrick et al., ECCV 2018).

PAPERS.md §3.1: targets are the ab channels quantised into 16 clusters by k-means fit on ab values sampled from
training videos (the public re-implementation fits on 10k sampled frames resized to 32×32), in OpenCV's *float* Lab
convention (L ∈ [0, 100], a, b ≈ [−128, 127]; :mod:`vidssl.data.transforms.lab`). Two details matter:

* the palette is fit at the resolution the targets live at. Targets are colours *at feature resolution*, so
  :func:`cell_ab` averages RGB over each ``stride × stride`` cell (area downsampling, as resizing the frame does)
  before converting to Lab, both for fitting and for the training targets;
* frames are sampled across many videos (a few per video), not full-resolution frames of a handful of videos,
  which would skew the palette (§3.1, "commonly gotten wrong").

Usage::

    palette = fit_palette(load_videos("corpus/manifest.csv", split="train"), num_colors=16, cell=4, size=64, crop=64)
    palette.save("palette.npy")                       # [16, 2] float32, the published centroid-file format
    python -m vidssl.tasks.color_palette corpus/manifest.csv palette.npy --cell 8 --videos 2000

The colorization task fits the palette in ``build_task`` (or loads ``task.palette``) and keeps it as a buffer, so
``checkpoint.pt["model"]`` carries it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vidssl.data.transforms.lab import rgb_to_lab
from vidssl.data.transforms.quantize import AbQuantizer
from vidssl.types import VideoMeta

__all__ = ["cell_ab", "fit_palette", "main", "sample_frames"]


def cell_ab(frames: torch.Tensor, cell: int) -> torch.Tensor:
    """Mean colour of every ``cell × cell`` block, as Lab ab.

    Args:
        frames: ``uint8 [..., 3, H, W]`` RGB (or float in [0, 1]); ``H`` and ``W`` multiples of ``cell``.
        cell: block side in pixels (the backbone's feature stride; 1 keeps full resolution).

    Returns:
        float32 ``[..., 2, H / cell, W / cell]`` (a, b) in OpenCV's float Lab convention.
    """
    x = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
    if x.shape[-1] % cell or x.shape[-2] % cell:
        raise ValueError(f"frame size {tuple(x.shape[-2:])} is not a multiple of the cell size {cell}")
    lead = x.shape[:-3]
    x = x.reshape(-1, *x.shape[-3:])
    if cell > 1:
        x = F.avg_pool2d(x, cell)  # area average in RGB, what resizing the frame to the feature grid does
    return rgb_to_lab(x)[:, 1:].reshape(*lead, 2, *x.shape[-2:])


def sample_frames(videos: Sequence[VideoMeta], frames_per_video: int, max_videos: int, seed: int = 0,
                  size: int = 0, crop: int = 0, backend: str = "auto") -> torch.Tensor:
    """Decode a few evenly spaced frames from a seeded random subset of ``videos``.

    Args:
        videos: candidate videos (the training split).
        frames_per_video: frames per chosen video (evenly spaced over its length).
        max_videos: how many videos to read (all when fewer).
        seed: choice of videos.
        size: resize the short side to this first (0 keeps the decoded size).
        crop: centre-crop a square of this side (0 = none; frames of different sizes cannot be stacked).
        backend: reader backend.

    Returns:
        ``uint8 [N, 3, H, W]``. Videos that fail to open are skipped (at least one must work).
    """
    from vidssl.data import open_video
    from vidssl.data.transforms.spatial import center_crop, resize_short_side

    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(videos))[:max_videos]
    out, errors = [], []
    for i in chosen:
        meta = videos[int(i)]
        try:
            reader = open_video(meta.path, backend=backend)
            try:
                n = reader.info.num_frames
                idx = np.unique(np.linspace(0, n - 1, frames_per_video).round().astype(np.int64))
                frames = reader.get_frames(idx).data
            finally:
                reader.close()
        except Exception as exc:  # a bad file must not stop the fit; it is reported if nothing works
            errors.append(f"{meta.path}: {exc}")
            continue
        if size:
            frames = resize_short_side(frames, size)
        if crop:
            frames = center_crop(frames, crop)
        out.append(frames)
    if not out:
        raise RuntimeError(f"no frames for the palette: every video failed ({'; '.join(errors[:3])})")
    return torch.cat(out)


def fit_palette(videos: Sequence[VideoMeta], *, num_colors: int = 16, cell: int = 8, frames_per_video: int = 4,
                max_videos: int = 500, num_pixels: int = 200_000, size: int = 0, crop: int = 0, seed: int = 0,
                backend: str = "auto") -> AbQuantizer:
    """k-means palette of cell-averaged ab values of sampled training frames.

    Args:
        videos: training videos.
        num_colors: K (Vondrick: 16).
        cell: averaging block (the feature stride the targets use).
        frames_per_video: frames read per video.
        max_videos: videos read (a seeded random subset).
        num_pixels: ab values drawn (with replacement) for k-means.
        size: short side after resizing (the training ``data.resize``; 0 = decoded size).
        crop: centre crop side (the training ``data.crop_size``; 0 = none).
        seed: video choice, pixel draws and k-means seeding.
        backend: reader backend.

    Returns:
        An :class:`AbQuantizer` with ``[K, 2]`` centroids.
    """
    frames = sample_frames(videos, frames_per_video, max_videos, seed=seed, size=size, crop=crop, backend=backend)
    h, w = (d // cell * cell for d in frames.shape[-2:])
    ab = cell_ab(frames[..., :h, :w], cell).permute(0, 2, 3, 1).reshape(-1, 2)
    gen = torch.Generator().manual_seed(seed)
    pixels = ab[torch.randint(ab.shape[0], (num_pixels,), generator=gen)]
    return AbQuantizer.fit(pixels, k=num_colors, generator=gen)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vidssl.tasks.color_palette MANIFEST OUT.npy``: fit a palette once for large corpora."""
    from vidssl.data.datasets.sources import load_videos

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("manifest")
    p.add_argument("out", help="output .npy ([K, 2] float32 ab centroids); pass it as task.palette")
    p.add_argument("--split", default="train")
    p.add_argument("--colors", type=int, default=16)
    p.add_argument("--cell", type=int, default=8, help="feature stride of the training targets")
    p.add_argument("--size", type=int, default=256, help="short side after resizing (training data.resize)")
    p.add_argument("--crop", type=int, default=256, help="centre crop (training data.crop_size)")
    p.add_argument("--videos", type=int, default=2500, help="videos read (frames-per-video each)")
    p.add_argument("--frames-per-video", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    palette = fit_palette(load_videos(a.manifest, split=a.split), num_colors=a.colors, cell=a.cell, size=a.size,
                          crop=a.crop, frames_per_video=a.frames_per_video, max_videos=a.videos, seed=a.seed)
    palette.save(a.out)
    print(f"{a.out}: {palette.num_colors} colours from {a.videos} videos (cell {a.cell}, size {a.size})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
