"""decord backend: ``VideoReader.get_batch`` on the sorted unique frames, where decord is exact for the file.

decord returns pixels without timestamps, so its output cannot be checked frame by frame; instead the file decides.
decord's frame list (``get_frame_timestamp``) must be the index's frames shifted by one constant (decord counts time
from the stream start), and the file must have none of the structures decord seeks wrongly on (data/hard/README.md):
open GOPs (``h3``: frames off by +3), edit lists hiding frames (``h4``: 250 frames listed, 237 decode), AVI packed
B-frames (``h1``), or a selected stream other than the one decord picks (decord cannot select streams). Those files
are served by PyAV. decord applies the display rotation itself. decord's GPU context needs a CUDA build from source.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from vidssl.data.decode.base import BackendUnavailableError
from vidssl.data.decode.verified import VerifiedReader

__all__ = ["DecordReader"]


def _import_decord() -> Any:
    try:
        import decord
    except Exception as exc:  # ImportError, or OSError when its bundled libraries fail to load
        raise BackendUnavailableError(f"decord cannot load ({type(exc).__name__}: {exc}); "
                                      "install it: pip install decord") from exc
    return decord


class DecordReader(VerifiedReader):
    """Frame-exact reader over decord; see :class:`VerifiedReader` for arguments and ``fallback``."""

    backend = "decord"

    @classmethod
    def check_available(cls, device: str = "cpu") -> None:
        """Raise :class:`BackendUnavailableError` unless decord loads (built with CUDA for ``cuda``)."""
        decord = _import_decord()
        if device != "cpu":
            ctx = decord.gpu(_device_id(device))
            if not getattr(ctx, "exist", False):
                raise BackendUnavailableError(
                    f"decord cannot decode on {device!r}: the installed decord has no CUDA support (the PyPI wheel "
                    "is CPU-only; build decord from source with -DUSE_CUDA=ON)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._vr: Any = None
        super().__init__(*args, **kwargs)

    def _native_problem(self) -> str | None:
        index = self.index
        if index.reordered:
            return "decoder pts are out of order (AVI packed B-frames)"
        if index.open_gop:
            return "open GOP: decord's seeks return later frames"
        if index.discarded:
            return f"an edit list hides {index.discarded} packets: decord lists them as frames"
        if not index.identifiable:
            return "frames have no distinct pts to verify"
        return None

    def _open_native(self) -> Any:
        if self._vr is None:
            decord = _import_decord()
            ctx = decord.cpu(0) if self.device == "cpu" else decord.gpu(_device_id(self.device))
            source = self._src.path if self._src.path is not None else io.BytesIO(self._src.data or b"")
            try:
                vr = decord.VideoReader(source, ctx=ctx, num_threads=self._num_threads)
            except Exception as exc:  # decord raises its own DECORDError (a RuntimeError subclass) or others
                self._use_fallback(f"decord cannot open the file ({str(exc).splitlines()[0][:200]})")
                return None
            problem = self._check_frame_list(vr)
            if problem:
                self._use_fallback(problem)
                return None
            self._vr = vr
        return self._vr

    def _check_frame_list(self, vr: Any) -> str | None:
        """Why decord's frame list is not the index's (count, times up to one constant shift); ``None`` if it is."""
        n = len(self)
        if len(vr) != n:
            return f"decord lists {len(vr)} frames, a full decode gives {n} (another stream, or hidden frames)"
        ts = np.asarray(vr.get_frame_timestamp(np.arange(n)))[:, 0].astype(np.float64)
        shift = self.index.times - ts
        if np.ptp(shift) > 0.5 * self.index.min_gap():
            return "decord's frame timestamps are not the index's frame times"
        return None

    def _decode_native(self, frames: np.ndarray) -> tuple[torch.Tensor, int] | None:
        vr = self._open_native()
        if vr is None:
            return None
        try:
            data = vr.get_batch(frames.tolist()).asnumpy()
        except Exception as exc:  # DECORDError on damaged data
            self._use_fallback(f"decord failed: {str(exc).splitlines()[0][:200]}")
            return None
        # The frame size tells whether decord decoded the selected stream (it always takes its own "best" one).
        # Checked on the frames just decoded: decoding a frame at open only to look at its size cost 4 ms per reader.
        expect = (self.info.height, self.info.width)
        if self.info.rotation % 180 == 90:
            expect = expect[::-1]
        if data.shape[1:3] != expect:
            self._use_fallback(f"decord decodes {data.shape[2]}x{data.shape[1]} frames, the selected stream is "
                               f"{expect[1]}x{expect[0]}")
            return None
        return torch.from_numpy(data).permute(0, 3, 1, 2), self.info.rotation

    def _close_native(self) -> None:
        self._vr = None


def _device_id(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0
