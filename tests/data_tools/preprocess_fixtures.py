"""Small real encodes and broken files for the ``vidssl-data`` preprocessing tests (PyAV, no ffmpeg binary)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("VIDSSL_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "real"
HARD = SHARED / "data" / "hard"


def write_video(path: Path, *, frames: int = 24, width: int = 64, height: int = 48, fps: int = 12,
                audio: bool = False, gop: int = 250, codec: str = "libx264", seed: int = 0) -> Path:
    """Encode a moving textured square (H.264 yuv420p by default), optionally with an AAC 16 kHz tone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    bg = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"g": str(gop)} if codec == "libx264" else {}
        a_s = None
        if audio:
            a_s = out.add_stream("aac", rate=16000, layout="mono")
        for i in range(frames):
            img = bg.copy()
            x = (i * 3) % max(1, width - 16)
            img[8:24, x : x + 16] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if a_s is not None:
            n = int(16000 * frames / fps)
            t = np.arange(n) / 16000
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, n, 1024):
                chunk = wave[:, start : start + 1024]
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = 16000, start, Fraction(1, 16000)
                for pkt in a_s.encode(af):
                    out.mux(pkt)
            for pkt in a_s.encode():
                out.mux(pkt)
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An AAC-only file under a video extension."""
    with av.open(str(path), "w", format="mp4") as out:
        a_s = out.add_stream("aac", rate=16000, layout="mono")
        n = int(16000 * seconds)
        wave = (0.2 * np.sin(np.arange(n) / 5)).astype(np.float32)[None]
        for start in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(wave[:, start : start + 1024], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 16000, start, Fraction(1, 16000)
            for pkt in a_s.encode(af):
                out.mux(pkt)
        for pkt in a_s.encode():
            out.mux(pkt)
    return path


def write_bad_files(folder: Path, good: Path) -> dict[str, str]:
    """Broken inputs next to a good one; returns ``{relative name: expected status}``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is a text file, not a video\n" * 20)
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "photo.mp4", format="JPEG")
    data = good.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 3])
    write_audio_only(folder / "audio_only.mp4")
    return {
        "empty.mp4": "empty_file", "notes.mp4": "not_a_video", "photo.mp4": "not_a_video",
        "cut.mp4": "corrupt", "audio_only.mp4": "no_video_stream",
    }


def copy_fixture(src: Path, dst: Path) -> Path:
    """Copy a shared fixture (skipping the test when it is absent); the original is never touched."""
    if not src.is_file():
        pytest.skip(f"fixture {src} not found (set VIDSSL_SHARED to the shared folder)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def can_read_after_chmod(path: Path) -> bool:
    """Whether this process can still read a file after ``chmod 000`` (root can): then the case is untestable."""
    path.chmod(0)
    try:
        with open(path, "rb"):
            return True
    except PermissionError:
        return False


# --- job functions for distributor tests (importable by spawned children through sys.path) -------------------------


def job_echo(payload: dict) -> dict:
    """Return the payload doubled."""
    return {"status": "ok", "reason": "", "value": payload["x"] * 2}


def job_misbehave(payload: dict) -> dict:
    """Crash, hang, raise or succeed depending on ``payload["mode"]``."""
    mode = payload["mode"]
    if mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "hang":
        time.sleep(3600)
    if mode == "raise":
        raise ValueError("bad input")
    if mode == "write":
        Path(payload["tmp"]).write_bytes(b"partial")
        time.sleep(3600)
    return {"status": "ok", "reason": "", "value": payload.get("x", 0)}
