"""Base for the fast backends (decord, torchcodec, OpenCV): use their own seeking where it is exact, else PyAV.

No fast backend is exact on every file (data/hard/README.md). Each one decides per file, from the frame index,
whether its native path can be trusted (``_native_problem``) and checks what it returns where it can (timestamps).
When it cannot, the file is served by the exact PyAV path and ``reader.fallback`` says why; the frames are the same
either way, so callers never see the difference except in speed.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from vidssl.data.decode.reader import BaseReader

__all__ = ["VerifiedReader"]

log = logging.getLogger(__name__)


class VerifiedReader(BaseReader):
    """A backend with a fast native path and the exact PyAV path as its fallback.

    Args:
        num_threads: decoder threads for the native path (and for the fallback).
        **kwargs: passed to :class:`BaseReader`.

    Attributes:
        fallback: why this file is decoded by PyAV instead of the native path (``""`` when it is not).
    """

    def __init__(self, *args: Any, num_threads: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._num_threads = num_threads
        self._exact: BaseReader | None = None
        self.fallback = self._native_problem() or ""
        if self.fallback:
            log.debug("%s: %s uses the exact PyAV path: %s", self.name, self.backend, self.fallback)

    def _native_problem(self) -> str | None:
        """Why the native path cannot be trusted on this file (``None`` when it can). Backends extend it."""
        return None

    def _use_fallback(self, reason: str) -> None:
        """Route this file to PyAV from now on (a check failed on frames the native path returned)."""
        if not self.fallback:
            log.info("%s: %s native path disagrees with the frame index (%s); using PyAV for this file",
                     self.name, self.backend, reason)
            self.fallback = reason
        self._close_native()

    def _exact_reader(self) -> BaseReader:
        if self._exact is None:
            from vidssl.data.decode.pyav_reader import PyAVReader

            self._exact = PyAVReader(self._src, stream=self._stream, rotation="report", index=self.index,
                                     num_threads=self._num_threads)
        return self._exact

    def _decode_sorted(self, frames: np.ndarray) -> tuple[torch.Tensor, int]:
        if not self.fallback:
            result = self._decode_native(frames)
            if result is not None:
                return result
        return self._exact_reader()._decode_sorted(frames)

    def _decode_native(self, frames: np.ndarray) -> tuple[torch.Tensor, int] | None:
        """Native decode of sorted unique ``frames`` (``uint8 [U, 3, H, W]``); ``None`` after switching to PyAV."""
        raise NotImplementedError

    def _on_index_changed(self) -> None:
        self.fallback = self._native_problem() or ""
        self._close_native()
        if self._exact is not None:
            self._exact.close()
            self._exact = None

    def _close_native(self) -> None:
        """Release the native decoder (backends override)."""

    def close(self) -> None:
        """Close the native decoder and the fallback (idempotent)."""
        self._close_native()
        if self._exact is not None:
            self._exact.close()
            self._exact = None
        super().close()
