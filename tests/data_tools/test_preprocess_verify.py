"""``vidssl-data verify``: a full decode finds damage that a scan cannot see; seeded sampling; in-place update."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import write_video

from data_tools.cli import main
from data_tools.verify import select_rows
from vidssl.data.manifest import read_manifest

FAST = ["--workers", "0", "--no-progress"]


@pytest.fixture()
def scanned(tmp_path) -> Path:
    root = tmp_path / "root"
    for i in range(4):
        write_video(root / f"v{i}.mp4", frames=72, width=96, height=64, gop=12, audio=i == 0, seed=i)
    data = (root / "v1.mp4").read_bytes()
    third = len(data) // 3  # zeros over the middle of the media data: the index (moov, at the end) is intact
    (root / "v1.mp4").write_bytes(data[:third] + bytes(third) + data[2 * third :])
    assert main(["scan", str(root), "--out", str(tmp_path / "m.csv"), *FAST]) == 0  # scan trusts the intact index
    return tmp_path / "m.csv"


def test_verify_finds_mid_file_damage_and_updates_in_place(scanned, capsys):
    assert main(["verify", str(scanned), *FAST]) == 1
    df = read_manifest(scanned).set_index("video_id")
    assert df.loc["v1.mp4", "status"] == "corrupt"
    assert "of 72 frames decode" in df.loc["v1.mp4", "reason"] and df.loc["v1.mp4", "num_frames"] < 72
    ok = df.drop(index="v1.mp4")
    assert (ok["status"] == "ok").all() and (ok["num_frames"] == 72).all()
    assert df["verified"].astype(str).eq("True").all()
    out = capsys.readouterr()
    assert "verify: 4 videos, 3 ok, 1 failed (corrupt 1)" in out.out and "v1.mp4: corrupt" in out.err


def test_fraction_sample_is_seeded_and_leaves_other_rows(scanned, tmp_path):
    df = read_manifest(scanned)
    a = select_rows(df, 0.5, seed=3, include_failed=False)
    assert a == select_rows(df, 0.5, seed=3, include_failed=False) and len(a) == 2
    assert len(select_rows(df, 0.01, seed=0, include_failed=False)) == 1
    out = tmp_path / "checked.parquet"
    main(["verify", str(scanned), "--out", str(out), "--fraction", "0.5", "--seed", "3", *FAST])
    checked = read_manifest(out)
    assert checked["verified"].astype(str).eq("True").sum() == 2
    assert read_manifest(scanned)["status"].eq("ok").all()  # --out leaves the input manifest alone


def test_bad_arguments_exit_2(scanned, tmp_path):
    assert main(["verify", str(scanned), "--fraction", "0"]) == 2
    assert main(["verify", str(tmp_path / "missing.csv")]) == 2
