"""Audio windows on the video's clock: ``read_audio(start_s, end_s)`` -> ``float32 [C, S]``.

Audio and video pts share the container clock, so a window ``[start_s, end_s)`` given in video pts seconds is read by
placing each decoded audio frame at its own pts (``h8_video_offset.mp4``: the video starts 0.5 s after the audio, and
the window lands on the right samples because neither stream is assumed to start at 0). Samples outside the stream
are zeros. The native-rate window (with a small margin against filter edge effects) is resampled once with FFmpeg's
swresample through PyAV, then cut to exactly ``round((end_s - start_s) * sample_rate)`` samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from vidssl.data.decode.base import MissingAudio, NoAudioError
from vidssl.data.decode.container import open_container, translate_av_error
from vidssl.data.decode.source import VideoSource
from vidssl.types import VideoInfo

__all__ = ["read_audio"]

_MARGIN_S = 0.02  # extra audio each side so the resampling filter sees real neighbours at the window edges
_SEEK_SLACK_S = 0.5  # seek this much before the window: audio packets are all keyframes, but demuxers round


def read_audio(src: VideoSource, info: VideoInfo, start_s: float, end_s: float, sample_rate: int = 16000,
               mono: bool = True, *, stream: int = 0, missing: MissingAudio = "raise") -> torch.Tensor:
    """Read ``[start_s, end_s)`` of audio stream ``stream``, resampled to ``sample_rate``.

    Args:
        src: the file.
        info: its probe (audio streams, for the native rate and channel count).
        start_s: window start in seconds on the file clock (the clock of the video pts).
        end_s: window end (exclusive).
        sample_rate: output rate in Hz.
        mono: average the channels into one.
        stream: which audio stream (0-based among audio streams).
        missing: ``"raise"`` raises :class:`NoAudioError` when the file has no such stream; ``"silence"`` returns
            zeros (1 channel if ``mono`` else 2).

    Returns:
        ``float32 [C, round((end_s - start_s) * sample_rate)]`` in [-1, 1].

    Raises:
        ValueError: ``end_s < start_s`` or a non-positive ``sample_rate``.
        NoAudioError: no audio stream ``stream`` and ``missing == "raise"``.
    """
    if end_s < start_s:
        raise ValueError(f"{src.name}: audio window end {end_s} is before its start {start_s}")
    if sample_rate <= 0:
        raise ValueError(f"{src.name}: sample_rate must be > 0, got {sample_rate}")
    n_out = round((end_s - start_s) * sample_rate)
    if not 0 <= stream < len(info.audio):
        if missing == "silence":
            return torch.zeros((1 if mono else 2, n_out), dtype=torch.float32)
        have = f"has {len(info.audio)} audio stream(s)" if info.audio else "has no audio stream"
        raise NoAudioError(src.name, f"{have}; audio stream {stream} was requested")
    meta = info.audio[stream]
    channels = 1 if mono else max(meta.channels, 1)
    if n_out == 0:
        return torch.zeros((channels, 0), dtype=torch.float32)
    rate = meta.sample_rate
    lo = start_s - _MARGIN_S
    n_native = math.ceil((end_s - start_s + 2 * _MARGIN_S) * rate) + 1
    native = _decode_native(src, stream, lo, n_native, rate, meta.start_time)
    if mono and native.shape[0] > 1:
        native = native.mean(axis=0, keepdims=True)
    out = native if rate == sample_rate else _resample(native, rate, sample_rate)
    skip = round(_MARGIN_S * sample_rate)
    out = out[:, skip : skip + n_out]
    if out.shape[1] < n_out:
        out = np.pad(out, ((0, 0), (0, n_out - out.shape[1])))
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


def _decode_native(src: VideoSource, stream: int, lo: float, n: int, rate: int, stream_start: float) -> np.ndarray:
    """Samples ``[lo, lo + n / rate)`` at the native rate, ``float32 [C, n]``, zeros where the stream has none."""
    import av

    container = open_container(src)
    try:
        astream = container.streams.audio[stream]
        buf: np.ndarray | None = None
        hi = lo + n / rate
        target = max(lo - _SEEK_SLACK_S, stream_start)
        for attempt in range(2):
            if attempt == 0 and target > stream_start + _SEEK_SLACK_S:
                container.seek(int(target / astream.time_base), stream=astream, backward=True)
            elif attempt == 1:
                container.seek(0)
            placed_first: float | None = None
            buf = None
            try:
                for frame in container.decode(astream):
                    if frame.pts is None:
                        continue
                    t0 = float(frame.pts * frame.time_base)
                    placed_first = t0 if placed_first is None else placed_first
                    if t0 >= hi:
                        break
                    samples = _planar(frame)
                    if buf is None:
                        buf = np.zeros((samples.shape[0], n), dtype=np.float32)
                    _place(buf, samples, round((t0 - lo) * rate))
            except (av.error.FFmpegError, EOFError) as exc:
                if buf is None:
                    raise translate_av_error(src.name, exc, "decoding audio") from exc
            # A seek that overshot the window start must not leave silence where audio exists: read from the start.
            if placed_first is None or placed_first <= max(lo, stream_start) + 1e-3 or attempt == 1:
                break
        if buf is None:
            buf = np.zeros((max(int(astream.channels or 1), 1), n), dtype=np.float32)
        return buf
    finally:
        container.close()


def _planar(frame: Any) -> np.ndarray:
    """Audio frame as ``float32 [C, S]`` in [-1, 1], whatever its sample format."""
    arr = frame.to_ndarray()
    fmt = frame.format
    ch = len(frame.layout.channels)
    if not fmt.is_planar:
        arr = arr.reshape(-1, ch).T
    if arr.dtype.kind == "i":
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    elif arr.dtype.kind == "u":  # u8 audio is offset binary
        arr = (arr.astype(np.float32) - 128.0) / 128.0
    return arr.astype(np.float32, copy=False).reshape(ch, -1)


def _place(buf: np.ndarray, samples: np.ndarray, offset: int) -> None:
    """Copy ``samples`` into ``buf`` starting at column ``offset`` (clipped to the buffer)."""
    n = buf.shape[1]
    a, b = max(offset, 0), min(offset + samples.shape[1], n)
    if a < b:
        c = min(samples.shape[0], buf.shape[0])
        buf[:c, a:b] = samples[:c, a - offset : b - offset]


def _resample(native: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    """Resample ``float32 [C, S]`` from ``rate`` to ``out_rate`` with swresample (time-aligned, flushed)."""
    import av

    channels = native.shape[0]
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}c"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(native, dtype=np.float32), format="fltp", layout=layout)
    frame.sample_rate = rate
    frame.pts = 0
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
    pieces = [f.to_ndarray() for f in resampler.resample(frame)]
    pieces += [f.to_ndarray() for f in resampler.resample(None)]
    if not pieces:
        return np.zeros((channels, 0), dtype=np.float32)
    return np.concatenate(pieces, axis=1).astype(np.float32, copy=False)
