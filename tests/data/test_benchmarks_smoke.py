"""The decode and loader benchmarks run end to end and write the JSON keys the notes and the issue rely on (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_loader_benchmark_tiny(tmp_path):
    out = tmp_path / "loader.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "loader.py"), "--videos", "2", "--samples", "2",
                    "--repeats", "1", "--raw-size", "96x64", "--raw-frames", "60", "--workloads", "clip16",
                    "--workers", "0", "--backends", "pyav", "--out", str(out)], check=True, cwd=tmp_path)
    result = json.loads(out.read_text())
    assert set(result["ratios"]) >= {"vs_naive", "vs_pytorchvideo", "codec_efficiency", "transcoded_vs_raw_naive",
                                     "multiclip_vs_perclip"}
    assert result["ratios"]["codec_efficiency"] > 0 and result["ratios"]["multiclip_vs_perclip"] > 0
    assert {(r["corpus"], r["source"]) for r in result["rows"]} >= {("raw", "pyav"), ("transcoded", "pyav")}


@pytest.mark.slow
def test_decode_benchmark_accuracy_mode(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from decode_fixtures import VideoSpec, write_video

    video = write_video(tmp_path / "bf.mp4", VideoSpec(n_frames=40, codec="libx264", bframes=2, gop=10))
    out = tmp_path / "acc.json"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "decode.py"), "--accuracy", "--backends", "pyav",
                    "--files", str(video), "--out", str(out)], check=True, cwd=tmp_path)
    row = json.loads(out.read_text())["accuracy"][str(video)]
    assert row["pyav"]["wrong"] == 0 and row["pyav"]["count_ok"] and row["sequential_frames"] == 40
