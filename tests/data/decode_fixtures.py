"""Small synthetic test videos whose frames say which frame they are.

Each frame has a moving gradient pattern (so neighbouring frames differ everywhere) and a burnt-in binary code of its
index: a row of ``CODE_BITS`` 8x8 blocks at the top, white for 1 and black for 0, wide enough to survive 4:2:0 chroma
subsampling and lossy encoding. :func:`read_code` recovers the index from any decoded frame, so tests can check frame
identity on every backend without trusting any decoder's timestamps.

Encoders: ``libx264rgb`` with ``crf 0`` is lossless RGB (pixels come back exactly), ``ffv1`` is lossless too;
``libx264``/``mpeg4``/``libvpx-vp9`` give realistic lossy files with B-frames and GOP structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CODE_BITS = 8  # frame indices up to 255
BLOCK = 8


@dataclass
class VideoSpec:
    """How to write one synthetic video (see :func:`write_video`)."""

    n_frames: int = 40
    width: int = 96
    height: int = 64
    fps: int = 25
    codec: str = "libx264rgb"
    gop: int = 10
    bframes: int = 0
    pix_fmt: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)  # e.g. {"movflags": "+faststart"}
    rotation_ccw: int = 0  # display matrix (counter-clockwise degrees, as FFmpeg stores it)
    frame_steps: list[int] | None = None  # per-frame pts increments in 1/fps units (VFR); default all 1
    video_start: float = 0.0  # seconds of video pts offset
    audio_rate: int = 0  # 0: no audio; else a mono/stereo tone starting at audio_start
    audio_channels: int = 1
    audio_start: float = 0.0
    audio_seconds: float | None = None


def frame_image(i: int, width: int, height: int) -> np.ndarray:
    """``uint8 [H, W, 3]`` frame ``i``: moving gradients plus the index code in the top block row."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[..., 0] = (x * 4 + i * 7) % 256
    img[..., 1] = (y * 4 + i * 13) % 256
    img[..., 2] = ((x + y) * 2 + i * 29) % 256
    img[:BLOCK, : CODE_BITS * BLOCK] = 0
    for b in range(CODE_BITS):
        if (i >> b) & 1:
            img[:BLOCK, b * BLOCK : (b + 1) * BLOCK] = 255
    return img


def read_code(frame_hwc: np.ndarray) -> int:
    """The index burnt into an (unrotated) ``uint8 [H, W, 3]`` frame."""
    code = 0
    for b in range(CODE_BITS):
        block = frame_hwc[2 : BLOCK - 2, b * BLOCK + 2 : (b + 1) * BLOCK - 2]
        if block.mean() > 128:
            code |= 1 << b
    return code


def tone(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    """``float32 [C, S]`` 440 Hz tone (channel c at 440 * (c + 1) Hz) with a linear ramp, for alignment checks."""
    t = np.arange(round(seconds * rate)) / rate
    chans = [0.5 * np.sin(2 * np.pi * 440 * (c + 1) * t) * (t / max(seconds, 1e-9)) for c in range(channels)]
    return np.stack(chans).astype(np.float32)


def write_video(path: str | Path, spec: VideoSpec | None = None, **overrides: object) -> Path:
    """Encode a synthetic video (and optional audio) with PyAV; returns ``path``."""
    spec = spec or VideoSpec()
    for k, v in overrides.items():
        setattr(spec, k, v)
    path = Path(path)
    container = av.open(str(path), mode="w", options=spec.container_options)
    vs = container.add_stream(spec.codec, rate=spec.fps)
    vs.width, vs.height = spec.width, spec.height
    vs.pix_fmt = spec.pix_fmt or {"libx264rgb": "rgb24", "ffv1": "bgr0"}.get(spec.codec, "yuv420p")
    tb = Fraction(1, spec.fps * 100)  # fine ticks so VFR steps and start offsets are exact
    vs.time_base = tb
    vs.codec_context.time_base = tb
    vs.codec_context.gop_size = spec.gop
    vs.codec_context.max_b_frames = spec.bframes
    opts = dict(spec.options)
    if spec.codec.startswith("libx264"):
        opts.setdefault("crf", "0" if spec.codec == "libx264rgb" else "18")
        opts.setdefault("preset", "ultrafast" if spec.bframes == 0 else "fast")
        x264 = [f"keyint={spec.gop}", f"min-keyint={spec.gop}", "scenecut=0", f"bframes={spec.bframes}"]
        opts.setdefault("x264-params", ":".join(x264))
    vs.options = opts
    if spec.rotation_ccw:
        vs.set_display_rotation(spec.rotation_ccw)
    astream = None
    if spec.audio_rate:
        astream = container.add_stream("aac", rate=spec.audio_rate)
        astream.layout = "mono" if spec.audio_channels == 1 else "stereo"
    steps = spec.frame_steps or [1] * spec.n_frames
    start_ticks = round(spec.video_start / tb)
    t = 0
    for i in range(spec.n_frames):
        frame = av.VideoFrame.from_ndarray(frame_image(i, spec.width, spec.height), format="rgb24")
        frame.pts = start_ticks + t * 100
        frame.time_base = tb
        t += steps[i] if i < len(steps) else 1
        for packet in vs.encode(frame):
            container.mux(packet)
    for packet in vs.encode(None):
        container.mux(packet)
    if astream is not None:
        _write_audio(container, astream, spec)
    container.close()
    return path


def _write_audio(container: av.container.OutputContainer, astream: av.AudioStream, spec: VideoSpec) -> None:
    seconds = spec.audio_seconds if spec.audio_seconds is not None else spec.n_frames / spec.fps
    wave = tone(spec.audio_rate, seconds, spec.audio_channels)
    step = 1024
    start = round(spec.audio_start * spec.audio_rate)
    for s in range(0, wave.shape[1], step):
        chunk = np.ascontiguousarray(wave[:, s : s + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=astream.layout.name)
        frame.sample_rate = spec.audio_rate
        frame.pts = start + s
        frame.time_base = Fraction(1, spec.audio_rate)
        for packet in astream.encode(frame):
            container.mux(packet)
    for packet in astream.encode(None):
        container.mux(packet)


def sequential_frames(path: str | Path, stream: int = 0) -> np.ndarray:
    """Ground truth: ``uint8 [N, H, W, 3]`` of a full sequential PyAV decode (presentation order, unrotated)."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=stream)])


def best_match(frame_hwc: np.ndarray, reference: np.ndarray, around: int | None = None,
               radius: int = 16) -> tuple[int, float]:
    """Index of the reference frame closest to ``frame_hwc`` (mean absolute error on every 2nd pixel) and that error.

    With ``around``, only frames within ``radius`` of it are candidates: seeking errors are a few frames, and
    comparing against every frame of a long reference would dominate the test time.
    """
    lo, hi = (0, len(reference)) if around is None else (max(around - radius, 0), around + radius + 1)
    cand = reference[lo:hi, ::2, ::2].astype(np.int16)
    err = np.abs(cand - frame_hwc[::2, ::2].astype(np.int16)).mean(axis=(1, 2, 3))
    i = int(err.argmin())
    return lo + i, float(err[i])
