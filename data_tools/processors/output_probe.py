"""Measuring a file ``transcode`` just wrote, with PyAV only (no torch import: worker processes start fast).

Our outputs are H.264 in MP4 with one frame per packet, so the packets are the frames: the same measurement as
:func:`vidssl.data.decode.probe.probe` on a file whose packets it trusts (frame count and keyframes from the packets
in pts order, fps and VFR from the pts, size and pixel format from the first decoded frame, audio end from the last
audio packet), without importing the vidssl reader and torch into every worker (seconds per process, more than the
encode of a short clip). Anything unexpected (no packets, missing or repeated pts, corrupt packets, another codec)
falls back to the reader's full probe, so the manifest never holds a guess.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["measure_output"]

_ONE_FRAME_PER_PACKET = {"h264", "hevc", "mpeg4", "vp9", "av1"}


def _light(path: str) -> dict[str, Any] | None:
    """The manifest row of ``path`` from its packets, or ``None`` when they cannot be trusted."""
    import av

    with av.open(path, metadata_errors="replace") as container:
        if not container.streams.video:
            return None
        v = container.streams.video[0]
        codec = v.codec_context.name
        if codec not in _ONE_FRAME_PER_PACKET:
            return None
        audio = list(container.streams.audio)
        pts, keys, audio_end = [], [], {}
        for pkt in container.demux(v, *audio):
            if pkt.size == 0:
                continue
            if pkt.stream.type == "video":
                if pkt.pts is None or pkt.is_corrupt:
                    return None
                if pkt.is_discard:
                    continue
                pts.append(pkt.pts)
                keys.append(pkt.is_keyframe)
            elif pkt.pts is not None and pkt.time_base is not None:
                end = float((pkt.pts + (pkt.duration or 0)) * pkt.time_base)
                audio_end[pkt.stream.index] = max(audio_end.get(pkt.stream.index, end), end)
        if not pts or len(set(pts)) != len(pts):
            return None
        container.seek(0)
        first = next(container.decode(v), None)
        if first is None:
            return None
        tb = float(v.time_base)
        order = np.argsort(np.asarray(pts), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        keyframes = sorted({0, *(int(rank[i]) for i, k in enumerate(keys) if k)})
        times = np.sort(np.asarray(pts, dtype=np.float64)) * tb
        n = len(times)
        if n > 1 and times[-1] > times[0]:
            fps = (n - 1) / float(times[-1] - times[0])
            steps = np.diff(times)
            med = float(np.median(steps))
            is_vfr = bool(np.max(np.abs(steps - med)) > max(0.1 * med, 2.0 * tb))
        else:
            rate = v.average_rate or v.guessed_rate or v.base_rate
            fps, is_vfr = (float(rate) if rate else 25.0), False
        a0 = audio[0] if audio else None
        a_start = float(a0.start_time * a0.time_base) if a0 is not None and a0.start_time is not None else 0.0
        a_end = audio_end.get(a0.index) if a0 is not None else None
        if a0 is not None and a_end is None and a0.duration:
            a_end = a_start + float(a0.duration * a0.time_base)
        return {
            "status": "ok", "reason": "",
            "num_frames": n, "fps": round(fps, 6), "duration": round(n / fps, 6),
            "width": int(first.width), "height": int(first.height), "rotation": 0, "codec": codec,
            "pix_fmt": first.format.name, "start_time": round(float(times[0]), 6), "is_vfr": is_vfr,
            "keyframe_interval": round(n / len(keyframes), 3), "num_keyframes": len(keyframes),
            "keyframes": " ".join(str(k) for k in keyframes),
            "has_audio": a0 is not None,
            "audio_codec": a0.codec_context.name if a0 is not None else "",
            "audio_rate": int(a0.sample_rate or 0) if a0 is not None else 0,
            "audio_channels": int(a0.channels or 0) if a0 is not None else 0,
            "audio_seconds": round((a_end or a_start) - a_start, 6) if a0 is not None else 0.0,
            "audio_start": round(a_start, 6),
            "header_frames": int(v.frames or 0), "num_video_streams": len(container.streams.video),
            "num_audio_streams": len(audio),
        }


def measure_output(path: str) -> dict[str, Any]:
    """Manifest row of a transcoded file (``status`` not ``ok`` when it cannot be read), with ``size_bytes``.

    Uses the packets when they can be trusted, else the vidssl reader's probe (see the module docstring).
    """
    import os

    try:
        row = _light(path)
    except Exception:  # an unreadable output: let the reader's probe say precisely what is wrong
        row = None
    if row is None:
        from data_tools.processors.probe import probe_row

        return probe_row(path)
    row["size_bytes"] = os.path.getsize(path)
    return row
