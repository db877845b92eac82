"""``vidssl-data scan``: one row per file with what really decodes, bad inputs classified, outputs never rescanned."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import can_read_after_chmod, copy_fixture, write_bad_files, write_video

from data_tools.atomic import OUTPUT_MARKER
from data_tools.cli import main
from vidssl.data.manifest import read_manifest, row_to_meta

FAST = ["--workers", "0", "--no-progress"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scan") / "root"
    write_video(root / "walk ing" / "v_Walk_g01_c01.mp4", audio=True)
    write_video(root / "walk ing" / "v_Walk_g02_c01.mp4", seed=1)
    write_video(root / "über" / "clip ü 1.mp4", width=48, height=64, seed=2)
    write_bad_files(root / "bad", root / "walk ing" / "v_Walk_g01_c01.mp4")
    # outputs of earlier runs that must not be scanned as inputs
    write_video(root / "transcoded" / "x.mp4")
    (root / "transcoded" / OUTPUT_MARKER).write_text("")
    write_video(root / "walk ing" / ".v_Walk_g03_c01.partial.mp4")
    os.symlink("/nonexistent/file.mp4", root / "bad" / "dangling.mp4")
    return root


def scan(root: Path, out: Path, *extra: str) -> tuple[int, pd.DataFrame]:
    code = main(["scan", str(root), "--out", str(out), *FAST, *extra])
    return code, read_manifest(out)


def test_scan_rows_labels_and_bad_files(corpus, tmp_path, capsys):
    code, df = scan(corpus, corpus / "manifest.csv")
    assert code == 1  # some files failed, the run completed
    by_id = df.set_index("video_id")
    assert set(by_id.index) == {
        "walk ing/v_Walk_g01_c01.mp4", "walk ing/v_Walk_g02_c01.mp4", "über/clip ü 1.mp4", "bad/empty.mp4",
        "bad/notes.mp4", "bad/photo.mp4", "bad/cut.mp4", "bad/audio_only.mp4", "bad/dangling.mp4",
    }  # no partial, no marked output folder, no manifest
    expected = {"bad/empty.mp4": "empty_file", "bad/notes.mp4": "not_a_video", "bad/photo.mp4": "not_a_video",
                "bad/cut.mp4": "corrupt", "bad/audio_only.mp4": "no_video_stream", "bad/dangling.mp4": "missing"}
    for vid, status in expected.items():
        allowed = {"corrupt", "truncated"} if status == "corrupt" else {status}  # the reader's two damage classes
        assert by_id.loc[vid, "status"] in allowed, (vid, by_id.loc[vid, "reason"])
        assert by_id.loc[vid, "reason"]
    good = by_id.loc["walk ing/v_Walk_g01_c01.mp4"]
    assert good["status"] == "ok" and good["label"] == "walk ing" and good["group"] == "Walk_g01"
    assert (good["num_frames"], good["width"], good["height"], good["codec"]) == (24, 64, 48, "h264")
    assert good["fps"] == pytest.approx(12.0) and good["has_audio"] and good["audio_rate"] == 16000
    assert good["keyframes"] == "0" and good["num_keyframes"] == 1 and good["size_bytes"] > 0
    assert by_id.loc["über/clip ü 1.mp4", "label"] == "über" and by_id.loc["über/clip ü 1.mp4", "width"] == 48
    assert dict(zip(df["label"], df["label_index"], strict=True)) == {"bad": 0, "walk ing": 1, "über": 2}
    # rows resolve to the files (paths are relative to the manifest's folder)
    meta = row_to_meta(by_id.reset_index().iloc[0], df.attrs["root"])
    assert Path(meta.path).exists() or by_id.iloc[0]["status"] == "missing"
    err = capsys.readouterr()
    assert "scan: 9 files, 3 ok, 6 failed" in err.out
    assert "bad/notes.mp4: not_a_video" in err.err


def test_rescan_with_outputs_inside_the_root_is_identical(corpus, tmp_path):
    _, first = scan(corpus, corpus / "meta" / "m.parquet")
    _, second = scan(corpus, corpus / "meta" / "m.parquet")  # its own output and work dir are inside ROOT
    pd.testing.assert_frame_equal(first, second)
    assert first["path"].str.startswith("../").all()  # relative to meta/, where the manifest lives
    assert not any(p.name.endswith("-work") for p in (corpus / "meta").iterdir())


def test_job_array_parts_merge_to_the_single_run(corpus, tmp_path):
    _, single = scan(corpus, tmp_path / "single.csv", "--chunk-size", "2")
    for i in range(3):
        code = main(["scan", str(corpus), "--out", str(tmp_path / "m.csv"), *FAST, "--chunk-size", "2",
                     "--num-shards", "3", "--shard-index", str(i)])
        assert code in (0, 1)
        assert not (tmp_path / "m.csv").exists()
    assert main(["scan", str(corpus), "--out", str(tmp_path / "m.csv"), "--num-shards", "3", "--merge"]) == 1
    merged = read_manifest(tmp_path / "m.csv")
    pd.testing.assert_frame_equal(merged.drop(columns="path"), single.drop(columns="path"))
    assert not list(tmp_path.glob("m.part-*"))


def test_merge_with_a_missing_part_says_which(corpus, tmp_path, capsys):
    main(["scan", str(corpus), "--out", str(tmp_path / "m.csv"), *FAST, "--num-shards", "2", "--shard-index", "0"])
    assert main(["scan", str(corpus), "--out", str(tmp_path / "m.csv"), "--num-shards", "2", "--merge"]) == 2
    assert "--shard-index 1" in capsys.readouterr().err


def test_pixel_limit_unreadable_and_bad_arguments(tmp_path, capsys):
    root = tmp_path / "r"
    write_video(root / "a.mp4")
    locked = write_video(root / "locked.mp4")
    testable = not can_read_after_chmod(locked)
    code, df = scan(root, tmp_path / "m.csv", "--max-pixels", str(64 * 48 - 1))
    by_id = df.set_index("video_id")
    assert code == 1 and by_id.loc["a.mp4", "status"] == "too_large" and "--max-pixels" in by_id.loc["a.mp4", "reason"]
    if testable:  # as root, chmod 000 does not stop reads: nothing to check
        assert by_id.loc["locked.mp4", "status"] == "unreadable"
    locked.chmod(0o644)
    assert main(["scan", str(tmp_path / "nope"), "--out", str(tmp_path / "x.csv")]) == 2
    assert main(["scan", str(root), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["scan", str(root), "--out", str(tmp_path / "x.csv"), "--num-shards", "2", "--shard-index", "2"]) == 2
    assert "shard-index" in capsys.readouterr().err


def test_unsupported_codec(tmp_path):
    good = write_video(tmp_path / "src.mp4").read_bytes()
    at = good.find(b"avc1", good.find(b"stsd"))
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "alien.mp4").write_bytes(good[:at] + b"zzzz" + good[at + 4 :])
    _, df = scan(tmp_path / "r", tmp_path / "m.csv")
    assert df.loc[0, "status"] == "unsupported_codec"


def test_hard_and_real_files_are_measured(tmp_path, real_dir, hard_dir):
    """Header frame count above what decodes, VFR, several video/audio streams, rotation, a symlinked file."""
    root = tmp_path / "r"
    copy_fixture(hard_dir / "h1_xvid_bframes.avi", root / "ucf" / "h1.avi")
    copy_fixture(hard_dir / "h6_vfr.mp4", root / "vfr" / "h6.mp4")
    copy_fixture(real_dir / "audio_video" / "nasa_13013.mp4", root / "multi" / "nasa.mp4")
    os.symlink(real_dir / "robustness" / "video_90.mov", root / "rot.mov")  # a symlink into the read-only fixtures
    code, df = scan(root, tmp_path / "m.csv")
    assert code == 0, df[["video_id", "status", "reason"]]
    r = df.set_index("video_id")
    assert r.loc["ucf/h1.avi", "num_frames"] == 248 and int(r.loc["ucf/h1.avi", "header_frames"]) == 251
    assert bool(r.loc["vfr/h6.mp4", "is_vfr"]) and not bool(r.loc["ucf/h1.avi", "is_vfr"])
    assert int(r.loc["multi/nasa.mp4", "num_video_streams"]) == 2
    assert int(r.loc["multi/nasa.mp4", "num_audio_streams"]) == 2
    assert r.loc["rot.mov", "rotation"] == 90 and (r.loc["rot.mov", "width"], r.loc["rot.mov", "height"]) == (320, 568)


def test_permission_denied_is_a_status(tmp_path, monkeypatch):
    """``unreadable`` even when running as root (where chmod 000 does not stop reads): the open itself is refused."""
    import builtins

    import data_tools.processors.probe as probe_module

    root = tmp_path / "r"
    write_video(root / "ok.mp4")
    locked = write_video(root / "locked.mp4")
    real_open = builtins.open

    def guarded_open(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(probe_module, "open", guarded_open, raising=False)
    code, df = scan(root, tmp_path / "m.csv")
    by_id = df.set_index("video_id")
    assert code == 1 and by_id.loc["ok.mp4", "status"] == "ok"
    assert by_id.loc["locked.mp4", "status"] == "unreadable" and "permission" in by_id.loc["locked.mp4", "reason"]


def test_labels_and_splits_from_ucf101_lists(tmp_path):
    root, lists = tmp_path / "UCF101", tmp_path / "ucfTrainTestlist"
    write_video(root / "Walk" / "v_Walk_g01_c01.avi", codec="mpeg4")
    write_video(root / "Walk" / "v_Walk_g09_c01.avi", codec="mpeg4", seed=1)
    write_video(root / "Walk" / "v_Walk_g10_c01.avi", codec="mpeg4", seed=2)  # in no list
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 Jump\n2 Walk\n")
    (lists / "trainlist01.txt").write_text("Walk/v_Walk_g09_c01.avi 2\n")
    (lists / "testlist01.txt").write_text("Walk/v_Walk_g01_c01.avi\n")
    code, df = scan(root, tmp_path / "m.csv", "--labels", str(lists))
    assert code == 0
    r = df.set_index("video_id")
    assert r.loc["Walk/v_Walk_g09_c01.avi", ["label", "label_index", "split"]].tolist() == ["Walk", 1, "train"]
    assert r.loc["Walk/v_Walk_g01_c01.avi", "split"] == "test" and r.loc["Walk/v_Walk_g01_c01.avi", "codec"] == "mpeg4"
    assert r.loc["Walk/v_Walk_g10_c01.avi", ["label", "split"]].tolist() == ["", ""]
