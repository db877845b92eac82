"""Labelled box tracks for the tracking head: the synthetic corpus's ground truth, or any frames + boxes.

The synthetic corpus (``vidssl-data synth OUT``) stores, per video, ``OUT/gt/<id>.json`` with per-object boxes
``objects[k]["boxes"][t] = [x0, y0, x1, y1]`` (pixels, ``x1, y1`` exclusive, ``null`` when hidden) and the split
lists ``OUT/splits/<split>.txt``. Frames come from ``OUT/davis/JPEGImages/<id>/`` when present (written for the test
split by default), else from decoding ``OUT/videos/<id>.mp4`` with PyAV.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["BoxTrack", "load_synth_tracks"]


@dataclass(frozen=True)
class BoxTrack:
    """One object's trajectory in one video.

    Attributes:
        name: ``<video id>_<object id>``.
        frames: ``uint8 [T, H, W, 3]`` RGB.
        boxes: ``float32 [T, 4]`` ``(x0, y0, x1, y1)``; NaN rows where the object is hidden.
    """

    name: str
    frames: np.ndarray
    boxes: np.ndarray

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.dtype != np.uint8 or self.frames.shape[-1] != 3:
            raise ValueError(f"{self.name}: frames must be uint8 [T, H, W, 3], got {self.frames.dtype} "
                             f"{self.frames.shape}")  # fmt: skip
        if self.boxes.shape != (self.frames.shape[0], 4):
            raise ValueError(f"{self.name}: boxes {self.boxes.shape} do not match {self.frames.shape[0]} frames")

    @property
    def visible(self) -> np.ndarray:
        """``bool [T]``: frames with a box."""
        return ~np.isnan(self.boxes).any(1)

    def starting_at_first_visible(self) -> BoxTrack:
        """The track cut to start at the first frame where the object is visible (trackers need a first box)."""
        first = int(np.argmax(self.visible))
        return BoxTrack(self.name, self.frames[first:], self.boxes[first:])


def _read_frames(corpus: Path, video_id: str, files: dict[str, str | None]) -> np.ndarray:
    folder = corpus / (files.get("frames") or f"davis/JPEGImages/{video_id}")
    jpgs = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if jpgs:
        return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in jpgs])
    video = corpus / (files.get("video") or f"videos/{video_id}.mp4")
    if not video.is_file():
        raise FileNotFoundError(f"{video_id}: neither frames in {folder} nor the video {video}")
    import av  # decoded only when the corpus has no JPEG frames for this video

    with av.open(str(video)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def load_synth_tracks(
    corpus: str | Path,
    split: str,
    *,
    roles: Sequence[str] = ("main",),
    min_visible: int = 4,
    max_videos: int | None = None,
) -> list[BoxTrack]:
    """Box tracks of a synthetic-corpus split.

    Args:
        corpus: the corpus folder.
        split: ``train``, ``val`` or ``test`` (``OUT/splits/<split>.txt``).
        roles: object roles to keep (``main``; add ``distractor`` for more, harder tracks).
        min_visible: drop tracks visible in fewer frames.
        max_videos: read at most this many videos (in split order).

    Returns:
        Tracks, each cut to start at the object's first visible frame.

    Raises:
        FileNotFoundError: no split list or ground truth.
    """
    corpus = Path(corpus)
    split_file = corpus / "splits" / f"{split}.txt"
    if not split_file.is_file():
        raise FileNotFoundError(f"{split_file}: no split list; is {corpus} a synthetic corpus (vidssl-data synth)?")
    ids = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
    tracks: list[BoxTrack] = []
    for video_id in ids[:max_videos]:
        record = json.loads((corpus / "gt" / f"{video_id}.json").read_text())
        objects = [o for o in record["objects"] if o.get("role", "main") in roles]
        if not objects:
            continue
        frames = _read_frames(corpus, video_id, record.get("files") or {})
        for obj in objects:
            boxes = np.array([[np.nan] * 4 if b is None else b for b in obj["boxes"]], dtype=np.float32)
            boxes = boxes[: len(frames)]
            track = BoxTrack(f"{video_id}_{obj['id']}", frames[: len(boxes)], boxes)
            if track.visible.sum() >= min_visible:
                tracks.append(track.starting_at_first_visible())
    return tracks
