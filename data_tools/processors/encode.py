"""Encoding one training-friendly copy: FFmpeg through PyAV (always available), or the ffmpeg binary.

Both encoders do the same conversion, so either can be used and the benchmark can compare them:

* video: first video stream, rotation baked in (FFmpeg's ``transpose``/``hflip,vflip``, as the ffmpeg command line
  does with its default autorotate), scaled so the short side is ``short_side`` (aspect kept, even dimensions,
  never upscaled unless asked), resampled to a constant ``fps`` (the ``fps`` filter: VFR becomes CFR), H.264
  ``yuv420p`` with a keyframe at least every ``gop`` frames (fast random access), ``crf``/``preset`` quality;
* audio: first audio stream, when present and wanted, to AAC mono at ``audio_rate`` Hz;
* container: MP4 with the index first (``+faststart``); the earliest stream starts at 0 and the video/audio offset of
  the source is kept (as the ffmpeg command line does).
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = ["EncodeSettings", "encode_ffmpeg", "encode_pyav", "ffmpeg_command", "output_geometry"]


@dataclass(frozen=True)
class EncodeSettings:
    """What a transcode produces (see the ``transcode`` command's options).

    Attributes:
        short_side: target length of the shorter displayed side in pixels; 0 keeps the size.
        upscale: also enlarge videos smaller than ``short_side``.
        fps: output frame rate; 0 keeps the source's average rate (VFR sources become CFR at that rate).
        gop: maximum frames between keyframes.
        crf: x264 constant rate factor (lower = better quality, bigger files).
        preset: x264 speed preset.
        audio: keep the first audio stream (as AAC mono).
        audio_rate: output sample rate in Hz.
        threads: decoder and encoder threads per file (0 = FFmpeg's automatic choice).
    """

    short_side: int = 256
    upscale: bool = False
    fps: float = 0.0
    gop: int = 16
    crf: float = 23.0
    preset: str = "veryfast"
    audio: bool = True
    audio_rate: int = 16000
    threads: int = 1


def _even(x: float) -> int:
    return max(2, 2 * round(x / 2))


def output_geometry(width: int, height: int, settings: EncodeSettings) -> tuple[int, int]:
    """Output ``(width, height)`` for a displayed (rotation applied) ``width x height`` source."""
    short = min(width, height)
    scale = 1.0
    if settings.short_side and short > 0 and (short > settings.short_side or settings.upscale):
        scale = settings.short_side / short
    return _even(width * scale), _even(height * scale)


def output_rate(source_fps: float, settings: EncodeSettings) -> Fraction:
    """The output frame rate as a fraction (29.97 -> 30000/1001)."""
    return Fraction(settings.fps or source_fps or 25.0).limit_denominator(1001)


def _rotation_filters(rotation: int) -> list[tuple[str, str]]:
    """Filters that turn stored frames into displayed frames (``rotation`` = clockwise degrees for display)."""
    return {90: [("transpose", "clock")], 180: [("hflip", ""), ("vflip", "")],
            270: [("transpose", "cclock")]}.get(rotation % 360, [])


def _die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux): a SIGKILLed run leaves no encoder running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def ffmpeg_command(src: str, dst: str, *, width: int, height: int, rate: Fraction, settings: EncodeSettings,
                   has_audio: bool, binary: str = "ffmpeg") -> list[str]:
    """The ffmpeg command line doing the same conversion as :func:`encode_pyav` (autorotate is ffmpeg's default)."""
    t = str(settings.threads)
    cmd = [binary, "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", t, "-i", src, "-map", "0:v:0"]
    if settings.audio and has_audio:
        cmd += ["-map", "0:a:0", "-c:a", "aac", "-ac", "1", "-ar", str(settings.audio_rate)]
    else:
        cmd += ["-an"]
    cmd += ["-sn", "-dn", "-filter_threads", t, "-vf", f"scale={width}:{height},fps={rate},format=yuv420p",
            "-c:v", "libx264", "-preset", settings.preset, "-crf", f"{settings.crf:g}", "-g", str(settings.gop),
            "-threads", t, "-movflags", "+faststart", "-f", "mp4", dst]
    return cmd


def encode_ffmpeg(src: str, dst: str, *, width: int, height: int, rate: Fraction, settings: EncodeSettings,
                  has_audio: bool, binary: str = "ffmpeg") -> None:
    """Run the ffmpeg binary (killed with this process).

    Raises:
        RuntimeError: ffmpeg failed; the message holds its last error lines.
    """
    cmd = ffmpeg_command(src, dst, width=width, height=height, rate=rate, settings=settings, has_audio=has_audio,
                         binary=binary)
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", preexec_fn=_die_with_parent)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"ffmpeg exited with {proc.returncode}: {tail}")


def encode_pyav(src: str, dst: str, *, width: int, height: int, rate: Fraction, settings: EncodeSettings,
                rotation: int = 0) -> None:
    """Decode, filter and encode with PyAV's bundled FFmpeg (no binary needed).

    Raises:
        av.error.FFmpegError: decoding or encoding failed.
    """
    import av

    with av.open(src, metadata_errors="replace") as inp:
        vin = next((s for s in inp.streams.video if not int(s.disposition) & 0x400), None)  # skip cover art
        if vin is None:
            raise ValueError("no video stream (only cover art or none)")
        ain = inp.streams.audio[0] if settings.audio and inp.streams.audio else None
        for s in (vin, ain):
            if s is not None:
                s.thread_type = "AUTO"
                s.codec_context.thread_count = settings.threads
        offset = min(_start(s) for s in (vin, ain) if s is not None)  # earliest stream starts at 0, as ffmpeg does
        with av.open(dst, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = width, height, "yuv420p"
            vout.codec_context.thread_count = settings.threads
            vout.options = {"crf": f"{settings.crf:g}", "preset": settings.preset, "g": str(settings.gop)}
            aout = out.add_stream("aac", rate=settings.audio_rate, layout="mono") if ain is not None else None
            graph = None
            streams = [s for s in (vin, ain) if s is not None]
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is vin:
                        if graph is None:
                            graph = _video_graph(frame, vin, width, height, rate, rotation, settings.threads)
                        frame.pts = _shift(frame.pts, offset, vin.time_base)
                        graph.push(frame)
                        _drain(graph, vout, out)
                    else:
                        frame.pts = _shift(frame.pts, offset, ain.time_base)  # type: ignore[union-attr]
                        for pkt in aout.encode(frame):  # type: ignore[union-attr]
                            out.mux(pkt)
            if graph is None:
                raise RuntimeError("no video frame decodes")
            graph.push(None)
            _drain(graph, vout, out)
            for stream in (vout, aout):
                if stream is not None:
                    for pkt in stream.encode(None):
                        out.mux(pkt)


def _start(stream: Any) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _shift(pts: int | None, offset_s: float, time_base: Fraction) -> int | None:
    return None if pts is None else pts - round(offset_s / time_base)


def _video_graph(frame: Any, stream: Any, width: int, height: int, rate: Fraction, rotation: int,
                 threads: int) -> Any:
    """Buffer -> rotate -> scale -> fps -> yuv420p -> buffersink, built from the first decoded frame."""
    import av

    graph = av.filter.Graph()
    graph.threads = threads
    src = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                           time_base=stream.time_base)
    nodes = [src]
    for name, arg in [*_rotation_filters(rotation), ("scale", f"{width}:{height}"), ("fps", str(rate)),
                      ("format", "yuv420p")]:
        nodes.append(graph.add(name, arg) if arg else graph.add(name))
    nodes.append(graph.add("buffersink"))
    graph.link_nodes(*nodes).configure()
    return graph


def _drain(graph: Any, vout: Any, out: Any) -> None:
    """Encode every frame the graph has ready."""
    import av

    while True:
        try:
            frame = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        frame.pict_type = av.video.frame.PictureType.NONE  # let x264 place keyframes (every gop frames)
        for pkt in vout.encode(frame):
            out.mux(pkt)

