"""Motion profile of one video (``motion``): mean motion magnitude per window of frames, at low resolution.

The video is decoded once, sequentially, in presentation order (frame ``i`` is frame ``i`` of a full decode, the
index planners use). Each frame is shrunk by FFmpeg's scaler (area filter) to ``size`` pixels on its short side, and
the motion of frame ``i`` is measured against frame ``i - 1``:

* ``diff`` (default): mean absolute difference of the gray thumbnails (gray = mean of R, G, B), the same measure as
  :func:`vidssl.data.datasets.motion.frame_difference_motion` (the online ``MotionEstimate``), so offline and online
  profiles are comparable;
* ``farneback``: mean magnitude of OpenCV's dense Farneback optical flow between the thumbnails, in thumbnail
  pixels per frame (slower; separates real motion from flicker and fades).

Frame 0 gets the value of frame 1 (as ``frame_difference_motion`` does). The per-frame values are averaged over
windows of ``window`` frames (the last window may be shorter) and stored in the manifest as ``motion`` (space-separated
floats) and ``motion_window`` (frames per window), which :func:`vidssl.data.manifest.row_to_meta` expands back to one
value per frame for the planners.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["METHODS", "format_profile", "motion_job", "motion_profile", "thumbnail_size", "window_means"]

METHODS = ("diff", "farneback")
_DECIMALS = 4


def thumbnail_size(width: int, height: int, size: int) -> tuple[int, int]:
    """``(width, height)`` with the short side ``size`` (never enlarged), aspect kept, at least 1 pixel."""
    short = min(width, height)
    scale = min(1.0, size / short) if short > 0 else 1.0
    return max(1, round(width * scale)), max(1, round(height * scale))


def window_means(per_frame: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``per_frame`` over consecutive windows of ``window`` frames (the last one may be shorter)."""
    n = len(per_frame)
    if n == 0:
        return np.zeros(0, np.float32)
    starts = np.arange(0, n, window)
    sums = np.add.reduceat(per_frame.astype(np.float64), starts)
    counts = np.minimum(starts + window, n) - starts
    return (sums / counts).astype(np.float32)


def format_profile(values: np.ndarray) -> str:
    """The manifest's ``motion`` text: space-separated values with 4 decimals."""
    return " ".join(f"{v:.{_DECIMALS}f}" for v in values)


def _farneback(prev: np.ndarray, cur: np.ndarray) -> float:
    import cv2

    flow = cv2.calcOpticalFlowFarneback(prev, cur, None, pyr_scale=0.5, levels=2, winsize=9, iterations=2,
                                        poly_n=5, poly_sigma=1.1, flags=0)
    return float(np.sqrt((flow.astype(np.float64) ** 2).sum(axis=-1)).mean())


def motion_profile(path: str, *, size: int = 32, method: str = "diff", stream: int = 0) -> np.ndarray:
    """Per-frame motion magnitude of the video stream ``stream`` of ``path`` (float32 ``[decoded frames]``).

    Args:
        path: the video.
        size: thumbnail short side in pixels (32 is plenty for ranking windows; larger costs more).
        method: ``diff`` or ``farneback`` (see the module docstring).
        stream: video stream index among the file's video streams.

    Raises:
        ValueError: unknown method or no video stream.
        av.error.FFmpegError: the file does not decode.
    """
    if method not in METHODS:
        raise ValueError(f"unknown motion method {method!r}; choose from {', '.join(METHODS)}")
    import av

    values: list[float] = []
    prev: np.ndarray | None = None
    with av.open(path, metadata_errors="replace") as container:
        videos = list(container.streams.video)
        if not 0 <= stream < len(videos):
            raise ValueError(f"no video stream {stream} (the file has {len(videos)})")
        vin = videos[stream]
        vin.thread_type = "AUTO"
        dims: tuple[int, int] | None = None
        for frame in container.decode(vin):
            if dims is None:
                dims = thumbnail_size(frame.width, frame.height, size)
            small = frame.reformat(width=dims[0], height=dims[1], format="rgb24", interpolation="AREA").to_ndarray()
            gray = small.astype(np.float32).mean(axis=2)
            if prev is not None:
                if method == "diff":
                    values.append(float(np.abs(gray - prev).mean()))
                else:
                    values.append(_farneback(prev.astype(np.uint8), gray.astype(np.uint8)))
            prev = gray
    if prev is None:
        return np.zeros(0, np.float32)
    if not values:
        return np.zeros(1, np.float32)
    return np.asarray([values[0], *values], np.float32)


def motion_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Distributor job: ``{"path", "window", "size", "method", "stream"}`` -> ``motion``/``motion_window`` updates.

    A file that does not decode gets status ``decode_error`` and the motion columns are left empty.
    """
    window = int(payload["window"])
    try:
        per_frame = motion_profile(payload["path"], size=int(payload["size"]), method=str(payload["method"]),
                                   stream=int(payload.get("stream", 0)))
    except Exception as exc:  # a file that does not decode is a finding for this row, not a crash of the run
        return _failed(f"motion: {type(exc).__name__}: {exc}")
    if per_frame.size == 0:
        return _failed("motion: no video frame decodes")
    return {"status": "ok", "reason": "", "motion": format_profile(window_means(per_frame, window)),
            "motion_window": window,
            "motion_frames": int(per_frame.size)}


def _failed(reason: str) -> dict[str, Any]:
    """Row updates of a video whose motion could not be measured (the other columns are left as they were).

    This module imports only numpy and PyAV (OpenCV for ``farneback``): worker processes start fast.
    """
    return {"status": "decode_error", "reason": reason, "motion": "", "motion_window": 0, "motion_frames": 0}
