"""Probing one file into a manifest row: what really decodes, measured by the vidssl reader.

Everything measured comes from :func:`vidssl.data.decode.probe.probe` (the reader's single source of truth: frame
count from the packets that exist or a full decode, fps from the pts, keyframes, rotation, audio streams). This
module only adds the checks a corpus scan needs before decoding anything: the file exists and is readable, the
video stream has a decoder, and its size is below the pixel limit (a 30000x30000 header would otherwise make the
probe allocate gigabytes).
"""

from __future__ import annotations

import os
from typing import Any

from vidssl.data.decode.base import VideoReadError
from vidssl.data.decode.container import open_container, video_streams
from vidssl.data.decode.probe import Probe, probe
from vidssl.data.decode.source import VideoSource

__all__ = ["DEFAULT_MAX_PIXELS", "EXTRA_DEFAULTS", "error_row", "measure", "probe_job", "probe_row", "row_from_probe"]

DEFAULT_MAX_PIXELS = 8192 * 4320  # 8K UHD; anything larger is refused before decoding
# Extra manifest columns scan adds (kept as ints in rows of files that could not be measured).
EXTRA_DEFAULTS = {"header_frames": 0, "num_video_streams": 0, "num_audio_streams": 0}


def error_row(status: str, reason: str, path: str = "") -> dict[str, Any]:
    """A row for a file that could not be measured (messages lose their ``path:`` prefix: the row has the path)."""
    if path and reason.startswith(f"{path}: "):
        reason = reason[len(path) + 2 :]
    return {"status": status, "reason": reason, **EXTRA_DEFAULTS}


def row_from_probe(result: Probe) -> dict[str, Any]:
    """Manifest columns (see :mod:`vidssl.data.manifest`) from a reader probe."""
    info = result.info
    width, height = info.display_size
    keys = list(info.keyframes)
    audio = info.audio[0] if info.audio else None
    return {
        "status": "ok", "reason": "",
        "num_frames": info.num_frames, "fps": round(info.fps, 6), "duration": round(info.duration, 6),
        "width": width, "height": height, "rotation": info.rotation, "codec": info.codec, "pix_fmt": info.pix_fmt,
        "start_time": round(info.start_time, 6), "is_vfr": info.is_vfr,
        "keyframe_interval": round(info.num_frames / len(keys), 3) if keys else 0.0,
        "num_keyframes": len(keys), "keyframes": " ".join(str(k) for k in keys),
        "has_audio": audio is not None,
        "audio_codec": audio.codec if audio else "", "audio_rate": audio.sample_rate if audio else 0,
        "audio_channels": audio.channels if audio else 0,
        "audio_seconds": round(audio.duration or 0.0, 6) if audio else 0.0,
        "audio_start": round(audio.start_time, 6) if audio else 0.0,
        # extra columns: what the header claimed, and stream counts (files with several streams use the first)
        "header_frames": int(result.index.header_frames), "num_video_streams": info.num_video_streams,
        "num_audio_streams": len(info.audio),
    }


def _precheck(src: VideoSource, stream: int, max_pixels: int) -> dict[str, Any] | None:
    """Refuse files without a decoder for their video stream or above ``max_pixels``; ``None`` when fine."""
    container = open_container(src)
    try:
        videos = video_streams(container)
        if not 0 <= stream < len(videos):
            return None  # the probe raises the reader's own no_video_stream error
        ctx = videos[stream].codec_context
        if ctx is None or ctx.codec is None:
            tag = getattr(videos[stream], "codec_tag", "") or "unknown"
            return error_row("unsupported_codec", f"no decoder for video stream {stream} (codec {tag!r}); "
                             "re-encode it with a codec FFmpeg can decode")
        pixels = int(ctx.width or 0) * int(ctx.height or 0)
        if pixels > max_pixels:
            return error_row("too_large", f"{ctx.width}x{ctx.height} exceeds the limit of {max_pixels} pixels "
                             "(raise --max-pixels to accept it)")
    finally:
        container.close()
    return None


def probe_row(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, stream: int = 0,
              full_decode: bool = False) -> dict[str, Any]:
    """Measure one file; never raises for a bad file (the row's ``status``/``reason`` say what is wrong).

    Args:
        path: the file.
        max_pixels: refuse video streams with more pixels per frame than this.
        stream: which video stream (0-based among video streams).
        full_decode: count frames with a full decode (verify) instead of trusting checked packets (scan).

    Returns:
        Manifest columns, including ``size_bytes``.
    """
    return measure(path, max_pixels=max_pixels, stream=stream, full_decode=full_decode)[0]


def measure(path: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, stream: int = 0,
            full_decode: bool = False) -> tuple[dict[str, Any], Probe | None]:
    """:func:`probe_row` plus the reader's probe (``None`` when the file could not be measured)."""
    if not os.path.lexists(path):
        return error_row("missing", "file not found (deleted or moved since the listing)"), None
    if not os.path.exists(path):
        return error_row("missing", f"broken symbolic link to {os.readlink(path)!r}"), None
    size = os.stat(path).st_size
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        return {**error_row("unreadable", "permission denied (check the file's mode and owner)"),
                "size_bytes": size}, None
    except IsADirectoryError:
        return {**error_row("not_a_file", "is a directory"), "size_bytes": size}, None
    result = None
    try:
        src = VideoSource.from_any(path)
        refused = _precheck(src, stream, max_pixels)
        if refused is not None:
            return {**refused, "size_bytes": size}, None
        result = probe(src, stream=stream, full_decode=full_decode, use_cache=False)
        row = row_from_probe(result)
    except VideoReadError as exc:
        row = error_row(exc.reason, str(exc), path)
    except FileNotFoundError as exc:
        row = error_row("missing", str(exc), path)
    except MemoryError:
        row = error_row("too_large", "ran out of memory while probing (lower --workers or --max-pixels)")
    except Exception as exc:  # a reader bug on a strange file must cost this file only
        row = error_row("decode_error", f"{type(exc).__name__}: {exc}", path)
    row["size_bytes"] = size
    return row, result


def probe_job(payload: dict[str, Any]) -> dict[str, Any]:
    """Distributor job: ``{"path", "max_pixels", "stream", "full_decode"}`` -> row."""
    return probe_row(payload["path"], max_pixels=int(payload.get("max_pixels", DEFAULT_MAX_PIXELS)),
                     stream=int(payload.get("stream", 0)), full_decode=bool(payload.get("full_decode", False)))
