"""Ground truth next to each video: DAVIS-layout mask PNGs, decoded JPEG frames and a JSON record.

DAVIS 2017 layout (what label-propagation code reads): ``Annotations/<seq>/00000.png`` are palette ("P") PNGs
whose pixel values are object indices (0 = background) with the PASCAL VOC colour map that DAVIS uses, and
``JPEGImages/<seq>/00000.jpg`` are the frames.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from data_tools.synth.colour import HUES, L_MAX, L_MIN, paint
from data_tools.synth.config import GENERATOR, GENERATOR_VERSION, SynthConfig, video_id
from data_tools.synth.render import RenderedVideo
from data_tools.synth.scene import Impact

__all__ = ["davis_palette", "gt_record", "write_jpegs", "write_json", "write_masks"]

JPEG_QUALITY = 95  # close to the decoded frames; DAVIS ships high-quality JPEGs too


def davis_palette() -> list[int]:
    """The 256-entry PASCAL VOC colour map used by DAVIS annotations, flat ``[r0, g0, b0, r1, ...]``."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


_PALETTE = davis_palette()


def write_masks(folder: str | os.PathLike[str], masks: np.ndarray) -> None:
    """Write ``masks uint8 [T, H, W]`` as ``folder/00000.png``... (mode "P", DAVIS palette)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, mask in enumerate(masks):
        image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), np.ascontiguousarray(mask).tobytes())
        image.putpalette(_PALETTE)
        image.save(folder / f"{i:05d}.png", optimize=False)


def write_jpegs(folder: str | os.PathLike[str], frames: np.ndarray) -> None:
    """Write ``frames uint8 [T, H, W, 3]`` as ``folder/00000.jpg``..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:05d}.jpg", quality=JPEG_QUALITY)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    # A per-process name (not mkstemp, whose 0600 mode would make the corpus unreadable to other users).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _rows(array: np.ndarray, digits: int = 2) -> list[Any]:
    """Per-frame rows as lists, ``None`` where the row is NaN (object hidden)."""
    out: list[Any] = []
    for row in np.asarray(array, dtype=np.float64):
        out.append(None if np.isnan(row).any() else [round(float(x), digits) for x in np.atleast_1d(row)])
    return out


def _impacts(impacts: list[Impact], fps: float) -> list[dict[str, Any]]:
    return [
        {"frame": i.frame, "time": round(i.frame / fps, 6), "object": i.object_id, "walls": list(i.walls)}
        for i in impacts
    ]


def gt_record(video: RenderedVideo, config: SynthConfig, split: str, files: dict[str, str | None]) -> dict[str, Any]:
    """The ground-truth JSON of one video.

    Args:
        video: the rendered video.
        config: generator settings.
        split: train / val / test.
        files: relative paths of the video, masks folder and JPEG folder (``None`` when not written).

    Returns:
        A JSON-ready dict: label, impacts (seen and heard), objects with attributes, sound parameters and
        per-frame boxes, centroids, visible areas and true centres.
    """
    scene = video.scene
    mid = (L_MIN + L_MAX) / 2
    objects = []
    for k, (obj, track) in enumerate(zip(scene.objects, scene.tracks)):
        tex = obj.texture
        objects.append(
            {
                "id": obj.object_id,
                "role": obj.role,
                "shape": obj.shape,
                "colour": obj.hue_name,
                "hue_index": obj.hue,
                "rgb": paint(np.array(mid), np.array(obj.hue)).tolist(),
                "texture": {"kind": tex.kind, "period": round(tex.period, 3), "angle": round(tex.angle, 4)},
                "lightness": [round(x, 2) for x in obj.lightness],
                "depth": obj.depth,
                "sound": {
                    "f0": round(obj.sound.f0, 3),
                    "partials": [list(p) for p in obj.sound.partials],
                    "tremolo_hz": obj.sound.tremolo_hz,
                    "gain": obj.sound.gain,
                },
                "boxes": _rows(video.boxes[k], 0),
                "centroids": _rows(video.centroids[k]),
                "areas": video.areas[k].tolist(),
                "centres": _rows(track.centre),
                "angles": [round(float(a), 4) for a in track.angle],
                "radii": [round(float(r), 3) for r in track.radius],
            }
        )
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "seed": config.seed,
        "index": video.index,
        "video_id": video.video_id,
        "label": video.label_name,
        "label_index": video.label,
        "split": split,
        "num_frames": config.num_frames,
        "fps": video.fps,
        "width": config.width,
        "height": config.height,
        "sample_rate": video.sample_rate,
        "static": scene.static,
        "coordinates": (
            "pixels, x right, y down; pixel (row i, column j) covers [j, j+1) x [i, i+1); boxes are x0, y0, x1, y1 "
            "of visible pixels with x1, y1 exclusive; centroids average visible pixel centres; null = fully hidden; "
            "angles are radians clockwise on screen, 0 = pointing right (the main object's marker dot points there)"
        ),
        "background": {
            # null hue: painted gray (SynthConfig.neutral_background)
            "colour": "gray" if config.neutral_background else HUES[scene.background_hue][0],
            "hue_index": None if config.neutral_background else scene.background_hue,
            "texture": {"kind": scene.background.kind, "period": round(scene.background.period, 3)},
            "lightness": [round(x, 2) for x in scene.background_lightness],
            "pan": _rows(scene.pan),
        },
        "objects": objects,
        "impacts": _impacts(video.impacts, video.fps),
        "audio": {
            "source": video_id(video.audio_source),
            "source_index": video.audio_source,
            "mismatched": video.audio_source != video.index,
            "impacts": _impacts(video.audio_impacts, video.fps),
        },
        "files": files,
    }
