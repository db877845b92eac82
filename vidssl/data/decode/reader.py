"""What every backend shares: index validation, one sorted pass per request, gathering, rotation, audio.

A backend implements ``_decode_sorted(frames)``: decode the sorted unique frame indices ``frames`` and return them as
a ``uint8 [U, 3, H, W]`` RGB tensor (any strides: a permuted NHWC buffer is fine), in that order, exactly ("frame i"
of a sequential decode), together with the clockwise rotation the backend already applied (decord and torchcodec
rotate by themselves). The base
class turns any request (any order, duplicates) into that call and gathers the result back into request order::

    indices [7, 3, 7, 0] ─np.unique─▶ [0, 3, 7] ─_decode_sorted─▶ 3 frames ─gather by inverse─▶ 4 frames

If a backend finds the file disagrees with a demux-built index (a frame never comes out of the decoder), it raises
:class:`IndexMismatch`; the reader rebuilds the index from a full decode once and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from vidssl.data.decode.audio import read_audio
from vidssl.data.decode.base import BackendUnavailableError, CorruptVideoError, MissingAudio
from vidssl.data.decode.index import FrameIndex
from vidssl.data.decode.probe import Probe, probe, replace_cached
from vidssl.data.decode.source import VideoSource
from vidssl.types import FrameBatch, VideoInfo

__all__ = ["BaseReader", "IndexMismatch", "Rotation"]

log = logging.getLogger(__name__)

Rotation = Literal["apply", "report"]


class IndexMismatch(RuntimeError):
    """The decoder did not produce a frame the index promised (the index must be rebuilt from a decode)."""


class BaseReader:
    """Shared reader logic; see :class:`vidssl.data.decode.base.VideoReader` for the contract.

    Args:
        source: the video (path or bytes, wrapped).
        stream: which video stream (0-based among video streams).
        rotation: ``"apply"`` rotates frames for display (``info.rotation`` says by how much); ``"report"`` returns
            them as stored.
        index: a precomputed :class:`FrameIndex` for this file and stream (skips probing the frames).
        device: where returned frames live.
    """

    backend = "base"

    @classmethod
    def check_available(cls, device: str = "cpu") -> None:
        """Raise :class:`BackendUnavailableError` if this backend cannot decode on ``device`` here."""
        if device != "cpu":
            raise BackendUnavailableError(f"the {cls.backend} backend decodes on the CPU only (device={device!r})")

    def __init__(self, source: VideoSource, *, stream: int = 0, rotation: Rotation = "apply",
                 index: FrameIndex | None = None, device: str = "cpu") -> None:
        if rotation not in ("apply", "report"):
            raise ValueError(f"rotation must be 'apply' or 'report', got {rotation!r}")
        self._src = source
        self._stream = stream
        self._rotation_mode = rotation
        self.device = device
        result = probe(source, stream=stream)
        if index is not None:
            result = Probe(info=_info_for_index(result.info, index), index=index)
        self._probe = result
        self._closed = False

    # -- metadata --

    @property
    def info(self) -> VideoInfo:
        """What the file really decodes to."""
        return self._probe.info

    @property
    def index(self) -> FrameIndex:
        """Per-frame pts and keyframes of the selected stream."""
        return self._probe.index

    @property
    def name(self) -> str:
        """The file (or bytes label) for messages."""
        return self._src.name

    def __len__(self) -> int:
        return self.info.num_frames

    # -- frames --

    def get_frames(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> FrameBatch:
        """Return exactly the frames ``indices`` as ``uint8 [N, 3, H, W]`` RGB with their pts (seconds).

        Decodes the sorted unique set once (one forward pass per GOP run), converts only those frames to RGB, and
        gathers them into the requested order (duplicates are copies).

        Raises:
            IndexError: an index outside ``[0, len(self))``.
            VideoReadError: the file fails to decode there.
        """
        self._check_open()
        idx = _as_indices(indices)
        n = len(self)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"{self.name}: frame {bad} out of range [0, {n})")
        uniq, inverse = np.unique(idx, return_inverse=True)
        if uniq.size == 0:
            h, w = self.info.height, self.info.width
            if self._rotation_mode == "apply" and self.info.rotation % 180 == 90:
                h, w = w, h
            return FrameBatch(torch.zeros((0, 3, h, w), dtype=torch.uint8), torch.zeros(0, dtype=torch.float64),
                              torch.zeros(0, dtype=torch.int64))
        data, applied = self._decode_with_retry(uniq)
        if data.device.type != torch.device(self.device).type:
            data = data.to(self.device)
        rot = ((self.info.rotation if self._rotation_mode == "apply" else 0) - applied) % 360
        if rot:
            data = torch.rot90(data, k=-(rot // 90), dims=(2, 3))  # negative k: clockwise, as display asks
        # Frames keep the backend's memory layout (channels-last for decord/torchcodec/OpenCV): a copy to make them
        # contiguous would cost as much as converting them to RGB, and every consumer accepts strided tensors.
        if not (uniq.size == idx.size and bool(np.all(np.diff(idx) > 0))):
            data = data[torch.from_numpy(inverse.reshape(-1).astype(np.int64)).to(data.device)]
        pts = torch.from_numpy(self.index.times[idx])
        return FrameBatch(data=data, pts=pts, indices=torch.from_numpy(idx.copy()))

    def _decode_with_retry(self, uniq: np.ndarray) -> tuple[torch.Tensor, int]:
        try:
            return self._decode_sorted(uniq)
        except IndexMismatch as exc:
            if self.index.method != "demux":
                raise CorruptVideoError(self.name, f"decoder output disagrees with its frame index: {exc}",
                                        reason="decode_error") from exc
            log.warning("%s: packet index disagrees with the decoder (%s); rebuilding it from a full decode",
                        self.name, exc)
            self._probe = probe(self._src, stream=self._stream, full_decode=True, use_cache=False)
            replace_cached(self._src, self._stream, self._probe)
            self._on_index_changed()
            if uniq.size and uniq.max() >= len(self):
                raise IndexError(f"{self.name}: frame {int(uniq.max())} out of range [0, {len(self)}) "
                                 "after re-indexing") from exc
            return self._decode_sorted(uniq)

    def _decode_sorted(self, frames: np.ndarray) -> tuple[torch.Tensor, int]:
        """Decode sorted unique ``frames`` to ``uint8 [U, 3, H, W]`` RGB; also return the rotation already applied."""
        raise NotImplementedError

    def _on_index_changed(self) -> None:
        """Hook for backends that keep state derived from the index (frame maps, decoder positions)."""

    # -- audio --

    def get_audio(self, start_s: float, end_s: float, sample_rate: int = 16000, mono: bool = True, *,
                  stream: int = 0, missing: MissingAudio = "raise") -> torch.Tensor:
        """``float32 [C, round((end_s - start_s) * sample_rate)]`` audio on the video pts clock; see ``read_audio``."""
        self._check_open()
        return read_audio(self._src, self.info, start_s, end_s, sample_rate, mono, stream=stream, missing=missing)

    # -- lifetime --

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self.name}: reader is closed")

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        self._closed = True
        self._src.cleanup()

    def __enter__(self) -> BaseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, frames={len(self)}, device={self.device!r})"


def _as_indices(indices: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(indices, torch.Tensor):
        indices = indices.detach().cpu().numpy()
    idx = np.asarray(indices)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"frame indices must be integers, got {idx.dtype}")
    return idx.astype(np.int64).reshape(-1)


def _info_for_index(info: VideoInfo, index: FrameIndex) -> VideoInfo:
    """``info`` with frame count, timing and keyframes taken from a caller-supplied index."""
    import dataclasses

    n = len(index)
    t = index.times
    fps = (n - 1) / float(t[-1] - t[0]) if n > 1 and t[-1] > t[0] else info.fps
    return dataclasses.replace(info, num_frames=n, fps=fps, duration=n / fps, start_time=float(t[0]) if n else 0.0,
                               keyframes=tuple(sorted({0, *index.keyframes.tolist()})) if n else ())
