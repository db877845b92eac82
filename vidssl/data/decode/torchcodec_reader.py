"""torchcodec backend (CPU and CUDA): ``VideoDecoder.get_frames_at`` in exact seek mode, checked by pts.

The decoder is given our index (``custom_frame_mappings``) instead of scanning the file again. torchcodec numbers
frames by sorted pts, which is "frame i" wherever the decoder's pts are increasing; every
frame it returns carries its pts, and each is checked against the index (``h1_xvid_bframes.avi``: torchcodec's frame
i is frame i-1; AVI with packed B-frames is therefore served by PyAV from the start). torchcodec applies the display
rotation itself. References: torchcodec ``VideoDecoder`` (``custom_frame_mappings``, torchcodec PR #799),
``device="cuda"`` uses NVDEC through FFmpeg; not usable inside forked DataLoader workers (torchcodec #566).
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

import numpy as np
import torch

from vidssl.data.decode.base import BackendUnavailableError
from vidssl.data.decode.index import FrameIndex
from vidssl.data.decode.verified import VerifiedReader

__all__ = ["TorchCodecReader"]


def _import_torchcodec() -> Any:
    try:
        from torchcodec.decoders import VideoDecoder
    except Exception as exc:  # ImportError, or OSError/RuntimeError when the FFmpeg libraries cannot load
        raise BackendUnavailableError(
            f"torchcodec cannot load ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "install it: pip install torchcodec, plus the FFmpeg shared libraries (apt-get install ffmpeg)"
        ) from exc
    return VideoDecoder


class TorchCodecReader(VerifiedReader):
    """Frame-exact reader over torchcodec; see :class:`VerifiedReader` for arguments and ``fallback``."""

    backend = "torchcodec"

    @classmethod
    def check_available(cls, device: str = "cpu") -> None:
        """Raise :class:`BackendUnavailableError` unless torchcodec loads (and CUDA exists for ``cuda``)."""
        _import_torchcodec()
        if device != "cpu" and not torch.cuda.is_available():
            raise BackendUnavailableError(f"torchcodec cannot decode on {device!r}: no CUDA device is available")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._decoder: Any = None
        super().__init__(*args, **kwargs)  # a CUDA reader's PyAV fallback decodes on the CPU; frames are moved

    def _native_problem(self) -> str | None:
        if self.index.reordered:
            return "decoder pts are out of order (AVI packed B-frames): torchcodec's frame numbering differs"
        if not self.index.identifiable:
            return "frames have no distinct pts to verify"
        return None

    def _open_native(self) -> Any:
        if self._decoder is None:
            VideoDecoder = _import_torchcodec()
            source = self._src.path if self._src.path is not None else self._src.data
            try:
                # Our index as torchcodec's custom frame mapping: exact seeking without torchcodec's own file scan.
                self._decoder = VideoDecoder(source, stream_index=self.index.stream_index, dimension_order="NHWC",
                                             num_ffmpeg_threads=self._num_threads, device=self.device,
                                             custom_frame_mappings=_frame_mappings(self.index))
            except (RuntimeError, ValueError) as exc:
                self._use_fallback(f"torchcodec cannot open the file ({exc})")
                return None
        return self._decoder

    def _decode_native(self, frames: np.ndarray) -> tuple[torch.Tensor, int] | None:
        decoder = self._open_native()
        if decoder is None:
            return None
        try:
            batch = decoder.get_frames_at(frames.tolist())
        except RuntimeError as exc:
            self._use_fallback(f"torchcodec failed: {exc}")
            return None
        got = batch.pts_seconds.double().cpu().numpy()
        want = self.index.pts_seconds()[frames]
        wrong = np.abs(got - want) > 0.5 * self.index.min_gap()
        if wrong.any():
            k = int(np.flatnonzero(wrong)[0])
            self._use_fallback(f"frame {int(frames[k])}: torchcodec returned pts {got[k]:.4f}, expected {want[k]:.4f}")
            return None
        rotation = self.info.rotation if getattr(decoder.metadata, "rotation", None) else 0
        return batch.data.permute(0, 3, 1, 2), rotation

    def _close_native(self) -> None:
        self._decoder = None


@functools.lru_cache(maxsize=64)  # FrameIndex hashes by identity: one JSON per cached probe, not one per reader
def _frame_mappings(index: FrameIndex) -> str:
    """The index in torchcodec's ``custom_frame_mappings`` JSON (ffprobe ``-show_frames`` fields)."""
    pts = index.pts.tolist()
    gaps = [b - a for a, b in itertools.pairwise(pts)]
    last = sorted(gaps)[len(gaps) // 2] if gaps else 1
    keys = set(index.keyframes.tolist())
    frames = [{"pts": p, "duration": d, "key_frame": int(i in keys)}
              for i, (p, d) in enumerate(zip(pts, [*gaps, last]))]
    return json.dumps({"frames": frames})
