"""OpenCV backend: ``cv2.VideoCapture`` (its FFmpeg backend), every grabbed frame identified by its timestamp.

OpenCV's own frame numbers come from ``(pts - start) * fps`` and are wrong on variable frame rate files
(``h6_vfr.mp4``: off by -1), and its seeks can land one frame late. So the reader never trusts a frame number: it
seeks with ``CAP_PROP_POS_MSEC`` to the keyframe before the wanted frame, identifies each grabbed frame by
``CAP_PROP_POS_MSEC`` against the index times, backs off to an earlier keyframe (at last, reopens at the start)
when a seek overshoots, and converts to RGB (``retrieve``) only the frames asked for. OpenCV cannot select among
several video streams and its timestamps for AVI packed B-frames are not the decoder's; those files use PyAV.
Rotation: OpenCV would apply it (``CAP_PROP_ORIENTATION_AUTO``); it is switched off so the base class does it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vidssl.data.decode.base import BackendUnavailableError
from vidssl.data.decode.verified import VerifiedReader

__all__ = ["OpenCVReader"]


def _import_cv2() -> Any:
    try:
        import cv2
    except Exception as exc:  # ImportError, or missing system libraries of a non-headless build
        raise BackendUnavailableError(f"OpenCV cannot load ({type(exc).__name__}: {exc}); "
                                      "install it: pip install opencv-python-headless") from exc
    return cv2


class OpenCVReader(VerifiedReader):
    """Frame-exact reader over OpenCV; see :class:`VerifiedReader` for arguments and ``fallback``."""

    backend = "opencv"

    @classmethod
    def check_available(cls, device: str = "cpu") -> None:
        """Raise :class:`BackendUnavailableError` unless OpenCV loads with its FFmpeg backend (CPU only)."""
        cv2 = _import_cv2()
        if device != "cpu":
            raise BackendUnavailableError(f"the opencv backend decodes on the CPU only (device={device!r})")
        if not hasattr(cv2, "CAP_FFMPEG"):
            raise BackendUnavailableError("OpenCV was built without FFmpeg; pip install opencv-python-headless")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._cap: Any = None
        self._pos: int | None = None  # last grabbed frame index
        self._offset = 0.0  # index time - OpenCV time (OpenCV counts from the stream start)
        super().__init__(*args, **kwargs)

    def _native_problem(self) -> str | None:
        if self.index.reordered:
            return "decoder pts are out of order (AVI packed B-frames)"
        if not self.index.identifiable:
            return "frames have no distinct pts to identify"
        if self.info.video_stream != 0:
            return "OpenCV always reads the first video stream"
        return None

    # -- capture handling --

    def _open_capture(self) -> Any:
        cv2 = _import_cv2()
        cap = cv2.VideoCapture(self._src.as_path(), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, self._num_threads])
        if not cap.isOpened():
            return None
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        return cap

    def _ensure_native(self) -> bool:
        if self._cap is not None:
            return True
        cap = self._open_capture()
        if cap is None:
            self._use_fallback("OpenCV cannot open the file")
            return False
        cv2 = _import_cv2()
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if (width, height) != (self.info.width, self.info.height):
            self._use_fallback(f"OpenCV reads a {width}x{height} stream, the selected one is "
                               f"{self.info.width}x{self.info.height}")
            return False
        if not cap.grab():
            self._use_fallback("OpenCV cannot decode the first frame")
            return False
        self._offset = float(self.index.times[0]) - cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        self._cap, self._pos = cap, 0
        return True

    def _grab(self) -> int | None:
        """Grab the next frame; its index, ``-1`` for a frame the index does not know, ``None`` at the end."""
        cv2 = _import_cv2()
        if not self._cap.grab():
            return None
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 + self._offset
        times = self.index.times
        i = int(np.searchsorted(times, t))
        best = min((j for j in (i - 1, i) if 0 <= j < len(times)), key=lambda j: abs(times[j] - t))
        return best if abs(times[best] - t) <= 0.5 * self.index.min_gap() else -1

    def _seek(self, frame: int) -> bool:
        """Position so the next grab is at or before ``frame``; returns False when that proved impossible."""
        cv2 = _import_cv2()
        point = self.index.seek_point(frame)
        while True:
            if point.pts is None:  # the start: reopen, as a seek to 0 is itself approximate in OpenCV
                self._cap.release()
                self._cap = None
                return self._ensure_native() and self._rewind_first()
            self._cap.set(cv2.CAP_PROP_POS_MSEC, (float(self.index.times[point.frame]) - self._offset) * 1000.0)
            landed = self._grab()
            if landed is not None and 0 <= landed <= frame:
                self._pos = landed
                return True
            point = self.index.previous_seek_point(point)  # overshot (or lost): start from further back

    def _rewind_first(self) -> bool:
        self._pos = 0  # _ensure_native grabbed frame 0
        return True

    def _decode_native(self, frames: np.ndarray) -> tuple[torch.Tensor, int] | None:
        if not self._ensure_native():
            return None
        out = np.empty((len(frames), self.info.height, self.info.width, 3), dtype=np.uint8)
        for slot, f in enumerate(frames.tolist()):
            point = self.index.seek_point(f)
            if self._pos is None or self._pos > f or point.frame > self._pos + 1:
                if not self._seek(f):
                    return None
            while self._pos != f:
                got = self._grab()
                if got is None or got > f:
                    self._use_fallback(f"OpenCV went past frame {f} (to {got})")
                    return None
                if got >= 0:
                    self._pos = got
            ok, bgr = self._cap.retrieve()
            if not ok:
                self._use_fallback(f"OpenCV cannot convert frame {f}")
                return None
            out[slot] = bgr[..., ::-1]
        return torch.from_numpy(out).permute(0, 3, 1, 2), 0

    def _close_native(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap, self._pos = None, None
