"""Isoluminant hues: surfaces are painted in CIE L*a*b* with a lightness pattern and one hue per surface.

Why: the colorization task (Vondrick et al. 2018, PAPERS.md §3.1) sees only the lightness L* and predicts the ab
channels. If gray level predicted colour the net could colour pixels without finding their match in a reference
frame. So every hue here has the same chroma ``CHROMA`` and exactly the lightness asked for: at any L* all eight hues
are equally light, and a surface's hue can only be copied from where the same surface is seen in colour.

Lightness uses the sRGB / D65 definitions (what ``cv2.cvtColor(rgb_float, COLOR_RGB2LAB)`` computes on float
images in [0, 1]). Video luma (BT.601 Y') is not L*: hues differ there by up to ~3 % of full range, much less than
the random per-surface lightness spread (a 38-unit L* range), so luma does not identify hues either.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "CHROMA",
    "HUES",
    "L_GRID",
    "L_MAX",
    "L_MIN",
    "MARKER_L",
    "NEUTRAL",
    "OUTLINE_L",
    "colour_lut",
    "lab_to_srgb",
    "paint",
    "rgb_to_yuv420p",
    "srgb_to_lab",
]

# Hue name -> angle of (a*, b*) in degrees. Eight hues 45 degrees apart: visibly distinct at 64x64.
HUES: tuple[tuple[str, float], ...] = (
    ("pink", 0.0),
    ("orange", 45.0),
    ("yellow", 90.0),
    ("green", 135.0),
    ("teal", 180.0),
    ("sky", 225.0),
    ("blue", 270.0),
    ("purple", 315.0),
)
NEUTRAL = len(HUES)  # extra LUT row: gray (chroma 0), used for object outlines
CHROMA = 26.0  # the largest chroma at which every hue is inside sRGB for L* in [L_MIN, L_MAX]
L_MIN, L_MAX = 42.0, 80.0  # lightness range of textured surfaces
OUTLINE_L = 28.0  # dark neutral outline: objects stand out in gray frames without revealing their hue
MARKER_L = 20.0  # the main object's orientation dot: darkest neutral
L_STEP = 0.25
L_GRID = np.arange(20.0, 90.0 + L_STEP / 2, L_STEP)  # LUT lightness levels

_M_XYZ_TO_RGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) to gamma-encoded sRGB in [0, 1] (not clipped, so gamut checks can see overflow).

    Args:
        lab: ``float [..., 3]`` with L* in [0, 100].

    Returns:
        ``float64 [..., 3]`` sRGB.
    """
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f**3, 3 * delta**2 * (f - 4.0 / 29.0)) * _WHITE_D65
    lin = xyz @ _M_XYZ_TO_RGB.T
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.abs(lin) ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Gamma-encoded sRGB in [0, 1] to CIE L*a*b* (D65); the inverse of :func:`lab_to_srgb`.

    Args:
        rgb: ``float [..., 3]``.

    Returns:
        ``float64 [..., 3]``.
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.linalg.inv(_M_XYZ_TO_RGB).T / _WHITE_D65
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


@functools.lru_cache(maxsize=1)
def colour_lut() -> np.ndarray:
    """RGB of every (hue, lightness level): ``uint8 [len(HUES) + 1, len(L_GRID), 3]``; the last row is neutral gray."""
    angles = np.radians([angle for _, angle in HUES])
    a = np.append(CHROMA * np.cos(angles), 0.0)
    b = np.append(CHROMA * np.sin(angles), 0.0)
    lab = np.stack(np.broadcast_arrays(L_GRID[None, :], a[:, None], b[:, None]), axis=-1)
    rgb = np.clip(lab_to_srgb(lab), 0.0, 1.0)
    lut = np.round(rgb * 255.0).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def paint(lightness: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """RGB pixels for per-pixel lightness and hue index.

    Args:
        lightness: ``float [...]`` L* values (clipped to the LUT range).
        hue: ``int [...]`` indices into :data:`HUES` (or :data:`NEUTRAL`), same shape.

    Returns:
        ``uint8 [..., 3]``.
    """
    level = np.clip(np.rint((lightness - L_GRID[0]) / L_STEP), 0, len(L_GRID) - 1).astype(np.intp)
    return colour_lut()[hue, level]


def rgb_to_yuv420p(frames: np.ndarray) -> np.ndarray:
    """BT.601 limited-range YUV 4:2:0 planes, chroma averaged over 2x2 blocks.

    Done here rather than by the encoder's scaler so the written planes are exactly defined (and the stream is
    tagged BT.601 / limited range to match, which is what decoders assume for untagged SD video as well).

    Args:
        frames: ``uint8 [T, H, W, 3]`` RGB, H and W even.

    Returns:
        ``uint8 [T, H * 3 // 2, W]``: per frame the Y plane, then U (H/2 x W/2) and V packed row-wise, the layout
        ``av.VideoFrame.from_ndarray(..., format="yuv420p")`` expects.
    """
    t, h, w, _ = frames.shape
    rgb = frames.astype(np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = (b - y) / 1.772
    cr = (r - y) / 1.402
    cb = cb.reshape(t, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    cr = cr.reshape(t, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    out = np.empty((t, h * 3 // 2, w), dtype=np.uint8)
    out[:, :h] = np.clip(np.rint(16.0 + 219.0 * y), 0, 255)
    out[:, h : h + h // 4] = np.clip(np.rint(128.0 + 224.0 * cb), 0, 255).reshape(t, h // 4, w)
    out[:, h + h // 4 :] = np.clip(np.rint(128.0 + 224.0 * cr), 0, 255).reshape(t, h // 4, w)
    return out
