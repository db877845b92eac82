"""Write a rendered video as H.264 (yuv420p) + AAC (mono) MP4 with PyAV, and measure what the file decodes to.

The MP4 muxer writes an edit list that hides the AAC encoder's 1024-sample priming, and FFmpeg-based decoders
(PyAV, decord) honour it: audio sample 0 of the decode is sample 0 of the rendered waveform (checked by
tests/data_tools/test_synth_decode.py on every corpus built there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from data_tools.synth.colour import rgb_to_yuv420p
from data_tools.synth.config import SynthConfig

__all__ = ["ProbeResult", "probe_mp4", "write_mp4"]

AAC_FRAME = 1024  # samples per AAC frame
# FFmpeg AVColorSpace / AVColorPrimaries / AVColorTransferCharacteristic SMPTE170M (BT.601 525) and MPEG (tv) range.
BT601, TV_RANGE = 6, 1


def write_mp4(path: str | os.PathLike[str], frames: np.ndarray, audio: np.ndarray, config: SynthConfig) -> Path:
    """Encode frames and audio into ``path`` atomically (a hidden temp file in the same folder, then rename).

    Args:
        path: the ``.mp4`` to write.
        frames: ``uint8 [T, H, W, 3]`` RGB.
        audio: ``float32 [S]`` mono waveform in [-1, 1] at ``config.sample_rate``.
        config: codec settings (fps, GOP, CRF, preset, audio bit rate).

    Returns:
        The written path.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.mp4")
    planes = rgb_to_yuv420p(frames)
    try:
        with av.open(str(tmp), "w", format="mp4") as container:
            video = container.add_stream("libx264", rate=config.rate)
            video.width, video.height, video.pix_fmt = config.width, config.height, "yuv420p"
            cc = video.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = BT601
            cc.color_range = TV_RANGE
            cc.gop_size = config.gop
            # One thread: the corpus is parallel across processes. mbtree off: with it, x264 (core 164, via PyAV)
            # gave different bytes for identical input in 19 of 20 repeated encodes, so corpora were not reproducible.
            options = {"crf": f"{config.crf:g}", "preset": config.preset, "threads": "1", "x264-params": "mbtree=0"}
            if config.static:
                # Static control: every frame intra at one fixed QP, so the identical frames decode identically.
                # With P-frames (or CRF's per-frame QPs) x264 keeps refining a still picture (mean drift up to
                # 1.5 levels over 24 frames), a temporal cue the control must not have. QP = CRF - 3 is about the
                # QP that CRF gives an I-frame (x264's ipratio 1.4 = 2.9 QP).
                cc.gop_size = 1
                del options["crf"]
                options["qp"] = str(max(0, round(config.crf) - 3))
            video.options = options
            sound = container.add_stream("aac", rate=config.sample_rate)
            sound.layout = "mono"
            sound.bit_rate = config.audio_bitrate
            # FFmpeg's default "twoloop" AAC coder smears some impact clicks up to 4 ms early (pre-echo, measured on
            # 153 clicks, even at 96 kb/s); the "fast" coder keeps every onset within 10 samples of its frame time.
            sound.options = {"aac_coder": "fast"}
            sent = 0  # audio samples handed to the encoder so far
            for i, plane in enumerate(planes):
                frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
                frame.pts = i
                container.mux(video.encode(frame))
                # Interleave: feed the audio up to the end of this frame, as a camera's muxer would.
                until = audio.size if i == len(planes) - 1 else config.frame_sample(i + 1)
                while sent + AAC_FRAME <= until or (i == len(planes) - 1 and sent < audio.size):
                    chunk = audio[sent : sent + AAC_FRAME]
                    aframe = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                    aframe.sample_rate, aframe.pts = config.sample_rate, sent
                    container.mux(sound.encode(aframe))
                    sent += chunk.size
            container.mux(video.encode(None))
            container.mux(sound.encode(None))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class ProbeResult:
    """What a full decode of a written file yields (the manifest is filled from this, not from the encoder).

    Attributes:
        num_frames: decoded video frames.
        fps: ``(num_frames - 1) / (last pts - first pts)``.
        start_time: pts of frame 0 in seconds.
        width: decoded width.
        height: decoded height.
        codec: video codec name.
        pix_fmt: decoded pixel format.
        keyframes: indices of key frames.
        audio_codec: audio codec name.
        audio_rate: Hz.
        audio_channels: channel count.
        audio_samples: decoded samples per channel.
        audio_start: time of the first decoded audio sample, seconds.
        size_bytes: file size.
        frames: ``uint8 [T, H, W, 3]`` decoded RGB frames when asked for, else ``None``.
        waveform: ``float32 [audio_samples]`` decoded mono audio when asked for, else ``None``.
    """

    num_frames: int
    fps: float
    start_time: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    keyframes: tuple[int, ...]
    audio_codec: str
    audio_rate: int
    audio_channels: int
    audio_samples: int
    audio_start: float
    size_bytes: int
    frames: np.ndarray | None = None
    waveform: np.ndarray | None = None


def probe_mp4(path: str | os.PathLike[str], *, keep_frames: bool = False, keep_audio: bool = False) -> ProbeResult:
    """Decode ``path`` fully with PyAV and measure it.

    Args:
        path: an MP4 written by :func:`write_mp4`.
        keep_frames: also return the decoded RGB frames (for the DAVIS JPEGs).
        keep_audio: also return the decoded waveform.

    Returns:
        The measurements.
    """
    pts: list[float] = []
    keyframes: list[int] = []
    frames: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    audio_start = 0.0
    with av.open(str(path)) as container:
        vstream, astream = container.streams.video[0], container.streams.audio[0]
        for frame in container.decode(vstream, astream):
            if isinstance(frame, av.VideoFrame):
                if frame.key_frame:
                    keyframes.append(len(pts))
                pts.append(float(frame.time))
                if keep_frames:
                    frames.append(frame.to_ndarray(format="rgb24"))
            else:
                if not chunks:
                    audio_start = float(frame.time)
                chunks.append(frame.to_ndarray()[0])
        vcc, acc = vstream.codec_context, astream.codec_context
        info = dict(
            width=vcc.width,
            height=vcc.height,
            codec=vcc.name,
            pix_fmt=str(vcc.pix_fmt),
            audio_codec=acc.name,
            audio_rate=acc.sample_rate,
            audio_channels=acc.channels,
        )
    wave = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    span = pts[-1] - pts[0] if len(pts) > 1 else 0.0
    return ProbeResult(
        num_frames=len(pts),
        fps=(len(pts) - 1) / span if span > 0 else 0.0,
        start_time=pts[0] if pts else 0.0,
        keyframes=tuple(keyframes),
        audio_samples=int(wave.size),
        audio_start=audio_start,
        size_bytes=os.path.getsize(path),
        frames=np.stack(frames) if keep_frames and frames else None,
        waveform=wave if keep_audio else None,
        **info,
    )
