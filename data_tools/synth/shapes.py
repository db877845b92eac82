"""Shapes and textures, as vectorised functions of continuous coordinates.

Shapes live in unit coordinates (``u, v`` scaled by the object's radius; the shape's farthest point is at
``SHAPE_EXTENT[shape]``), so one test rasterises any rotation and scale over a whole ``[T, H, W]`` block.
Textures are lightness patterns in [0, 1] of pixel-unit coordinates; the same bank paints objects (in their own
rotating, scaling frame) and the background (in world coordinates, panned by the camera), so texture alone does not
say what is object and what is background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MARKER_CENTRE",
    "MARKER_RADIUS",
    "SHAPES",
    "SHAPE_EXTENT",
    "TEXTURES",
    "TextureSpec",
    "marker_mask",
    "sample_texture",
    "shape_mask",
    "texture_value",
]

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ellipse")
TEXTURES: tuple[str, ...] = ("stripes", "checker", "dots", "rings", "waves", "noise")

# Distance from the centre to the farthest point of the shape, in units of the radius (used for wall contact).
SHAPE_EXTENT: dict[str, float] = {
    "circle": 1.0,
    "square": 0.8 * np.sqrt(2.0),
    "triangle": 1.2,
    "star": 1.2,
    "cross": float(np.hypot(1.0, 0.36)),
    "ellipse": 1.0,
}


def _regular(n: int, radius: float, start_deg: float) -> np.ndarray:
    ang = np.radians(start_deg + 360.0 * np.arange(n) / n)
    return np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1)


def _star(points: int, outer: float, inner: float) -> np.ndarray:
    ang = np.radians(180.0 * np.arange(2 * points) / points)  # first point along +u
    rad = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


_POLYGONS: dict[str, np.ndarray] = {
    "triangle": _regular(3, 1.2, 0.0),  # apex along +u (the marker side)
    "star": _star(5, 1.2, 0.52),
}


def _inside_polygon(u: np.ndarray, v: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Even-odd crossing test of points against a closed polygon (vectorised over points)."""
    inside = np.zeros(np.broadcast(u, v).shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(verts, np.roll(verts, -1, axis=0)):
        if y0 == y1:
            continue
        crosses = (v >= min(y0, y1)) & (v < max(y0, y1))
        x_at = x0 + (v - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (u < x_at)
    return inside


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether unit-coordinate points lie inside ``shape``.

    Args:
        shape: one of :data:`SHAPES`.
        u: ``float [...]`` horizontal coordinate in object units (radius = 1), after undoing rotation.
        v: ``float [...]`` vertical coordinate (pointing down), same shape.

    Returns:
        ``bool [...]``.
    """
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "ellipse":
        return u * u + (v / 0.55) ** 2 <= 1.0
    if shape == "square":
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 1.0) & (av <= 0.36)) | ((av <= 1.0) & (au <= 0.36))
    if shape in _POLYGONS:
        return _inside_polygon(u, v, _POLYGONS[shape])
    raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")


# The main object's orientation marker: a dark dot on its +u axis, so its spin is visible whatever its shape (a
# circle, a square or a cross look the same after some turns; the dot does not). Unit coordinates like the shapes.
MARKER_CENTRE = 0.5
MARKER_RADIUS = 0.28


def marker_mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether unit-coordinate points lie on the orientation marker (intersect with :func:`shape_mask`).

    Args:
        u: ``float [...]`` coordinate along the object's heading, in radius units.
        v: ``float [...]`` coordinate across it, same shape.

    Returns:
        ``bool [...]``.
    """
    return (u - MARKER_CENTRE) ** 2 + v * v <= MARKER_RADIUS**2


@dataclass(frozen=True)
class TextureSpec:
    """One texture of the bank with its parameters.

    Attributes:
        kind: one of :data:`TEXTURES`.
        period: pattern period in pixels (at the object's reference size).
        angle: pattern orientation in radians.
        phase: ``(x, y)`` offset in pixels, so patterns do not all align with the object centre.
        noise_seed: seed of the value-noise lattice (``noise`` only).
    """

    kind: str
    period: float
    angle: float
    phase: tuple[float, float]
    noise_seed: int = 0


def sample_texture(rng: np.random.Generator, period_range: tuple[float, float]) -> TextureSpec:
    """Draw a texture kind and its parameters."""
    return TextureSpec(
        kind=str(rng.choice(TEXTURES)),
        period=float(rng.uniform(*period_range)),
        angle=float(rng.uniform(0.0, np.pi)),
        phase=(float(rng.uniform(0, 64)), float(rng.uniform(0, 64))),
        noise_seed=int(rng.integers(2**31)),
    )


_NOISE_CELLS = 16  # value-noise lattice is periodic with this many cells, so any coordinate is defined


def _value_noise(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    lattice = np.random.default_rng(seed).random((_NOISE_CELLS, _NOISE_CELLS))
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)  # smoothstep: no visible lattice creases
    ix, iy = x0.astype(np.int64) % _NOISE_CELLS, y0.astype(np.int64) % _NOISE_CELLS
    jx, jy = (ix + 1) % _NOISE_CELLS, (iy + 1) % _NOISE_CELLS
    top = lattice[iy, ix] * (1 - fx) + lattice[iy, jx] * fx
    bottom = lattice[jy, ix] * (1 - fx) + lattice[jy, jx] * fx
    value = top * (1 - fy) + bottom * fy
    return np.clip((value - 0.5) * 2.2 + 0.5, 0.0, 1.0)  # stretch: raw value noise is low-contrast


def texture_value(spec: TextureSpec, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Evaluate a texture at pixel-unit coordinates.

    Args:
        spec: the texture.
        x: ``float [...]`` horizontal coordinates in pixels.
        y: ``float [...]`` vertical coordinates, same shape.

    Returns:
        ``float [...]`` lightness pattern in [0, 1].
    """
    c, s = np.cos(spec.angle), np.sin(spec.angle)
    xr = (c * x + s * y) / spec.period + spec.phase[0] / spec.period
    yr = (-s * x + c * y) / spec.period + spec.phase[1] / spec.period
    if spec.kind == "stripes":
        return (xr - np.floor(xr) < 0.5).astype(np.float32)
    if spec.kind == "checker":
        return ((np.floor(xr) + np.floor(yr)) % 2).astype(np.float32)
    if spec.kind == "dots":
        dx, dy = xr - np.floor(xr) - 0.5, yr - np.floor(yr) - 0.5
        return (dx * dx + dy * dy < 0.09).astype(np.float32)
    if spec.kind == "rings":
        r = np.hypot(x, y) / spec.period + spec.phase[0] / spec.period
        return (r - np.floor(r) < 0.5).astype(np.float32)
    if spec.kind == "waves":
        return (0.5 + 0.5 * np.sin(2 * np.pi * xr) * np.cos(2 * np.pi * yr)).astype(np.float32)
    if spec.kind == "noise":
        return _value_noise(xr, yr, spec.noise_seed).astype(np.float32)
    raise ValueError(f"unknown texture {spec.kind!r}; choose from {TEXTURES}")
