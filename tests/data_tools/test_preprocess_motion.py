"""``vidssl-data motion``: per-window motion stored as the manifest columns vidssl planners read."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import write_video

from data_tools.cli import main
from data_tools.processors.motion_profile import motion_profile, window_means
from vidssl.data.manifest import iter_metas, read_manifest

FAST = ["--workers", "0", "--no-progress"]


def still_then_moving(path: Path, still: int = 24, moving: int = 24) -> Path:
    """A static textured frame for ``still`` frames, then a square sweeping across for ``moving`` frames."""
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=12)
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        vs.options = {"crf": "10"}
        for i in range(still + moving):
            img = bg.copy()
            if i >= still:
                x = ((i - still) * 6) % 72
                img[16:48, x : x + 24] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 12)
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
    return path


@pytest.fixture()
def scanned(tmp_path) -> Path:
    root = tmp_path / "root"
    still_then_moving(root / "sweep.mp4")
    write_video(root / "other.mp4", frames=20)
    assert main(["scan", str(root), "--out", str(tmp_path / "m.csv"), *FAST]) == 0
    return tmp_path / "m.csv"


def test_motion_columns_feed_the_planners(scanned, capsys):
    assert main(["motion", str(scanned), "--window", "8", *FAST]) == 0
    df = read_manifest(scanned).set_index("video_id")
    row = df.loc["sweep.mp4"]
    values = np.array([float(x) for x in row["motion"].split()])
    assert row["motion_window"] == 8 and len(values) == 6  # 48 frames / 8
    assert values[:2].max() < 1.0 < values[3:].min()  # still first half, moving second half
    assert int(df.loc["other.mp4", "motion_frames"]) == 20 and len(df.loc["other.mp4", "motion"].split()) == 3
    metas = {m.video_id: m for m in iter_metas(read_manifest(scanned))}
    motion = metas["sweep.mp4"].motion
    assert motion is not None and motion.shape == (48,) and motion[:16].max() < motion[24:].min()
    assert "motion: 2 videos, 2 ok, 0 failed" in capsys.readouterr().out


def test_farneback_and_window_means(scanned, tmp_path):
    per_frame = motion_profile(str(tmp_path / "root" / "sweep.mp4"), method="farneback", size=32)
    assert per_frame.shape == (48,) and per_frame[:20].max() < 0.2 < per_frame[30:].mean()
    np.testing.assert_allclose(window_means(np.arange(10, dtype=np.float32), 4), [1.5, 5.5, 8.5])
    out = tmp_path / "flow.parquet"
    assert main(["motion", str(scanned), "--method", "farneback", "--out", str(out), *FAST]) == 0
    assert read_manifest(out)["motion"].str.len().gt(0).all()
    assert read_manifest(scanned)["motion"].eq("").all()  # --out leaves the input manifest alone


def test_a_file_broken_since_the_scan_fails_alone(scanned, tmp_path, capsys):
    (tmp_path / "root" / "other.mp4").write_bytes(b"\0" * 1000)
    assert main(["motion", str(scanned), *FAST]) == 1
    df = read_manifest(scanned).set_index("video_id")
    assert df.loc["other.mp4", "status"] == "decode_error" and df.loc["other.mp4", "reason"].startswith("motion:")
    assert df.loc["sweep.mp4", "status"] == "ok" and df.loc["sweep.mp4", "motion"]
    assert "other.mp4: decode_error" in capsys.readouterr().err
    assert main(["motion", str(scanned), "--window", "0"]) == 2
