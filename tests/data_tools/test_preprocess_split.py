"""``vidssl-data split``: groups never straddle splits, seeded and order-independent; official UCF101/HMDB51 lists."""

from __future__ import annotations

import pandas as pd
import pytest

from data_tools.cli import main
from data_tools.options import UsageError
from data_tools.split import SplitSettings, group_split
from vidssl.data.manifest import read_manifest, write_manifest


def ucf_manifest(n_classes: int = 4, n_groups: int = 10, clips: int = 3) -> pd.DataFrame:
    rows = []
    for c in range(n_classes):
        name = f"Class{c}"
        for g in range(1, n_groups + 1):
            for k in range(1, clips + 1):
                vid = f"{name}/v_{name}_g{g:02d}_c{k:02d}.avi"
                rows.append({"path": vid, "video_id": vid, "label": name, "label_index": c,
                             "group": f"{name}_g{g:02d}", "status": "ok"})
    return pd.DataFrame(rows)


def test_groups_never_straddle_and_ratios_hold():
    df = ucf_manifest()
    split = group_split(df, SplitSettings((0.7, 0.15, 0.15), seed=1))
    per_group = pd.DataFrame({"group": df["group"], "split": split}).groupby("group")["split"].nunique()
    assert (per_group == 1).all()
    counts = split.value_counts()
    assert abs(counts["train"] - 84) <= 3 and abs(counts["val"] - 18) <= 3 and abs(counts["test"] - 18) <= 3
    # seeded, and independent of row order
    assert split.equals(group_split(df, SplitSettings((0.7, 0.15, 0.15), seed=1)))
    shuffled = df.sample(frac=1.0, random_state=0)
    again = group_split(shuffled, SplitSettings((0.7, 0.15, 0.15), seed=1))
    assert again.reindex(df.index).equals(split)
    assert not split.equals(group_split(df, SplitSettings((0.7, 0.15, 0.15), seed=2)))


def test_stratify_gives_every_class_every_split_and_failed_rows_none():
    df = ucf_manifest()
    df.loc[0, "status"] = "corrupt"
    split = group_split(df, SplitSettings((0.6, 0.2, 0.2), seed=0, stratify=True))
    assert split[0] == ""
    table = pd.crosstab(df["label"][split != ""], split[split != ""])
    assert (table > 0).all().all()
    ungrouped = df.assign(group="")  # no groups: each video is its own
    assert set(group_split(ungrouped, SplitSettings())) <= {"train", "val", "test", ""}
    with pytest.raises(UsageError):
        group_split(df.assign(group="one"), SplitSettings(stratify=True))


def test_cli_writes_lists_and_rejects_bad_ratios(tmp_path, capsys):
    write_manifest(ucf_manifest(), tmp_path / "m.csv")
    assert main(["split", str(tmp_path / "m.csv"), "--ratios", "0.8,0.1,0.1", "--write-lists"]) == 0
    out = capsys.readouterr().out
    assert "split: 120 videos, train" in out and "groups" in out
    parts = [read_manifest(tmp_path / f"m.{s}.csv") for s in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 120
    assert not set(parts[0]["group"]) & set(parts[2]["group"])
    assert main(["split", str(tmp_path / "m.csv"), "--ratios", "0.8,0.3,0.1"]) == 2
    assert main(["split", str(tmp_path / "m.csv"), "--group-column", "nope"]) == 2


def test_official_ucf101_and_hmdb51_lists(tmp_path):
    ucf = tmp_path / "ucfTrainTestlist"
    ucf.mkdir()
    (ucf / "classInd.txt").write_text("1 Class0\n2 Class1\n3 Class2\n4 Class3\n")
    df = ucf_manifest()
    train = [v for v in df["video_id"] if int(v.split("_g")[1][:2]) > 3]
    test = [v for v in df["video_id"] if int(v.split("_g")[1][:2]) <= 3]
    (ucf / "trainlist01.txt").write_text("".join(f"{v} {int(v[5]) + 1}\n" for v in train))
    (ucf / "testlist01.txt").write_text("".join(f"{v}\n" for v in test))
    # the corpus was transcoded: .mp4 copies still match the .avi lists
    df["video_id"] = df["video_id"].str.replace(".avi", ".mp4")
    write_manifest(df, tmp_path / "m.csv")
    assert main(["split", str(tmp_path / "m.csv"), "--official", str(ucf), "--val-from-train", "0.2"]) == 0
    got = read_manifest(tmp_path / "m.csv")
    assert (got.loc[got["group"].str[-2:].astype(int) <= 3, "split"] == "test").all()
    assert set(got.loc[got["group"].str[-2:].astype(int) > 3, "split"]) == {"train", "val"}
    assert got.groupby("group")["split"].nunique().max() == 1

    hmdb = tmp_path / "hmdb_splits"
    hmdb.mkdir()
    (hmdb / "brush_hair_test_split1.txt").write_text("a.avi 1\nb.avi 2\nc.avi 0\n")
    rows = [{"path": f"brush_hair/{n}.avi", "video_id": f"brush_hair/{n}.avi", "label": "brush_hair"}
            for n in "abcd"]
    write_manifest(pd.DataFrame(rows), tmp_path / "h.csv")
    assert main(["split", str(tmp_path / "h.csv"), "--official", str(hmdb)]) == 0
    assert read_manifest(tmp_path / "h.csv")["split"].tolist() == ["train", "test", "", ""]
    assert main(["split", str(tmp_path / "h.csv"), "--official", str(tmp_path / "missing")]) == 2
