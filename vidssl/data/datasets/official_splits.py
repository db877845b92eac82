"""Official split files of UCF101, HMDB51 and Kinetics, read into manifest DataFrames (see :mod:`.sources`).

* UCF101 (``ucfTrainTestlist/``): ``classInd.txt`` lines ``"1 ApplyEyeMakeup"`` (1-based); ``trainlist0X.txt`` lines
  ``"ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"``; ``testlist0X.txt`` lines without the label (the class is the
  folder). The group ``gXX`` (one actor/scene) is kept: the three splits never put one group in train and test.
* HMDB51 (``testTrainMulti_7030_splits/``): ``<class>_test_split<K>.txt`` lines ``"<video>.avi <tag>"`` with tag 1 =
  train, 2 = test, 0 = unused; videos live in ``root/<class>/<video>.avi``. Classes are numbered in sorted order.
* Kinetics CSV: ``label,youtube_id,time_start,time_end,split[,is_cc]``; files named
  ``<youtube_id>_<start:06d>_<end:06d>.<ext>`` found anywhere under ``root`` (the usual ``<split>/<label>/`` layouts
  and flat folders both work). Rows whose file is missing are dropped and counted in ``df.attrs["missing"]``
  (Kinetics downloads are always partial).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vidssl.data.datasets.sources import VIDEO_EXTENSIONS, manifest_frame

__all__ = ["hmdb51_manifest", "kinetics_manifest", "ucf101_manifest"]

_UCF_GROUP = re.compile(r"_g(\d+)_c\d+")


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}")
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def ucf101_manifest(
    root: str | os.PathLike[str], splits_dir: str | os.PathLike[str], split_id: int = 1, subset: str = "train"
) -> pd.DataFrame:
    """UCF101 train or test list of one official split.

    Args:
        root: folder holding ``<Class>/v_<Class>_gXX_cYY.avi``.
        splits_dir: folder holding ``classInd.txt``, ``trainlist0X.txt``, ``testlist0X.txt``.
        split_id: 1, 2 or 3.
        subset: ``train`` or ``test``.

    Returns:
        Manifest DataFrame (``label_index`` 0-based, ``group`` = ``gXX``, ``split`` = subset).
    """
    if split_id not in (1, 2, 3) or subset not in ("train", "test"):
        raise ValueError(f"UCF101 has splits 1-3 and subsets train/test, got {split_id}, {subset!r}")
    splits_dir = Path(splits_dir)
    classes = {}
    for ln in _lines(splits_dir / "classInd.txt"):
        num, name = ln.split(maxsplit=1)
        classes[name] = int(num) - 1
    rows = []
    for ln in _lines(splits_dir / f"{subset}list0{split_id}.txt"):
        parts = ln.split()
        rel = parts[0].replace("\\", "/")
        name = rel.split("/")[0]
        if name not in classes:
            raise ValueError(f"{rel}: class {name!r} is not in classInd.txt")
        label = int(parts[1]) - 1 if len(parts) > 1 else classes[name]
        if label != classes[name]:
            raise ValueError(f"{rel}: label {label + 1} disagrees with classInd.txt ({classes[name] + 1})")
        group = _UCF_GROUP.search(rel)
        rows.append({"path": rel, "video_id": rel, "label": name, "label_index": label, "split": subset,
                     "group": f"g{group.group(1)}" if group else ""})
    return manifest_frame(rows, root)


def hmdb51_manifest(
    root: str | os.PathLike[str], splits_dir: str | os.PathLike[str], split_id: int = 1, subset: str = "train"
) -> pd.DataFrame:
    """HMDB51 train or test videos of one official split (tags 1 / 2; tag 0 videos are left out)."""
    if split_id not in (1, 2, 3) or subset not in ("train", "test"):
        raise ValueError(f"HMDB51 has splits 1-3 and subsets train/test, got {split_id}, {subset!r}")
    splits_dir = Path(splits_dir)
    files = sorted(splits_dir.glob(f"*_test_split{split_id}.txt"))
    if not files:
        raise FileNotFoundError(f"no '*_test_split{split_id}.txt' files in {splits_dir}")
    names = sorted(f.name[: -len(f"_test_split{split_id}.txt")] for f in files)
    want = "1" if subset == "train" else "2"
    rows = []
    for label, name in enumerate(names):
        for ln in _lines(splits_dir / f"{name}_test_split{split_id}.txt"):
            video, tag = ln.rsplit(maxsplit=1)
            if tag not in ("0", "1", "2"):
                raise ValueError(f"{name}_test_split{split_id}.txt: bad tag {tag!r} in line {ln!r}")
            if tag == want:
                rel = f"{name}/{video}"
                rows.append({"path": rel, "video_id": rel, "label": name, "label_index": label, "split": subset})
    return manifest_frame(rows, root)


def kinetics_manifest(
    csv: str | os.PathLike[str],
    root: str | os.PathLike[str],
    classes: Sequence[str] | None = None,
    extensions: Sequence[str] = VIDEO_EXTENSIONS,
) -> pd.DataFrame:
    """Kinetics-style annotation CSV joined with the files present under ``root``.

    Args:
        csv: ``label,youtube_id,time_start,time_end,split`` (header required).
        root: download folder (searched recursively once).
        classes: label order; default sorted labels of the CSV.
        extensions: video extensions to match.

    Returns:
        Manifest DataFrame of the rows whose file exists; ``attrs["missing"]`` counts the others.
    """
    ann = pd.read_csv(csv, dtype=str, keep_default_na=False)
    need = {"label", "youtube_id", "time_start", "time_end"}
    if not need <= set(ann.columns):
        raise ValueError(f"{csv}: Kinetics CSV needs columns {sorted(need)}, has {list(ann.columns)}")
    exts = {e.lower() for e in extensions}
    root = Path(root)
    found: dict[str, str] = {}
    for dirpath, _, filenames in os.walk(root):
        for fn in filenames:
            stem, ext = os.path.splitext(fn)
            if ext.lower() in exts:
                found.setdefault(stem, os.path.relpath(os.path.join(dirpath, fn), root))
    labels = list(classes) if classes is not None else sorted(set(ann["label"]))
    index = {c: i for i, c in enumerate(labels)}
    rows, missing = [], 0
    for r in ann.itertuples(index=False):
        stem = f"{r.youtube_id}_{int(float(r.time_start)):06d}_{int(float(r.time_end)):06d}"
        rel = found.get(stem)
        if rel is None:
            missing += 1
            continue
        rows.append({"path": rel.replace(os.sep, "/"), "video_id": stem, "label": r.label,
                     "label_index": index.get(r.label, -1), "split": getattr(r, "split", "")})
    df = manifest_frame(rows, root) if rows else manifest_frame([{"path": ""}], root).iloc[:0]
    df.attrs["root"] = str(root.resolve())
    df.attrs["missing"] = missing
    return df
