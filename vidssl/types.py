"""The nouns that cross module boundaries: what a file is, what a planner asks for, what a reader returns.

Data flow (see ARCHITECTURE.md)::

    manifest row / reader.info ─▶ VideoMeta ─planner(meta, rng)─▶ ClipPlan ─reader.get_frames─▶ FrameBatch

Conventions used everywhere in vidssl:

* "Frame i" is frame i of a full sequential decode of the selected video stream in presentation order.
* Frames are ``uint8`` tensors laid out ``[N, C, H, W]`` (C = 3, RGB) until the model boundary; batches are
  ``[B, T, C, H, W]``. Only 3D-backbone adapters permute to ``[B, C, T, H, W]``.
* Times are seconds (float) on the file's own clock: ``pts`` values are what the container says, so
  ``pts[0]`` need not be 0 (B-frames without an edit list, video starting after audio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily so data_tools workers (probe, transcode) start without it
    import torch

__all__ = [
    "AudioStreamInfo",
    "AudioWindow",
    "ClipPlan",
    "FrameBatch",
    "VideoInfo",
    "VideoMeta",
]


@dataclass(frozen=True)
class AudioStreamInfo:
    """One audio stream of a file, as probed.

    Attributes:
        index: stream index among the file's audio streams (0-based, not the container index).
        codec: codec name as FFmpeg names it (``aac``, ``mp3``, ``opus``...).
        sample_rate: native sample rate in Hz.
        channels: native channel count.
        start_time: pts of the first sample in seconds (file clock).
        duration: seconds of audio, ``None`` when the container does not say and it was not measured.
    """

    index: int
    codec: str
    sample_rate: int
    channels: int
    start_time: float = 0.0
    duration: float | None = None


@dataclass(frozen=True)
class VideoInfo:
    """What a reader measured about one file (not what its header claims).

    Attributes:
        path: the file.
        num_frames: frames a full sequential decode yields (header counts are checked, not trusted).
        fps: average frame rate = (num_frames - 1) / (last pts - first pts), or the stream rate for 1 frame.
        duration: num_frames / fps seconds (the span the frames cover).
        width: decoded width in pixels before rotation.
        height: decoded height in pixels before rotation.
        rotation: clockwise degrees (0, 90, 180, 270) to rotate decoded frames for display.
        codec: video codec name.
        pix_fmt: decoded pixel format (``yuv420p``...).
        start_time: pts of frame 0 in seconds.
        keyframes: indices of frames that decoding can start from.
        is_vfr: whether frame intervals vary by more than a small tolerance.
        video_stream: index of the selected stream among the file's video streams.
        num_video_streams: how many video streams the file has.
        audio: the file's audio streams.
    """

    path: str
    num_frames: int
    fps: float
    duration: float
    width: int
    height: int
    rotation: int = 0
    codec: str = ""
    pix_fmt: str = ""
    start_time: float = 0.0
    keyframes: tuple[int, ...] = ()
    is_vfr: bool = False
    video_stream: int = 0
    num_video_streams: int = 1
    audio: tuple[AudioStreamInfo, ...] = ()

    @property
    def has_audio(self) -> bool:
        """Whether the file has at least one audio stream."""
        return len(self.audio) > 0

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` after rotation is applied."""
        if self.rotation % 180 == 90:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class VideoMeta:
    """What a planner needs to know about one video; built from a manifest row or a ``VideoInfo``.

    Planners are pure functions of ``(VideoMeta, rng)``: everything they use must be here.

    Attributes:
        video_id: stable identifier (manifest path relative to the corpus root).
        path: absolute path of the file to decode.
        num_frames: decodable frames.
        fps: average frame rate.
        width: frame width after rotation.
        height: frame height after rotation.
        label: class index, ``-1`` when unlabeled.
        has_audio: whether audio can be read.
        start_time: pts of frame 0 (seconds); audio windows are on the same clock.
        audio_start: first audio sample time (seconds, file clock) when known.
        audio_duration: seconds of audio when known.
        motion: optional per-frame motion magnitude, ``float32 [num_frames]`` (``vidssl-data motion``);
            ``None`` lets planners estimate it or fall back to uniform sampling.
        keyframes: keyframe indices when known (planners may prefer GOP-friendly frames).
        extra: free-form fields carried from the manifest (split, group, ground-truth paths...).
    """

    video_id: str
    path: str
    num_frames: int
    fps: float
    width: int = 0
    height: int = 0
    label: int = -1
    has_audio: bool = False
    start_time: float = 0.0
    audio_start: float | None = None
    audio_duration: float | None = None
    motion: np.ndarray | None = field(default=None, compare=False, repr=False)
    keyframes: tuple[int, ...] = field(default=(), compare=False, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.num_frames < 0:
            raise ValueError(f"{self.video_id}: num_frames must be >= 0, got {self.num_frames}")
        if self.fps <= 0:
            raise ValueError(f"{self.video_id}: fps must be > 0, got {self.fps}")

    @property
    def duration(self) -> float:
        """Seconds spanned by the frames (``num_frames / fps``)."""
        return self.num_frames / self.fps

    def frame_time(self, index: int | np.ndarray) -> float | np.ndarray:
        """Nominal presentation time (seconds, file clock) of frame ``index`` assuming constant fps."""
        return self.start_time + np.asarray(index) / self.fps


@dataclass(frozen=True)
class AudioWindow:
    """A span of audio a planner asks for.

    Attributes:
        start_s: start time in seconds on the *source* video's clock (same clock as its frame pts).
        end_s: end time in seconds (exclusive).
        video_id: which video the audio comes from; ``None`` means the video being planned. A planner that
            wants another video's audio (AVC negatives) receives that video's ``VideoMeta`` explicitly.
    """

    start_s: float
    end_s: float
    video_id: str | None = None

    def __post_init__(self) -> None:
        if not self.end_s > self.start_s:
            raise ValueError(f"empty audio window [{self.start_s}, {self.end_s})")

    @property
    def seconds(self) -> float:
        """Length of the window in seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ClipPlan:
    """Which frames (and audio) one training or evaluation example needs. Planners return it; they never decode.

    Attributes:
        video_id: the video the frames come from.
        indices: ``int64`` frame indices, shaped by the planner (e.g. ``[T]`` for one clip, ``[K, T]`` for K
            clips, ``[5]`` for a Shuffle and Learn tuple). Any order, duplicates allowed.
        audio: audio windows, in the order the example builder expects.
        targets: labels the planner decided (order label, AVC label, permutation id...).
        regions: optional per-frame boxes or points, ``float32 [..., 4]`` (x0, y0, x1, y1) in pixels of the
            displayed frame, aligned with ``indices``.
        info: anything else the example builder needs (chosen offsets, for logging and tests).
    """

    video_id: str
    indices: np.ndarray
    audio: tuple[AudioWindow, ...] = ()
    targets: Mapping[str, Any] = field(default_factory=dict)
    regions: np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        idx = np.asarray(self.indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{self.video_id}: frame indices must be integers, got {idx.dtype}")
        if idx.size and idx.min() < 0:
            raise ValueError(f"{self.video_id}: negative frame index {int(idx.min())}")
        object.__setattr__(self, "indices", idx.astype(np.int64, copy=False))

    def unique_indices(self) -> np.ndarray:
        """Sorted unique frame indices: what a reader decodes in one pass for this plan."""
        return np.unique(self.indices)


@dataclass
class FrameBatch:
    """Decoded frames with their timestamps, as every reader returns them.

    Attributes:
        data: ``uint8 [N, C, H, W]`` RGB frames (C = 3), in the order they were requested.
        pts: ``float64 [N]`` presentation time of each frame in seconds (file clock).
        indices: ``int64 [N]`` the frame index of each frame.
    """

    data: torch.Tensor
    pts: torch.Tensor
    indices: torch.Tensor

    def __post_init__(self) -> None:
        import torch  # a FrameBatch only exists once torch is loaded; the import is a dict lookup

        if self.data.dtype != torch.uint8 or self.data.ndim != 4:
            raise ValueError(f"FrameBatch.data must be uint8 [N,C,H,W], got {self.data.dtype} {tuple(self.data.shape)}")
        n = self.data.shape[0]
        if self.pts.shape != (n,) or self.indices.shape != (n,):
            raise ValueError(
                f"FrameBatch: data has {n} frames but pts {tuple(self.pts.shape)}, "
                f"indices {tuple(self.indices.shape)}"
            )

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def to(self, device: torch.device | str, non_blocking: bool = False) -> FrameBatch:
        """Move the frames (not the timestamps) to ``device``."""
        return FrameBatch(self.data.to(device, non_blocking=non_blocking), self.pts, self.indices)
