"""Trajectories: wall bounces, the ten class-defining motions of the main object, distractors and the camera pan.

Coordinates are pixels with x to the right and y down; angles grow clockwise as seen on screen. A pixel (i, j) covers
``[j, j + 1) x [i, i + 1)``, so its centre is at ``(j + 0.5, i + 0.5)`` and the frame spans ``[0, W] x [0, H]``.

Motions are designed so that no single frame tells the class: class k and its time reversal (k ^ 1) have mirror
start-position distributions and the same speed and size ranges, and shapes, colours and textures are drawn
independently of the class. Spins and orbits turn through bounded arcs that never cross "straight down" (see
:func:`sweep`), so their direction is readable from per-frame features, and the main object is larger and its
class-defining motion much larger than anything else that moves (distractors, cross-axis wobble, camera pan).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Track", "WallHit", "bounce_axis", "class_motion", "distractor_motion", "pan_offsets", "sweep"]

# Sizes (px) and speeds (px/frame) at 64x64; everything scales with ``SynthConfig.scale``.
MAIN_RADIUS = (7.5, 8.5)  # smallest size of the main object; others are a random frame of a grow video
GROWTH = (1.6, 1.7)  # grow/shrink: largest / smallest radius
DISTRACTOR_RADIUS = (2.5, 4.0)  # always smaller than the main object, so the main object is the salient one
DISTRACTOR_SPEED = (0.6, 1.6)
DRIFT_FRACTION = (0.75, 0.95)  # move classes: share of the free width (or height) crossed over the clip
MAX_DRIFT = 1.5
EDGE_MARGIN = 0.4  # move and orbit classes: centre stays >= 0.4 extents inside (>= ~75 % of the object visible)
CROSS_SPEED = (0.0, 0.3)  # move classes: slow wobble across the drift
SLOW_SPEED = (0.15, 0.4)  # grow/shrink and spin classes: slow bouncing drift
SPIN_TOTAL = (np.radians(210.0), np.radians(260.0))  # spin classes: total turn over the clip
ORBIT_TOTAL = (np.radians(190.0), np.radians(230.0))  # orbit classes: arc travelled over the clip
ORBIT_RADIUS = (12.0, 16.0)
PAN_SPEED = (0.03, 0.12)  # camera pan: slow against every object
DOWN = np.pi / 2  # screen angle of "straight down" (y grows downwards, angles clockwise)
FORBIDDEN_HALF = np.radians(15.0)  # spin and orbit arcs keep this far from straight down


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


def sweep(rng: np.random.Generator, span: tuple[float, float], sign: float, num_frames: int) -> np.ndarray:
    """An angle that turns at constant rate through an arc that never crosses straight down.

    The arc ``[lo, lo + S]`` (``S`` drawn from ``span``, in radians over the whole clip) lies inside
    ``(down + FORBIDDEN_HALF, down + 2 pi - FORBIDDEN_HALF)``, so along every video the angle is a bounded, monotone
    coordinate: a model that reads one angle per frame can tell clockwise from counter-clockwise by a linear
    comparison of frames (with a uniformly random start angle that is impossible: the phase wraps around). Both
    directions draw the same arcs (``sign < 0`` runs it backwards), so one frame does not tell the direction.

    Args:
        rng: the video's generator.
        span: range of the total turn ``S`` in radians.
        sign: +1 clockwise on screen, -1 counter-clockwise.
        num_frames: T.

    Returns:
        ``float64 [T]`` angles in radians (clockwise on screen, 0 = pointing right).
    """
    total = rng.uniform(*span)
    room = 2 * np.pi - 2 * FORBIDDEN_HALF - total
    lo = DOWN + FORBIDDEN_HALF + rng.uniform(0.0, max(room, 0.0))
    frac = np.linspace(0.0, 1.0, num_frames)
    return lo + total * (frac if sign > 0 else 1.0 - frac)


def class_motion(
    rng: np.random.Generator, label: int, extent_unit: float, size: tuple[int, int], num_frames: int, scale: float
) -> tuple[Track, list[WallHit]]:
    """The main object's motion for action class ``label`` (see ``config.CLASSES``).

    Tuned so that a small per-frame CNN can learn the classes from a 29-frame window: the main object is large
    (radius 7.5-14.5 px at 64x64, distractors at most 4), the class-defining change is large over the clip (a drift
    of 75-95 % of the free width, a 1.6-1.7x growth, a 210-260 degree turn, a 190-230 degree arc), and everything
    else the main object does is slow (0.3 px/frame or less of cross-axis wobble for moves, at most 0.4 px/frame of
    bouncing for grow/shrink and spin).

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
    sign = 1.0 if label % 2 == 0 else -1.0  # even classes: right, down, grow, clockwise
    kind = label // 2
    small = rng.uniform(*MAIN_RADIUS) * scale
    big = small * rng.uniform(*GROWTH)
    if kind == 2:  # grow / shrink: radius changes ~1.65x, linear in time
        radius = small + (big - small) * (t / (num_frames - 1) if sign > 0 else 1 - t / (num_frames - 1))
    else:  # one size drawn like a random frame of a grow video, so size alone does not point to grow/shrink
        radius = np.full(num_frames, small + (big - small) * rng.uniform())
    extent = radius * extent_unit
    # Orientation (where the main object's marker points): a random point of a spin arc, so one frame of a spinning
    # object looks like one frame of any other class.
    angle = np.full(num_frames, sweep(rng, SPIN_TOTAL, 1.0, num_frames)[int(rng.integers(num_frames))])
    hits: list[WallHit] = []
    if kind in (0, 1):  # directed drift along one axis, slow wobble along the other
        along = 0 if kind == 0 else 1
        length = size[along]
        margin = EDGE_MARGIN * extent[0]  # may leave the frame a little at the ends of its path
        travel = (length - 2 * margin) * rng.uniform(*DRIFT_FRACTION)
        v = min(travel / (num_frames - 1), MAX_DRIFT * scale)
        travel = v * (num_frames - 1)
        start = rng.uniform(margin, length - margin - travel)
        drift = start + v * t if sign > 0 else length - start - v * t  # mirror start distribution for the reverse
        other = 1 - along
        cross_v = rng.uniform(*CROSS_SPEED) * scale * rng.choice([-1.0, 1.0])
        p0 = rng.uniform(extent[0], size[other] - extent[0])
        cross, hits = bounce_axis(p0, cross_v, extent, size[other], "xy"[other])
        centre = np.stack([drift, cross] if along == 0 else [cross, drift], axis=1)
    elif kind in (2, 3):  # grow/shrink or spin, while drifting slowly (bouncing off walls)
        centre, hits = _bounce_2d(rng, extent, size, rng.uniform(*SLOW_SPEED) * scale)
        if kind == 3:
            angle = sweep(rng, SPIN_TOTAL, sign, num_frames)
    else:  # travel along a circular arc (over the top) around a fixed point
        rho = rng.uniform(*ORBIT_RADIUS) * scale
        phi = sweep(rng, ORBIT_TOTAL, sign, num_frames)
        offset = rho * np.stack([np.cos(phi), np.sin(phi)], axis=1)
        margin = EDGE_MARGIN * extent[0]
        lo = margin - offset.min(axis=0)
        hi = np.array(size, dtype=np.float64) - margin - offset.max(axis=0)
        centre = rng.uniform(lo, np.maximum(hi, lo)) + offset
    ref = float(np.sqrt(radius[0] * radius[-1]))
    return Track(centre=centre, angle=angle, radius=radius, radius_ref=ref), hits


def distractor_motion(
    rng: np.random.Generator, extent_unit: float, size: tuple[int, int], num_frames: int, scale: float
) -> tuple[Track, list[WallHit]]:
    """A smaller object bouncing around at constant speed, independent of the class."""
    radius = np.full(num_frames, rng.uniform(*DISTRACTOR_RADIUS) * scale)
    centre, hits = _bounce_2d(rng, radius * extent_unit, size, rng.uniform(*DISTRACTOR_SPEED) * scale)
    angle = np.full(num_frames, rng.uniform(0.0, 2 * np.pi))
    return Track(centre=centre, angle=angle, radius=radius, radius_ref=float(radius[0])), hits


def pan_offsets(rng: np.random.Generator, num_frames: int, scale: float) -> np.ndarray:
    """Camera pan: ``float64 [T, 2]`` world offset of the background, a slow drift in a random direction."""
    speed = rng.uniform(*PAN_SPEED) * scale
    heading = rng.uniform(0.0, 2 * np.pi)
    start = rng.uniform(0.0, 256.0, size=2)
    steps = np.arange(num_frames, dtype=np.float64)[:, None]
    return start + steps * speed * np.array([np.cos(heading), np.sin(heading)])
