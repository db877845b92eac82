"""Measuring a file: one demux pass (plus a short or full decode) gives its ``VideoInfo`` and ``FrameIndex``.

Header fields are read but never trusted: frame counts come from the packets that really exist (edit-list
discards removed), checked against a decode of the first frames, or from a full decode where packets cannot be
trusted (see :mod:`vidssl.data.decode.index`). Results are cached per process, keyed by path, size and mtime, and
optionally on disk (:mod:`vidssl.data.decode.index_store`, ``VIDSSL_INDEX_CACHE``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from vidssl.data.decode.base import CorruptVideoError
from vidssl.data.decode.container import open_container, select_video_stream, translate_av_error, video_streams
from vidssl.data.decode.index import FrameIndex, index_from_pts
from vidssl.data.decode.index_store import load_entry, save_entry
from vidssl.data.decode.source import SourceLike, VideoSource
from vidssl.types import AudioStreamInfo, VideoInfo

__all__ = ["Probe", "clear_probe_cache", "probe", "probe_video", "replace_cached"]

# Containers whose packet pts are not the decoder's frame pts (AVI stores decode order; raw streams have none).
_UNTRUSTED_FORMATS = {"avi", "h264", "hevc", "m4v", "mpegvideo", "rawvideo", "mjpeg", "h263", "ivf"}
# Codecs where one packet holds exactly one frame once it is in a pts-carrying container.
_ONE_FRAME_PER_PACKET = {
    "h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "ffv1", "mjpeg", "prores", "png", "rawvideo", "dnxhd", "vc1",
    "mpeg2video", "mpeg1video", "theora", "huffyuv", "utvideo", "qtrle",
}
_VERIFY_FRAMES = 16  # frames decoded to check a demux index (more than any B-pyramid reorder delay)
_CACHE_SIZE = 512


@dataclass(frozen=True)
class Probe:
    """What opening a file measured: its ``info`` and the frame ``index`` of the selected stream."""

    info: VideoInfo
    index: FrameIndex


_cache: OrderedDict[tuple, Probe] = OrderedDict()
_cache_lock = threading.Lock()


def clear_probe_cache() -> None:
    """Forget every cached probe of this process."""
    with _cache_lock:
        _cache.clear()


def replace_cached(src: VideoSource, stream: int, result: Probe) -> None:
    """Store ``result`` as the cached probe of ``src`` (after a reader rebuilt a wrong index)."""
    with _cache_lock:
        _cache[(*src.key, stream)] = result
    save_entry((*src.key, stream), _to_entry(result))


def _to_entry(result: Probe) -> dict[str, Any]:
    return {"info": dataclasses.asdict(result.info), "index": result.index.to_dict()}


def _from_entry(entry: dict[str, Any]) -> Probe:
    info = dict(entry["info"])
    info["audio"] = tuple(AudioStreamInfo(**a) for a in info["audio"])
    info["keyframes"] = tuple(info["keyframes"])
    return Probe(info=VideoInfo(**info), index=FrameIndex.from_dict(entry["index"]))


def probe_video(source: SourceLike, *, stream: int = 0, full_decode: bool = False) -> VideoInfo:
    """Measure a video file without decoding it to RGB.

    Args:
        source: path or bytes.
        stream: which video stream (0-based among video streams).
        full_decode: count frames with a full decode even where the packets can be trusted (slower; what
            ``vidssl-data verify`` wants).

    Returns:
        The file's ``VideoInfo`` (frame count, fps, keyframes, rotation, audio streams...).

    Raises:
        FileNotFoundError: no such file.
        CorruptVideoError: zero bytes, not a video, truncated, or nothing decodes.
        NoVideoStreamError: no (such) video stream.
    """
    return probe(VideoSource.from_any(source), stream=stream, full_decode=full_decode).info


def probe(src: VideoSource, *, stream: int = 0, full_decode: bool = False, use_cache: bool = True) -> Probe:
    """Cached :class:`Probe` of ``src``; see :func:`probe_video`."""
    key = (*src.key, stream)
    if use_cache:
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and (hit.index.method == "decode" or not full_decode):
                _cache.move_to_end(key)
                return hit
        stored = load_entry(key)
        if stored is not None and (stored["index"]["method"] == "decode" or not full_decode):
            result = _from_entry(stored)
            with _cache_lock:
                _cache[key] = result
            return result
    result = _measure(src, stream, full_decode)
    if use_cache:
        save_entry(key, _to_entry(result))
        with _cache_lock:
            _cache[key] = result
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return result


def _measure(src: VideoSource, stream: int, full_decode: bool) -> Probe:
    container = open_container(src)
    try:
        vstream = select_video_stream(container, stream, src.name)
        n_video = len(video_streams(container))
        packets, audio_end = _demux(container, vstream, src.name)
        fmt = container.format.name.split(",")[0]
        codec = vstream.codec_context.name
        index, first = None, None
        if not full_decode and _packets_trustworthy(packets, fmt, codec):
            index = _index_from_packets(packets, vstream)
            ok, first = _verify_prefix(*_reopen(src, container, stream), index)
            if not ok:
                index = None
        if index is None:
            index, first = _index_from_decode(*_reopen(src, container, stream), src.name, packets)
        index = dataclasses.replace(index, stream_index=vstream.index)
        if len(index) == 0:
            raise CorruptVideoError(src.name, "no frame decodes", reason="no_frames")
        info = _info(src.name, container, vstream, index, first, stream, n_video, audio_end)
        return Probe(info=info, index=index)
    finally:
        container.close()


def _reopen(src: VideoSource, container: Any, stream: int) -> tuple[Any, Any]:
    """Seek ``container`` back to its start (a fresh open where the demuxer cannot seek)."""
    import av

    try:
        container.seek(0)
        return container, select_video_stream(container, stream, src.name)
    except (av.error.FFmpegError, OSError):
        fresh = open_container(src)
        return fresh, select_video_stream(fresh, stream, src.name)


def _demux(container: Any, vstream: Any, name: str) -> tuple[list[tuple], dict[int, float]]:
    """All packets of ``vstream`` as ``(pts, is_key, is_discard, is_corrupt)``; end time (s) of each audio stream."""
    import av

    audio = list(container.streams.audio)
    packets: list[tuple] = []
    audio_end: dict[int, float] = {}
    try:
        for pkt in container.demux(vstream, *audio):
            if pkt.size == 0:  # end-of-stream marker
                continue
            if pkt.stream.type == "video":
                packets.append((pkt.pts, pkt.is_keyframe, pkt.is_discard, pkt.is_corrupt))
            elif pkt.pts is not None and pkt.time_base is not None:
                end = float((pkt.pts + (pkt.duration or 0)) * pkt.time_base)
                audio_end[pkt.stream.index] = max(audio_end.get(pkt.stream.index, end), end)
    except (av.error.FFmpegError, EOFError) as exc:
        if not packets:
            raise translate_av_error(name, exc, "reading packets") from exc
        packets.append((None, False, False, True))  # a damaged tail: makes the packets untrustworthy
    return packets, audio_end


def _packets_trustworthy(packets: list[tuple], fmt: str, codec: str) -> bool:
    if fmt in _UNTRUSTED_FORMATS or codec not in _ONE_FRAME_PER_PACKET or not packets:
        return False
    kept = [p for p in packets if not p[2]]
    if not kept or any(p[0] is None or p[3] for p in kept):
        return False
    pts = [p[0] for p in kept]
    return len(set(pts)) == len(pts)


def _index_from_packets(packets: list[tuple], vstream: Any) -> FrameIndex:
    kept = [p for p in packets if not p[2]]
    pts = np.array([p[0] for p in kept], dtype=np.int64)
    order = np.argsort(pts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    keys = np.sort(rank[[i for i, p in enumerate(kept) if p[1]]]) if any(p[1] for p in kept) else np.zeros(0, int)
    # Open GOP: a packet after keyframe k (decode order) shown before it. Only keyframes after the first count.
    open_gop = _has_open_gop(kept)
    tb = Fraction(vstream.time_base)
    sorted_pts = pts[order]
    return FrameIndex(
        pts=sorted_pts, times=sorted_pts.astype(np.float64) * float(tb), keyframes=keys, time_base=tb,
        method="demux", open_gop=open_gop, discarded=len(packets) - len(kept),
        header_frames=int(vstream.frames or 0), packets=len(packets),
    )


def _has_open_gop(kept: list[tuple]) -> bool:
    """Whether a keyframe after the first is followed (decode order) by a packet shown before it."""
    key_pts = None  # pts of the latest keyframe after the first packet
    for j, p in enumerate(kept):
        if p[0] is None:
            continue
        if p[1] and j > 0:
            key_pts = p[0]
        elif key_pts is not None and p[0] < key_pts:
            return True
    return False


def _verify_prefix(container: Any, vstream: Any, index: FrameIndex) -> tuple[bool, Any]:
    """Decode the first frames and check they are the index's first frames; returns (ok, first frame)."""
    import av

    want = min(len(index), _VERIFY_FRAMES)
    got: list[int | None] = []
    first = None
    try:
        for frame in container.decode(vstream):
            if first is None:
                first = frame
            got.append(frame.pts)
            if len(got) >= want:
                break
    except (av.error.FFmpegError, EOFError):
        return False, first
    return got == index.pts[:want].tolist(), first


def _index_from_decode(container: Any, vstream: Any, name: str, packets: list[tuple]) -> tuple[FrameIndex, Any]:
    """Full sequential decode (no colour conversion): the ground truth, used where packets cannot be trusted."""
    import av

    vstream.codec_context.thread_type = "AUTO"  # sequential: frame threads help and cost nothing here
    pts: list[int | None] = []
    keys: list[bool] = []
    first = None
    try:
        for frame in container.decode(vstream):
            if first is None:
                first = frame
            pts.append(frame.pts)
            keys.append(bool(frame.key_frame))
    except (av.error.FFmpegError, EOFError) as exc:
        if not pts:
            raise translate_av_error(name, exc, "decoding") from exc
        # Frames before the damage are what a sequential decode yields; the rest do not exist.
    tb = Fraction(vstream.time_base)
    if any(p is None for p in pts):  # no timestamps at all: frames can only be counted
        rate = vstream.average_rate or vstream.guessed_rate or 25
        tb = Fraction(1, 1) / Fraction(rate)
        pts = list(range(len(pts)))
        extra_ident = False
    else:
        extra_ident = True
    index = index_from_pts(
        pts, keys, tb, "decode", header_frames=int(vstream.frames or 0), packets=len(packets),
        discarded=sum(1 for p in packets if p[2]), open_gop=_has_open_gop([p for p in packets if not p[2]]),
    )
    if not extra_ident:
        index = FrameIndex(**{**index.to_dict(), "time_base": tb, "identifiable": False})
    return index, first


def _rotation(frame: Any) -> int:
    """Clockwise degrees to rotate for display, from the frame's display matrix (FFmpeg gives counter-clockwise)."""
    try:
        ccw = float(getattr(frame, "rotation", 0) or 0)
    except (TypeError, ValueError):
        return 0
    return round(-ccw / 90.0) % 4 * 90


def _info(name: str, container: Any, vstream: Any, index: FrameIndex, first: Any, stream: int, n_video: int,
          audio_end: dict[int, float]) -> VideoInfo:
    times = index.times
    n = len(index)
    if n > 1 and times[-1] > times[0]:
        fps = (n - 1) / float(times[-1] - times[0])
        steps = np.diff(times)
        med = float(np.median(steps))
        is_vfr = bool(np.max(np.abs(steps - med)) > max(0.1 * med, 2.0 * float(index.time_base)))
    else:
        rate = vstream.average_rate or vstream.guessed_rate or vstream.base_rate
        fps = float(rate) if rate else 25.0
        is_vfr = False
    width = first.width if first is not None else vstream.codec_context.width
    height = first.height if first is not None else vstream.codec_context.height
    pix_fmt = first.format.name if first is not None else (vstream.codec_context.pix_fmt or "")
    audio = []
    for i, a in enumerate(container.streams.audio):
        tb = a.time_base
        start = float(a.start_time * tb) if a.start_time is not None and tb is not None else 0.0
        end = audio_end.get(a.index)
        dur = end - start if end is not None else (float(a.duration * tb) if a.duration and tb else None)
        audio.append(AudioStreamInfo(index=i, codec=a.codec_context.name, sample_rate=int(a.sample_rate or 0),
                                     channels=int(a.channels or 0), start_time=start, duration=dur))
    return VideoInfo(
        path=name, num_frames=n, fps=float(fps), duration=n / fps, width=int(width), height=int(height),
        rotation=_rotation(first) if first is not None else 0, codec=vstream.codec_context.name, pix_fmt=pix_fmt,
        start_time=float(times[0]) if n else 0.0,
        keyframes=tuple(sorted({0, *index.keyframes.tolist()})) if n else (),
        is_vfr=is_vfr, video_stream=stream, num_video_streams=n_video, audio=tuple(audio),
    )
