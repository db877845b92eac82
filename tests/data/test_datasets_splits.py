"""Video lists from class folders and official UCF101 / HMDB51 / Kinetics split files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vidssl.data.datasets.official_splits import hmdb51_manifest, kinetics_manifest, ucf101_manifest
from vidssl.data.datasets.sources import class_folder_manifest, load_videos
from vidssl.data.manifest import write_manifest


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_class_folders(tmp_path):
    for rel in ["walk/a.mp4", "walk/sub/b.MKV", "run/c.avi", "run/notes.txt", "jump/d.webm"]:
        touch(tmp_path / rel)
    df = class_folder_manifest(tmp_path)
    assert list(df["path"]) == ["jump/d.webm", "run/c.avi", "walk/a.mp4", "walk/sub/b.MKV"]
    assert list(df["label_index"]) == [0, 1, 2, 2] and list(df["label"]) == ["jump", "run", "walk", "walk"]
    metas = load_videos(df)
    parquet = write_manifest(df, tmp_path / "manifest.parquet")
    assert [m.path for m in load_videos(parquet)] == [m.path for m in metas]
    assert [m.label for m in load_videos(parquet)] == [0, 1, 2, 2]
    assert metas[0].path == str(tmp_path.resolve() / "jump/d.webm") and metas[0].label == 0
    assert metas[0].num_frames == 0  # measured when opened
    with pytest.raises(ValueError, match="not one of"):
        class_folder_manifest(tmp_path, classes=["walk", "run"])
    with pytest.raises(FileNotFoundError):
        class_folder_manifest(tmp_path / "nope")


def test_ucf101_official_lists(tmp_path):
    splits = tmp_path / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 ApplyLipstick\n3 Archery\n")
    (splits / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nArchery/v_Archery_g09_c02.avi 3\n"
    )
    (splits / "testlist01.txt").write_text("ApplyLipstick/v_ApplyLipstick_g01_c01.avi\n")
    train = ucf101_manifest(tmp_path / "UCF-101", splits, 1, "train")
    assert list(train["label_index"]) == [0, 2] and list(train["group"]) == ["g08", "g09"]
    test = ucf101_manifest(tmp_path / "UCF-101", splits, 1, "test")
    assert list(test["label"]) == ["ApplyLipstick"] and list(test["label_index"]) == [1]
    assert test.attrs["root"].endswith("UCF-101") and list(test["split"]) == ["test"]
    (splits / "trainlist02.txt").write_text("Archery/v_Archery_g09_c02.avi 2\n")
    with pytest.raises(ValueError, match="disagrees"):
        ucf101_manifest(tmp_path, splits, 2, "train")
    with pytest.raises(FileNotFoundError):
        ucf101_manifest(tmp_path, splits, 3, "train")


def test_hmdb51_markers(tmp_path):
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "brush_hair_test_split1.txt").write_text("a.avi 1 \nb.avi 2 \nc.avi 0 \n")
    (splits / "cartwheel_test_split1.txt").write_text("d.avi 2\ne.avi 1\n")
    train = hmdb51_manifest(tmp_path / "hmdb", splits, 1, "train")
    test = hmdb51_manifest(tmp_path / "hmdb", splits, 1, "test")
    assert list(train["path"]) == ["brush_hair/a.avi", "cartwheel/e.avi"]
    assert list(train["label_index"]) == [0, 1]
    assert list(test["path"]) == ["brush_hair/b.avi", "cartwheel/d.avi"]  # tag 0 (unused) is in neither
    (splits / "bad_test_split2.txt").write_text("x.avi 7\n")
    with pytest.raises(ValueError, match="bad tag"):
        hmdb51_manifest(tmp_path, splits, 2, "train")


def test_kinetics_csv_joins_existing_files(tmp_path):
    csv = tmp_path / "train.csv"
    pd.DataFrame(
        {
            "label": ["abseiling", "air drumming", "abseiling"],
            "youtube_id": ["--07WQ2iBlw", "-0LxbV1LE0k", "zzzzzzzzzzz"],
            "time_start": [1, 25, 3],
            "time_end": [11, 35, 13],
            "split": ["train"] * 3,
        }
    ).to_csv(csv, index=False)
    root = tmp_path / "k400"
    touch(root / "train/abseiling/--07WQ2iBlw_000001_000011.mp4")
    touch(root / "-0LxbV1LE0k_000025_000035.mkv")
    df = kinetics_manifest(csv, root)
    assert list(df["video_id"]) == ["--07WQ2iBlw_000001_000011", "-0LxbV1LE0k_000025_000035"]
    assert list(df["label_index"]) == [0, 1] and df.attrs["missing"] == 1
    assert list(df["path"]) == ["train/abseiling/--07WQ2iBlw_000001_000011.mp4", "-0LxbV1LE0k_000025_000035.mkv"]
    out = write_manifest(df, root / "manifest.csv")  # split lists become ordinary manifests (paths relative to it)
    assert [Path(m.path).is_file() for m in load_videos(out)] == [True, True]
    pd.DataFrame({"label": ["x"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="needs columns"):
        kinetics_manifest(tmp_path / "bad.csv", root)
