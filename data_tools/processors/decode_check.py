"""Full decode check of one file (``verify``): every frame and all of the audio, through the vidssl reader.

The frame count comes from the reader's full sequential decode (``probe(..., full_decode=True)``: no colour
conversion, so it costs the codec's own decode time). A file that decodes fewer frames than its packets promise is
damaged in the middle: FFmpeg stops at the damage (what training would hit at random), so the row gets ``corrupt``
with the count. Audio is read in windows with the reader's ``read_audio`` so the check costs bounded memory.
"""

from __future__ import annotations

from typing import Any

from data_tools.processors.probe import error_row, measure
from vidssl.data.decode.audio import read_audio
from vidssl.data.decode.base import VideoReadError
from vidssl.data.decode.source import VideoSource
from vidssl.types import VideoInfo

__all__ = ["check_audio", "decode_check_job"]

_AUDIO_WINDOW_S = 60.0  # seconds of audio decoded per call (bounded memory on hour-long files)


def check_audio(path: str, info: VideoInfo, stream: int = 0) -> str:
    """Decode all audio of ``stream`` in windows; returns an error message, or "" when it decodes."""
    try:
        src = VideoSource.from_any(path)
        if not info.audio:
            return ""
        a = info.audio[min(stream, len(info.audio) - 1)]
        start, end = a.start_time, a.start_time + (a.duration or info.duration)
        t = start
        while t < end:
            read_audio(src, info, t, min(t + _AUDIO_WINDOW_S, end), sample_rate=max(a.sample_rate, 1), mono=True,
                       stream=a.index)
            t += _AUDIO_WINDOW_S
    except VideoReadError as exc:
        return str(exc)
    except Exception as exc:  # any decoder failure in the audio is a finding, not a crash of the run
        return f"{type(exc).__name__}: {exc}"
    return ""


def decode_check_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Distributor job: ``{"path", "stream", "expected_frames", "audio", "max_pixels"}`` -> row updates.

    The updates refresh every measured column from the full decode and set ``verified``.
    """
    path = payload["path"]
    row, measured = measure(path, stream=int(payload.get("stream", 0)), full_decode=True,
                            max_pixels=int(payload["max_pixels"]))
    row["verified"] = True
    if row["status"] != "ok":
        return row
    expected = int(payload.get("expected_frames", 0) or 0)
    if expected and row["num_frames"] < expected:
        return {**row, **error_row("corrupt", f"only {row['num_frames']} of {expected} frames decode (damaged "
                                   f"after frame {row['num_frames'] - 1}); re-encode or drop it")}
    if payload.get("audio", True) and measured is not None and row.get("has_audio"):
        problem = check_audio(path, measured.info)
        if problem:
            return {**row, **error_row("corrupt_audio", f"audio does not decode: {problem}", path)}
    return row
