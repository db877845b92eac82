"""``vidssl-data transcode``: training-friendly copies, inputs untouched, atomic outputs, resumable after kill -9."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import REPO, write_video

from data_tools.atomic import OUTPUT_MARKER, is_partial
from data_tools.cli import main
from data_tools.transcode import SETTINGS_FILE
from vidssl.data.manifest import read_manifest

FAST = ["--workers", "0", "--no-progress"]
SMALL = ["--short-side", "32", "--fps", "6", "--gop", "4", "--preset", "ultrafast"]


def digest(folder: Path) -> dict[str, str]:
    """sha1 of every file under ``folder`` (relative path -> hash)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def scanned(tmp_path) -> Path:
    root = tmp_path / "root"
    write_video(root / "a" / "v_A_g01_c01.mp4", frames=24, width=96, height=64, audio=True)
    write_video(root / "b" / "clip 2.mkv", frames=24, width=64, height=96, seed=1)
    (root / "b" / "bad.mp4").write_text("not a video\n")
    assert main(["scan", str(root), "--out", str(root / "m.csv"), *FAST]) == 1
    return root


def test_transcode_outputs_and_rerun(scanned, capsys):
    root = scanned
    before = digest(root)
    out_dir = root / "out"  # an output folder inside the input folder
    assert main(["transcode", str(root / "m.csv"), str(out_dir), *SMALL, *FAST]) == 0
    assert digest(root / "a") == {k[2:]: v for k, v in before.items() if k.startswith("a/")}  # inputs untouched
    df = read_manifest(out_dir / "manifest.csv").set_index("video_id")
    a = df.loc["a/v_A_g01_c01.mp4"]
    assert a["status"] == "ok" and a["path"] == "a/v_A_g01_c01.mp4"
    assert (a["codec"], a["pix_fmt"], a["width"], a["height"]) == ("h264", "yuv420p", 48, 32)
    assert a["fps"] == pytest.approx(6.0) and a["num_frames"] == 12 and a["rotation"] == 0
    keys = [int(k) for k in a["keyframes"].split()]
    assert keys[0] == 0 and max(np.diff([*keys, a["num_frames"]])) <= 4  # a keyframe at least every --gop frames
    assert a["has_audio"] and (a["audio_codec"], a["audio_rate"], a["audio_channels"]) == ("aac", 16000, 1)
    assert (out_dir / a["source_path"]).resolve() == (root / "a" / "v_A_g01_c01.mp4").resolve()
    b = df.loc["b/clip 2.mkv"]
    assert (b["width"], b["height"], b["path"], b["has_audio"]) == (32, 48, "b/clip 2.mp4", False)
    bad = df.loc["b/bad.mp4"]
    assert bad["status"] == "not_a_video" and bad["reason"]  # carried over with its status
    assert "2 encoded, 0 already there, 1 not ok in input" in capsys.readouterr().out
    assert not [p for p in out_dir.rglob("*") if is_partial(p.name) or p.name.endswith("-work")]
    # rerun: nothing re-encoded, same manifest, same bytes
    first_files, first_manifest = digest(out_dir), read_manifest(out_dir / "manifest.csv")
    assert main(["transcode", str(root / "m.csv"), str(out_dir), *SMALL, *FAST]) == 0
    assert "0 encoded, 2 already there" in capsys.readouterr().out
    assert digest(out_dir) == first_files
    pd.testing.assert_frame_equal(read_manifest(out_dir / "manifest.csv"), first_manifest)
    assert main(["transcode", str(root / "m.csv"), str(out_dir), *SMALL, *FAST, "--overwrite"]) == 0
    assert "2 encoded" in capsys.readouterr().out
    # other settings into the same folder would keep the old copies: refused unless --overwrite
    assert main(["transcode", str(root / "m.csv"), str(out_dir), *SMALL, *FAST, "--short-side", "16"]) == 2
    assert "short_side: 32 -> 16" in capsys.readouterr().err
    assert digest(out_dir) == first_files
    # the light measurement of outputs (no torch in workers) agrees with the reader's probe, column for column
    from data_tools.processors.output_probe import measure_output
    from data_tools.processors.probe import probe_row

    for name in ("a/v_A_g01_c01.mp4", "b/clip 2.mp4"):
        assert measure_output(str(out_dir / name)) == probe_row(str(out_dir / name))
    # the output folder inside ROOT is never scanned as input
    assert (out_dir / OUTPUT_MARKER).exists()
    main(["scan", str(root), "--out", str(root / "again.csv"), *FAST])
    assert not read_manifest(root / "again.csv")["video_id"].str.startswith("out/").any()


def test_job_array_tasks_merge_to_the_single_run(scanned, tmp_path):
    single, parts = tmp_path / "single", tmp_path / "parts"
    assert main(["transcode", str(scanned / "m.csv"), str(single), *SMALL, *FAST]) == 0
    for i in range(2):
        assert main(["transcode", str(scanned / "m.csv"), str(parts), *SMALL, *FAST, "--chunk-size", "1",
                     "--num-shards", "2", "--shard-index", str(i)]) == 0
    assert not (parts / "manifest.csv").exists()
    # merge exits 1 when any merged row is not ok (here: the bad input carried over)
    assert main(["transcode", str(scanned / "m.csv"), str(parts), "--num-shards", "2", "--merge"]) == 1
    pd.testing.assert_frame_equal(read_manifest(single / "manifest.csv"), read_manifest(parts / "manifest.csv"))
    assert digest(single).keys() == digest(parts).keys()


def test_output_folder_that_would_overwrite_inputs_is_refused(scanned, capsys):
    (scanned / "a" / "v_A_g01_c01.mp4").rename(scanned / "v_A_g01_c01.mp4")
    assert main(["scan", str(scanned), "--out", str(scanned / "m2.csv"), *FAST]) == 1
    before = digest(scanned)
    assert main(["transcode", str(scanned / "m2.csv"), str(scanned), *FAST]) == 2
    assert "overwrite" in capsys.readouterr().err
    after = digest(scanned)
    assert {k: v for k, v in after.items() if k in before} == before


def test_rotation_is_baked_in(real_dir, tmp_path):
    from vidssl.data import open_video

    root = tmp_path / "r"
    root.mkdir()
    for name in ("video_90.mov", "video_180.mov"):
        os.symlink(real_dir / "robustness" / name, root / name)  # symlinks into the read-only fixtures
    assert main(["scan", str(root), "--out", str(tmp_path / "m.csv"), *FAST]) == 0
    assert main(["transcode", str(tmp_path / "m.csv"), str(tmp_path / "t"), "--short-side", "64",
                 "--preset", "ultrafast", *FAST]) == 0
    df = read_manifest(tmp_path / "t" / "manifest.csv").set_index("video_id")
    assert (df.loc["video_90.mov", "width"], df.loc["video_90.mov", "height"]) == (64, 114)
    assert (df["rotation"] == 0).all()
    import cv2

    for name in ("video_90.mov", "video_180.mov"):
        with open_video(str(root / name)) as src, open_video(str(tmp_path / "t" / name.replace(".mov", ".mp4"))) as out:
            want = src.get_frames([1]).data[0].permute(1, 2, 0).numpy()
            got = out.get_frames([1]).data[0].permute(1, 2, 0).numpy().astype(np.float32)
        want = cv2.resize(want, (got.shape[1], got.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
        upright = np.abs(got - want).mean()
        flipped = np.abs(got - want[::-1, ::-1]).mean()
        assert upright < 12 and upright < flipped / 2, (name, upright, flipped)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg binary is not installed")
def test_ffmpeg_encoder_gives_the_same_geometry(scanned):
    out_py, out_ff = scanned.parent / "py", scanned.parent / "ff"
    assert main(["transcode", str(scanned / "m.csv"), str(out_py), *SMALL, *FAST]) == 0
    assert main(["transcode", str(scanned / "m.csv"), str(out_ff), *SMALL, *FAST, "--encoder", "ffmpeg"]) == 0
    cols = ["video_id", "status", "num_frames", "width", "height", "fps", "codec", "pix_fmt", "has_audio",
            "audio_rate", "audio_channels"]
    pd.testing.assert_frame_equal(read_manifest(out_py / "manifest.csv")[cols],
                                  read_manifest(out_ff / "manifest.csv")[cols])


@pytest.mark.slow
def test_kill_midway_then_rerun_completes_without_partials_or_duplicates(tmp_path):
    root, out_dir = tmp_path / "root", tmp_path / "out"
    n = 12
    for i in range(n):
        write_video(root / f"c{i % 2}" / f"v{i}.mp4", frames=96, width=160, height=120, seed=i, audio=i % 3 == 0)
    assert main(["scan", str(root), "--out", str(tmp_path / "m.csv"), *FAST]) == 0
    inputs = digest(root)
    cmd = [sys.executable, "-m", "data_tools", "transcode", str(tmp_path / "m.csv"), str(out_dir),
           "--short-side", "96", "--preset", "medium", "--workers", "2", "--chunk-size", "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        done = [p for p in out_dir.rglob("v*.mp4") if not p.name.startswith(".")]
        if len(done) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the inputs larger"
    os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers must die with it (PR_SET_PDEATHSIG)
    proc.wait()
    time.sleep(1.0)
    killed_state = {p.name for p in out_dir.rglob("*") if p.is_file()}
    assert len([x for x in killed_state if x.endswith(".mp4") and not x.startswith(".")]) < n
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "already there" in rerun.stdout and "0 failed" in rerun.stdout
    files = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    expected = sorted([f"c{i % 2}/v{i}.mp4" for i in range(n)] + ["manifest.csv", OUTPUT_MARKER, SETTINGS_FILE])
    assert files == expected, files  # no partials, no journal, no duplicates
    df = read_manifest(out_dir / "manifest.csv")
    assert len(df) == n and df["video_id"].is_unique and (df["status"] == "ok").all()
    assert (df["num_frames"] == 96).all() and (df["height"] == 96).all()
    assert digest(root) == inputs


@pytest.mark.slow
def test_benchmark_script_runs_and_writes_json(tmp_path):
    import json

    write_video(tmp_path / "src" / "a.mp4", frames=24, audio=True)
    write_video(tmp_path / "src" / "b.mp4", frames=24, seed=1)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "preprocess.py"), "--root", str(tmp_path / "src"),
                           "--copies", "1", "--repeats", "1", "--engine", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    methods = {r["method"] for r in data["results"]}
    assert data["videos"] == 2 and "vidssl pyav" in methods and data["engine_cpu_s"]["pyav"] > 0
    if shutil.which("ffmpeg"):
        assert {"vidssl ffmpeg", "ffmpeg CLI"} <= methods
    else:
        assert "ffmpeg binary" in proc.stdout
