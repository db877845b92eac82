"""Render a planned scene to raw RGB frames, instance masks, boxes and centroids, plus its soundtrack.

Everything is vectorised over ``[T, H, W]``: one pass per object, back to front, so nearer objects overwrite farther
ones and the masks hold visible pixels only (DAVIS convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_tools.synth.audio import render_audio
from data_tools.synth.colour import MARKER_L, NEUTRAL, OUTLINE_L, paint
from data_tools.synth.config import SynthConfig, video_id
from data_tools.synth.scene import Impact, Scene, plan_scene
from data_tools.synth.shapes import marker_mask, shape_mask, texture_value

__all__ = ["RenderedVideo", "instance_geometry", "render_frames", "render_video"]

MIN_OUTLINE_RADIUS = 3.0  # below this an outline would eat the whole object


@dataclass
class RenderedVideo:
    """One video before encoding.

    Attributes:
        index: video index in the corpus.
        video_id: corpus id (``v00000``).
        label: class index.
        label_name: class name.
        frames: ``uint8 [T, H, W, 3]`` RGB.
        masks: ``uint8 [T, H, W]`` visible object index per pixel (0 = background, 1 = main object, 2.. distractors).
        boxes: ``float32 [K, T, 4]`` per object and frame ``(x0, y0, x1, y1)`` of its visible pixels, pixel edges
            (x1, y1 exclusive), NaN where the object is fully hidden.
        centroids: ``float32 [K, T, 2]`` mean ``(x, y)`` of visible pixel centres, NaN where hidden.
        areas: ``int32 [K, T]`` visible pixels per object.
        audio: ``float32 [S]`` mono waveform at ``sample_rate``.
        sample_rate: Hz.
        fps: frames per second.
        impacts: wall bounces seen in the video.
        audio_source: index of the video whose audio this is (differs from ``index`` for mismatched audio).
        audio_impacts: the impacts audible in ``audio`` (those of ``audio_source``).
        scene: the plan it was rendered from.
    """

    index: int
    video_id: str
    label: int
    label_name: str
    frames: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    centroids: np.ndarray
    areas: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: float
    impacts: list[Impact]
    audio_source: int
    audio_impacts: list[Impact]
    scene: Scene


def _outline(inside: np.ndarray) -> np.ndarray:
    """Pixels of ``inside [T, H, W]`` with a 4-neighbour outside (image borders count as inside)."""
    eroded = inside.copy()
    eroded[:, 1:] &= inside[:, :-1]
    eroded[:, :-1] &= inside[:, 1:]
    eroded[:, :, 1:] &= inside[:, :, :-1]
    eroded[:, :, :-1] &= inside[:, :, 1:]
    return inside & ~eroded


def render_frames(scene: Scene, config: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """Rasterise a scene.

    Args:
        scene: from :func:`plan_scene`.
        config: generator settings (size, length).

    Returns:
        ``frames uint8 [T, H, W, 3]`` and ``masks uint8 [T, H, W]``.
    """
    n, h, w = config.num_frames, config.height, config.width
    # Static scenes are one frame repeated: render it once.
    steps = 1 if scene.static else n
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    pan = scene.pan[:steps, :, None, None]
    bg = texture_value(scene.background, xs[None] + pan[:, 0], ys[None] + pan[:, 1])
    lo, hi = scene.background_lightness
    lightness = lo + (hi - lo) * bg
    hue = np.full((steps, h, w), NEUTRAL if config.neutral_background else scene.background_hue, dtype=np.intp)
    masks = np.zeros((steps, h, w), dtype=np.uint8)
    for obj in sorted(scene.objects, key=lambda o: o.depth):
        tr = scene.tracks[obj.object_id - 1]
        cx, cy = tr.centre[:steps, 0, None, None], tr.centre[:steps, 1, None, None]
        cos, sin = np.cos(tr.angle[:steps])[:, None, None], np.sin(tr.angle[:steps])[:, None, None]
        radius = tr.radius[:steps, None, None]
        dx, dy = xs[None] - cx, ys[None] - cy
        u = (cos * dx + sin * dy) / radius  # undo the clockwise rotation, then the scale
        v = (-sin * dx + cos * dy) / radius
        inside = shape_mask(obj.shape, u, v)
        # Texture only where the object is (a few % of the pixels): the costliest step otherwise.
        pattern = texture_value(obj.texture, u[inside] * tr.radius_ref, v[inside] * tr.radius_ref)
        lo, hi = obj.lightness
        lightness[inside] = lo + (hi - lo) * pattern
        hue[inside] = obj.hue
        if obj.role == "main":  # orientation marker: makes the main object's spin visible
            dot = inside & marker_mask(u, v)
            lightness[dot] = MARKER_L
            hue[dot] = NEUTRAL
        if tr.radius[0] >= MIN_OUTLINE_RADIUS * config.scale:
            edge = _outline(inside)
            lightness = np.where(edge, OUTLINE_L, lightness)
            hue = np.where(edge, NEUTRAL, hue)
        masks[inside] = obj.object_id
    frames = paint(lightness, hue)
    if steps != n:
        frames = np.repeat(frames, n, axis=0)
        masks = np.repeat(masks, n, axis=0)
    return frames, masks


def instance_geometry(masks: np.ndarray, num_objects: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, centroids and areas of the visible pixels of objects ``1..num_objects``.

    Args:
        masks: ``uint8 [T, H, W]`` object indices.
        num_objects: K.

    Returns:
        ``boxes float32 [K, T, 4]`` (x0, y0, x1, y1; x1, y1 exclusive), ``centroids float32 [K, T, 2]`` (pixel
        centres), ``areas int32 [K, T]``; NaN boxes and centroids where an object is not visible.
    """
    t, h, w = masks.shape
    boxes = np.full((num_objects, t, 4), np.nan, dtype=np.float32)
    centroids = np.full((num_objects, t, 2), np.nan, dtype=np.float32)
    areas = np.zeros((num_objects, t), dtype=np.int32)
    for k in range(num_objects):
        m = masks == k + 1
        cols, rows = m.any(axis=1), m.any(axis=2)  # [T, W], [T, H]
        area = m.sum(axis=(1, 2))
        areas[k] = area
        seen = area > 0
        if not seen.any():
            continue
        x0, x1 = cols.argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
        y0, y1 = rows.argmax(axis=1), h - rows[:, ::-1].argmax(axis=1)
        boxes[k, seen] = np.stack([x0, y0, x1, y1], axis=1)[seen]
        safe = np.maximum(area, 1)
        cx = (m.sum(axis=1) * (np.arange(w) + 0.5)).sum(axis=1) / safe
        cy = (m.sum(axis=2) * (np.arange(h) + 0.5)).sum(axis=1) / safe
        centroids[k, seen] = np.stack([cx, cy], axis=1)[seen]
    return boxes, centroids, areas


def render_video(config: SynthConfig, index: int, audio_index: int | None = None) -> RenderedVideo:
    """Plan and render video ``index`` (frames, masks, geometry, audio) without encoding it.

    Args:
        config: generator settings (the seed is ``config.seed``).
        index: video index.
        audio_index: take the audio from this video instead (the ``--mismatched-audio`` control); ``None`` = own.

    Returns:
        The rendered video; identical for identical ``(config, index, audio_index)`` on any worker.

    Example:
        >>> video = render_video(SynthConfig(num_frames=16), 3)
        >>> video.frames.shape, video.masks.shape, video.audio.shape
        ((16, 64, 64, 3), (16, 64, 64), (16000,))
    """
    config.validate()
    scene = plan_scene(config, index)
    frames, masks = render_frames(scene, config)
    boxes, centroids, areas = instance_geometry(masks, len(scene.objects))
    source = scene if audio_index is None or audio_index == index else plan_scene(config, audio_index)
    return RenderedVideo(
        index=index,
        video_id=video_id(index),
        label=scene.label,
        label_name=scene.label_name,
        frames=frames,
        masks=masks,
        boxes=boxes,
        centroids=centroids,
        areas=areas,
        audio=render_audio(source, config),
        sample_rate=config.sample_rate,
        fps=float(config.rate),
        impacts=scene.impacts,
        audio_source=source.index,
        audio_impacts=source.impacts,
        scene=scene,
    )
