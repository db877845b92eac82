"""The reader contract every decode backend implements, and the errors callers can branch on.

A reader opens one file, measures it (``info``), and returns exactly the frames asked for::

    with open_video("clip.mp4") as reader:          # vidssl.data.open_video
        batch = reader.get_frames([0, 15, 15, 3])   # FrameBatch: uint8 [4, 3, H, W] + pts + indices
        wave = reader.get_audio(0.0, 1.0)           # float32 [1, 16000]

"Frame i" is frame i of a full sequential decode of the selected stream in presentation order, on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

from vidssl.types import FrameBatch, VideoInfo

__all__ = [
    "BackendName",
    "BackendUnavailableError",
    "CorruptVideoError",
    "MissingAudio",
    "NoAudioError",
    "NoVideoStreamError",
    "VideoReadError",
    "VideoReader",
]

BackendName = Literal["auto", "pyav", "decord", "torchcodec", "opencv"]
MissingAudio = Literal["raise", "silence"]


class VideoReadError(RuntimeError):
    """A file could not be opened or decoded. ``reason`` is a short class name for manifests and counters."""

    reason: str = "decode_error"

    def __init__(self, path: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        if reason is not None:
            self.reason = reason


class CorruptVideoError(VideoReadError):
    """The container or stream is damaged (truncated, not a video, zero bytes)."""

    reason = "corrupt"


class NoVideoStreamError(VideoReadError):
    """The file has no (selectable) video stream, e.g. an audio-only file."""

    reason = "no_video_stream"


class NoAudioError(VideoReadError):
    """Audio was asked for but the file has no audio stream. Pass ``missing="silence"`` to get zeros instead."""

    reason = "no_audio"


class BackendUnavailableError(ImportError):
    """A decode backend is not installed or cannot load; the message names the install step."""


@runtime_checkable
class VideoReader(Protocol):
    """One open video file. Not thread-safe and not shareable across processes: open one per worker.

    Attributes:
        info: what the file really decodes to (frame count, fps, keyframes, rotation, audio streams).
        backend: the backend name actually used (``auto`` resolved).
        device: ``"cpu"`` or ``"cuda[:i]"``; where returned frames live.
    """

    info: VideoInfo
    backend: str
    device: str

    def __len__(self) -> int:
        """Number of decodable frames (``info.num_frames``)."""
        ...

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> FrameBatch:
        """Return exactly the frames ``indices`` (any order, duplicates allowed) as ``uint8 [N, 3, H, W]``.

        Raises:
            IndexError: an index is outside ``[0, len(self))``.
            VideoReadError: the file fails to decode there.
        """
        ...

    def get_audio(
        self,
        start_s: float,
        end_s: float,
        sample_rate: int = 16000,
        mono: bool = True,
        *,
        stream: int = 0,
        missing: MissingAudio = "raise",
    ) -> torch.Tensor:
        """Return ``float32 [C, round((end_s - start_s) * sample_rate)]`` audio on the video pts clock.

        Samples outside the audio stream are zeros. ``C`` is 1 when ``mono`` else the native channel count.

        Raises:
            NoAudioError: the file has no audio and ``missing == "raise"``.
        """
        ...

    def close(self) -> None:
        """Release the decoder."""
        ...

    def __enter__(self) -> VideoReader: ...

    def __exit__(self, *exc: object) -> None: ...
