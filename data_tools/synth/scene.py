"""Plan one video: its label, objects (shape, hue, texture, sound), their tracks, impacts and the camera pan.

Planning draws every random number of a video and renders no pixel, so it is cheap: the audio of another video (the
``--mismatched-audio`` control) is made by planning that video again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_tools.synth.audio import SoundSpec, sound_for
from data_tools.synth.colour import HUES, L_MAX, L_MIN
from data_tools.synth.config import CLASSES, STREAM_LABEL, STREAM_SCENE, SynthConfig, rng_for
from data_tools.synth.motion import Track, WallHit, class_motion, distractor_motion, pan_offsets
from data_tools.synth.shapes import SHAPE_EXTENT, SHAPES, TextureSpec, sample_texture, shape_mask

__all__ = ["Impact", "ObjectSpec", "Scene", "label_for", "plan_scene"]

MIN_VISIBLE_AT_START = 0.5  # every object shows at least half of itself in frame 0 (DAVIS: objects defined there)
MAX_PLACEMENT_TRIES = 20
# L* contrast of the background pattern: lower than the objects' (14-24), so objects stand out in the same textures.
BACKGROUND_CONTRAST = (5.0, 9.0)


@dataclass(frozen=True)
class ObjectSpec:
    """One object's identity and look.

    Attributes:
        object_id: its index in the masks (1 = the main object, 2.. distractors; 0 is background).
        role: ``"main"`` or ``"distractor"``.
        shape: one of ``shapes.SHAPES``.
        hue: index into ``colour.HUES``.
        texture: lightness pattern.
        lightness: L* of the pattern's 0 and 1.
        depth: paint order, higher is nearer (occludes lower).
        sound: what it sounds like.
    """

    object_id: int
    role: str
    shape: str
    hue: int
    texture: TextureSpec
    lightness: tuple[float, float]
    depth: int
    sound: SoundSpec

    @property
    def hue_name(self) -> str:
        """Colour name (``pink``, ``orange``...)."""
        return HUES[self.hue][0]


@dataclass(frozen=True)
class Impact:
    """A wall bounce: ``object_id`` hits ``walls`` at ``frame`` (the frame nearest the moment of contact)."""

    frame: int
    object_id: int
    walls: tuple[str, ...]


@dataclass
class Scene:
    """Everything random about one video.

    Attributes:
        index: video index in the corpus.
        label: class index (``config.CLASSES``).
        objects: object specs, in ``object_id`` order (main first).
        tracks: one track per object, same order.
        background: background texture (world coordinates).
        background_hue: hue index of the background.
        background_lightness: L* of the background pattern's 0 and 1.
        pan: ``float64 [T, 2]`` camera offset added to pixel coordinates when sampling the background.
        impacts: wall bounces sorted by frame (empty for a static scene).
        audio_seed: seed of the audio noise and phases.
        static: whether the scene is frozen at frame 0.
    """

    index: int
    label: int
    objects: list[ObjectSpec]
    tracks: list[Track]
    background: TextureSpec
    background_hue: int
    background_lightness: tuple[float, float]
    pan: np.ndarray
    impacts: list[Impact]
    audio_seed: int
    static: bool = False

    @property
    def label_name(self) -> str:
        """Class name."""
        return CLASSES[self.label]


def label_for(seed: int, index: int) -> int:
    """Class of video ``index``: every block of ``len(CLASSES)`` consecutive videos holds each class once.

    So any corpus size is balanced to within one video per class, labels do not depend on the corpus size, and the
    label is not predictable from the index.
    """
    n = len(CLASSES)
    return int(rng_for(seed, STREAM_LABEL, index // n).permutation(n)[index % n])


def _impacts(object_id: int, hits: list[WallHit], num_frames: int) -> list[Impact]:
    """Group wall hits by frame (a corner hit is one impact with two walls)."""
    by_frame: dict[int, list[str]] = {}
    for hit in hits:
        frame = min(int(np.floor(hit.time + 0.5)), num_frames - 1)
        by_frame.setdefault(frame, []).append(hit.wall)
    return [Impact(f, object_id, tuple(sorted(set(w)))) for f, w in sorted(by_frame.items())]


def _visible_fractions(objects: list[ObjectSpec], tracks: list[Track], size: tuple[int, int]) -> list[float]:
    """Fraction of each object's pixels left visible in frame 0 after occlusion by nearer objects."""
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]] + 0.5
    owner = np.zeros((size[1], size[0]), dtype=np.int32)
    areas = {}
    for obj in sorted(objects, key=lambda o: o.depth):
        tr = tracks[obj.object_id - 1]
        c, s = np.cos(tr.angle[0]), np.sin(tr.angle[0])
        dx, dy = xs - tr.centre[0, 0], ys - tr.centre[0, 1]
        inside = shape_mask(obj.shape, (c * dx + s * dy) / tr.radius[0], (-s * dx + c * dy) / tr.radius[0])
        areas[obj.object_id] = max(int(inside.sum()), 1)
        owner[inside] = obj.object_id
    return [float((owner == o.object_id).sum()) / areas[o.object_id] for o in objects]


def _object(rng: np.random.Generator, object_id: int, depth: int, scale: float) -> ObjectSpec:
    shape = str(rng.choice(SHAPES))
    hue = int(rng.integers(len(HUES)))
    contrast = rng.uniform(14.0, 24.0)
    low = rng.uniform(L_MIN, L_MAX - contrast)
    return ObjectSpec(
        object_id=object_id,
        role="main" if object_id == 1 else "distractor",
        shape=shape,
        hue=hue,
        texture=sample_texture(rng, (3.0 * scale, 6.0 * scale)),
        lightness=(float(low), float(low + contrast)),
        depth=depth,
        sound=sound_for(shape, hue, main=object_id == 1),
    )


def plan_scene(config: SynthConfig, index: int) -> Scene:
    """Draw every random decision of video ``index`` from ``(config.seed, index)``.

    Args:
        config: generator settings.
        index: video index (0-based).

    Returns:
        The scene; frozen at frame 0 when ``config.static``.
    """
    rng = rng_for(config.seed, STREAM_SCENE, index)
    label = label_for(config.seed, index)
    size, n, scale = (config.width, config.height), config.num_frames, config.scale
    n_objects = 1 + int(rng.integers(config.max_distractors + 1))
    # Depth order is random so the main object is sometimes occluded, sometimes the occluder.
    depths = rng.permutation(n_objects)
    objects = [_object(rng, k + 1, int(depths[k]), scale) for k in range(n_objects)]
    main_track, main_hits = class_motion(rng, label, SHAPE_EXTENT[objects[0].shape], size, n, scale)
    for _ in range(MAX_PLACEMENT_TRIES):  # re-draw distractor paths until frame 0 shows every object well enough
        moves = [distractor_motion(rng, SHAPE_EXTENT[o.shape], size, n, scale) for o in objects[1:]]
        tracks = [main_track] + [m[0] for m in moves]
        if min(_visible_fractions(objects, tracks, size)) >= MIN_VISIBLE_AT_START:
            break
    impacts = _impacts(1, main_hits, n)
    for obj, (_, hits) in zip(objects[1:], moves):
        impacts += _impacts(obj.object_id, hits, n)
    impacts.sort(key=lambda i: (i.frame, i.object_id))
    bg_low = rng.uniform(L_MIN, L_MAX - BACKGROUND_CONTRAST[1])
    scene = Scene(
        index=index,
        label=label,
        objects=objects,
        tracks=tracks,
        background=sample_texture(rng, (4.0 * scale, 9.0 * scale)),
        background_hue=int(rng.integers(len(HUES))),
        background_lightness=(float(bg_low), float(bg_low + rng.uniform(*BACKGROUND_CONTRAST))),
        pan=pan_offsets(rng, n, scale),
        impacts=impacts,
        audio_seed=int(rng.integers(2**63)),
    )
    if config.static:
        scene.tracks = [tr.frozen_at(0) for tr in scene.tracks]
        scene.pan = np.repeat(scene.pan[:1], n, axis=0)
        scene.impacts = []
        scene.static = True
    return scene
