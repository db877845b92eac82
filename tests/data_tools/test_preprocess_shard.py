"""``vidssl-data shard`` writes what ``WebDatasetClips`` reads; resumable; job-array parts merge. Plus ``stats``."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import write_bad_files, write_video

from data_tools.cli import main
from vidssl.data.datasets.wds import WebDatasetClips, iter_shard_samples
from vidssl.data.manifest import read_manifest
from vidssl.data.planners import AudioVisualPairs, RandomClip

FAST = ["--workers", "0", "--no-progress"]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("shard")
    root = base / "root"
    for i in range(7):
        write_video(root / f"c{i % 2}" / f"clip.{i} x.mp4", frames=12 + i, width=32, height=32, seed=i,
                    audio=i % 2 == 0)
    write_bad_files(root / "bad", root / "c0" / "clip.0 x.mp4")
    assert main(["scan", str(root), "--out", str(base / "m.csv"), *FAST]) == 1
    return base / "m.csv"


def tar_digest(folder: Path) -> dict[str, str]:
    """sha1 of the tars and indexes (stats files hold timings)."""
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.glob("shard-*"))
            if not p.name.endswith(".stats.json")}


def test_shards_are_read_by_the_streaming_dataset(scanned, tmp_path, capsys):
    out = tmp_path / "shards"
    assert main(["shard", str(scanned), str(out), "--samples-per-shard", "3", "--audio", *FAST]) == 0
    assert "3 shards (3 written now" in capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.tar")) == [f"shard-{i:05d}.tar" for i in range(3)]
    index = json.loads((out / "shard-00000.index.json").read_text())
    assert len(index["keys"]) == 3 and all("." not in k for k in index["keys"])
    ok = read_manifest(scanned).query("status == 'ok'")
    frames = dict(zip(ok["video_id"], ok["num_frames"], strict=True))
    ds = WebDatasetClips(str(out), RandomClip(4), seed=0)
    seen = {ex["video_id"]: ex for ex in ds}
    assert sorted(seen) == sorted(frames) and ds.num_samples() == 7  # every ok video once, no failed ones
    ex = seen["c0/clip.0 x.mp4"]
    assert tuple(ex["frames"].shape) == (4, 3, 32, 32) and int(ex["label"]) == 1  # classes: bad, c0, c1
    sample = next(iter_shard_samples(str(out / "shard-00000.tar")))
    meta = json.loads(sample["json"])
    assert meta["num_frames"] == frames[meta["video_id"]] and "path" not in meta
    assert ("wav" in sample) == bool(meta["has_audio"])
    av_ds = WebDatasetClips(str(out), AudioVisualPairs(p_aligned=1.0), seed=0, missing_audio="silence")
    assert next(iter(av_ds))["audio"].shape[-1] == 16000
    listed = read_manifest(out / "manifest.csv")
    assert len(listed) == 7 and listed["shard"].str.startswith("shard-").all() and listed["key"].is_unique
    # rerun: nothing rewritten, byte-identical; other settings: stale shards removed
    first = tar_digest(out)
    assert main(["shard", str(scanned), str(out), "--samples-per-shard", "3", "--audio", *FAST]) == 0
    assert "(0 written now" in capsys.readouterr().out and tar_digest(out) == first
    assert main(["shard", str(scanned), str(out), "--samples-per-shard", "4", *FAST]) == 0
    assert sorted(p.name for p in out.glob("*.tar")) == ["shard-00000.tar", "shard-00001.tar"]


def test_job_array_parts_merge(scanned, tmp_path):
    single, parts = tmp_path / "single", tmp_path / "parts"
    assert main(["shard", str(scanned), str(single), "--samples-per-shard", "2", *FAST]) == 0
    for i in range(2):
        assert main(["shard", str(scanned), str(parts), "--samples-per-shard", "2", "--num-shards", "2",
                     "--shard-index", str(i), *FAST]) == 0
    assert main(["shard", str(scanned), str(parts), "--num-shards", "2", "--merge"]) == 0
    assert tar_digest(single) == tar_digest(parts)  # the same tars, whoever wrote them
    pd.testing.assert_frame_equal(read_manifest(single / "manifest.csv").drop(columns="path"),
                                  read_manifest(parts / "manifest.csv").drop(columns="path"))


def test_unreadable_video_is_reported_and_the_rest_written(scanned, tmp_path, capsys):
    df = read_manifest(scanned)
    df.loc[df["video_id"] == "c1/clip.1 x.mp4", "path"] = "root/c1/gone.mp4"
    df.to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "root").symlink_to(scanned.parent / "root")
    assert main(["shard", str(tmp_path / "m.csv"), str(tmp_path / "s"), *FAST]) == 1
    listed = read_manifest(tmp_path / "s" / "manifest.csv").set_index("video_id")
    assert listed.loc["c1/clip.1 x.mp4", "status"] == "shard_failed"
    assert sum(1 for _ in iter_shard_samples(str(tmp_path / "s" / "shard-00000.tar"))) == 6
    assert "shard_failed" in capsys.readouterr().err


def test_stats_table_png_and_json(scanned, tmp_path, capsys):
    png, js = tmp_path / "s.png", tmp_path / "s.json"
    assert main(["stats", str(scanned), "--png", str(png), "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "videos" in out and "12 (7 ok)" in out and "not_a_video" in out and "stats: 12 videos, 7 ok" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(js.read_text())
    assert data["ok"] == 7 and data["audio"] == {"with audio": 4, "without": 3} and data["codecs"] == {"h264": 7}
    assert main(["stats", str(tmp_path / "missing.csv")]) == 2
