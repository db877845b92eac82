"""Trajectories: wall bounces, the ten class-defining motions of the main object, distractors and the camera pan.

Coordinates are pixels with x to the right and y down; angles grow clockwise as seen on screen. A pixel (i, j) covers
``[j, j + 1) x [i, i + 1)``, so its centre is at ``(j + 0.5, i + 0.5)`` and the frame spans ``[0, W] x [0, H]``.

Motions are designed so that no single frame tells the class: class k and its time reversal (k ^ 1) have mirror
start-position distributions and the same speed and size ranges, and shapes, colours and textures are drawn
independently of the class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Track", "WallHit", "bounce_axis", "class_motion", "distractor_motion", "pan_offsets"]


@dataclass
class Track:
    """Where one object is in each frame.

    Attributes:
        centre: ``float64 [T, 2]`` (x, y) of the object centre in pixels.
        angle: ``float64 [T]`` orientation in radians, clockwise on screen.
        radius: ``float64 [T]`` size in pixels (the shape's unit length).
        radius_ref: radius at which the texture has its nominal period (textures scale with the object).
    """

    centre: np.ndarray
    angle: np.ndarray
    radius: np.ndarray
    radius_ref: float

    def frozen_at(self, frame: int) -> Track:
        """The same object held still at ``frame`` for every frame (the ``--static`` control)."""
        n = len(self.angle)
        return Track(
            centre=np.repeat(self.centre[frame : frame + 1], n, axis=0),
            angle=np.full(n, self.angle[frame]),
            radius=np.full(n, self.radius[frame]),
            radius_ref=self.radius_ref,
        )

    def speed(self) -> np.ndarray:
        """``float64 [T]`` pixels per frame moved by the object's rim (translation + spin + growth)."""
        step = np.diff(self.centre, axis=0, prepend=self.centre[:1])
        spin = np.abs(np.diff(self.angle, prepend=self.angle[:1])) * self.radius
        grow = np.abs(np.diff(self.radius, prepend=self.radius[:1]))
        out = np.hypot(step[:, 0], step[:, 1]) + spin + grow
        if len(out) > 1:
            out[0] = out[1]  # frame 0 has no predecessor: assume it moves like frame 1
        return out


@dataclass(frozen=True)
class WallHit:
    """A wall contact at continuous time ``time`` (in frames) against ``wall`` (left, right, top, bottom)."""

    time: float
    wall: str


def bounce_axis(p0: float, v: float, extent: np.ndarray, size: float, axis: str) -> tuple[np.ndarray, list[WallHit]]:
    """Move along one axis at constant speed, reflecting off the walls at 0 and ``size``.

    Args:
        p0: start coordinate (inside ``[extent[0], size - extent[0]]``).
        v: pixels per frame.
        extent: ``float [T]`` distance from the centre to the object's farthest point, per frame.
        size: frame width (x) or height (y).
        axis: ``"x"`` or ``"y"`` (names the walls).

    Returns:
        positions ``float64 [T]`` and the wall hits with the continuous time of contact.
    """
    lo_wall, hi_wall = ("left", "right") if axis == "x" else ("top", "bottom")
    pos = np.empty(len(extent))
    pos[0] = p = p0
    hits: list[WallHit] = []
    for t in range(1, len(extent)):
        lo, hi = extent[t], size - extent[t]
        q = p + v
        if q > hi and v > 0:
            hits.append(WallHit(t - 1 + float(np.clip((hi - p) / v, 0.0, 1.0)), hi_wall))
            q, v = 2 * hi - q, -v
        elif q < lo and v < 0:
            hits.append(WallHit(t - 1 + float(np.clip((lo - p) / v, 0.0, 1.0)), lo_wall))
            q, v = 2 * lo - q, -v
        pos[t] = p = float(np.clip(q, lo, hi))  # a growing object is pushed off the wall, no bounce
    return pos, hits


def _bounce_2d(
    rng: np.random.Generator, extent: np.ndarray, size: tuple[int, int], speed: float
) -> tuple[np.ndarray, list[WallHit]]:
    """Constant-speed motion in a uniformly random direction with wall bounces, from a random start."""
    heading = rng.uniform(0.0, 2 * np.pi)
    x0 = rng.uniform(extent[0], size[0] - extent[0])
    y0 = rng.uniform(extent[0], size[1] - extent[0])
    xs, hx = bounce_axis(x0, speed * np.cos(heading), extent, size[0], "x")
    ys, hy = bounce_axis(y0, speed * np.sin(heading), extent, size[1], "y")
    return np.stack([xs, ys], axis=1), hx + hy


def class_motion(
    rng: np.random.Generator, label: int, extent_unit: float, size: tuple[int, int], num_frames: int, scale: float
) -> tuple[Track, list[WallHit]]:
    """The main object's motion for action class ``label`` (see ``config.CLASSES``).

    Args:
        rng: the video's generator.
        label: class index 0..9.
        extent_unit: the shape's extent in radius units (``SHAPE_EXTENT``).
        size: ``(width, height)``.
        num_frames: T.
        scale: ``min(width, height) / 64``; sizes and speeds are tuned for 64x64.

    Returns:
        the track and its wall hits.
    """
    t = np.arange(num_frames, dtype=np.float64)
    w, h = size
    sign = 1.0 if label % 2 == 0 else -1.0  # even classes: right, down, grow, clockwise
    kind = label // 2
    small = rng.uniform(5.0, 6.0) * scale
    big = small * rng.uniform(1.5, 1.7)
    if kind == 2:  # grow / shrink: radius changes ~1.6x, linear in time
        radius = small + (big - small) * (t / (num_frames - 1) if sign > 0 else 1 - t / (num_frames - 1))
    else:  # one size drawn like a random frame of a grow video, so size alone does not point to grow/shrink
        radius = np.full(num_frames, small + (big - small) * rng.uniform())
    extent = radius * extent_unit
    angle = np.full(num_frames, rng.uniform(0.0, 2 * np.pi))
    hits: list[WallHit] = []
    if kind in (0, 1):  # directed drift along one axis, fast bounces along the other
        along = 0 if kind == 0 else 1
        length = size[along]
        travel = (length - 2 * extent[0]) * rng.uniform(0.45, 0.75)
        v = min(travel / (num_frames - 1), 1.5 * scale)
        travel = v * (num_frames - 1)
        start = rng.uniform(extent[0], length - extent[0] - travel)
        drift = start + v * t if sign > 0 else length - start - v * t  # mirror start distribution for the reverse
        other = 1 - along
        cross_v = rng.uniform(1.2, 2.4) * scale * rng.choice([-1.0, 1.0])
        p0 = rng.uniform(extent[0], size[other] - extent[0])
        cross, hits = bounce_axis(p0, cross_v, extent, size[other], "xy"[other])
        centre = np.stack([drift, cross] if along == 0 else [cross, drift], axis=1)
    elif kind in (2, 3):  # grow/shrink or spin, while bouncing around
        centre, hits = _bounce_2d(rng, extent, size, rng.uniform(0.8, 2.0) * scale)
        if kind == 3:
            angle = angle + sign * rng.uniform(0.10, 0.20) * t
    else:  # orbit a fixed point
        room = min(w, h) / 2 - extent[0] - 1.0
        rho = min(rng.uniform(8.0, 13.0) * scale, room)
        cx = rng.uniform(extent[0] + rho, w - extent[0] - rho)
        cy = rng.uniform(extent[0] + rho, h - extent[0] - rho)
        phi = rng.uniform(0.0, 2 * np.pi) + sign * rng.uniform(0.10, 0.18) * t
        centre = np.stack([cx + rho * np.cos(phi), cy + rho * np.sin(phi)], axis=1)
    ref = float(np.sqrt(radius[0] * radius[-1]))
    return Track(centre=centre, angle=angle, radius=radius, radius_ref=ref), hits


def distractor_motion(
    rng: np.random.Generator, extent_unit: float, size: tuple[int, int], num_frames: int, scale: float
) -> tuple[Track, list[WallHit]]:
    """A smaller object bouncing around at constant speed, independent of the class."""
    radius = np.full(num_frames, rng.uniform(3.5, 5.0) * scale)
    centre, hits = _bounce_2d(rng, radius * extent_unit, size, rng.uniform(0.5, 1.8) * scale)
    angle = np.full(num_frames, rng.uniform(0.0, 2 * np.pi))
    return Track(centre=centre, angle=angle, radius=radius, radius_ref=float(radius[0])), hits


def pan_offsets(rng: np.random.Generator, num_frames: int, scale: float) -> np.ndarray:
    """Camera pan: ``float64 [T, 2]`` world offset of the background, a slow drift in a random direction."""
    speed = rng.uniform(0.1, 0.35) * scale
    heading = rng.uniform(0.0, 2 * np.pi)
    start = rng.uniform(0.0, 256.0, size=2)
    steps = np.arange(num_frames, dtype=np.float64)[:, None]
    return start + steps * speed * np.array([np.cos(heading), np.sin(heading)])
