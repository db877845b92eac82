"""Official annotation files: UCF101 and HMDB51 split lists, Kinetics CSVs, and plain ``path,label`` CSVs.

All of them become one :class:`Annotations` table mapping a video's name to its label and split, which ``scan`` uses
for labels and ``split --official`` for splits. Videos are matched by relative path first, then by file name, then
by stem (lists name ``v_X_g01_c01.avi`` while the corpus may hold transcoded ``v_X_g01_c01.mp4``), then for
Kinetics by the YouTube id the usual downloaders put first in the name (``{id}_{start:06d}_{end:06d}.mp4``).

Formats:

* UCF101 (``ucfTrainTestlist/``): ``classInd.txt`` lines ``1 ApplyEyeMakeup``; ``trainlist0K.txt`` lines
  ``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``; ``testlist0K.txt`` lines ``ApplyEyeMakeup/v_..._g01_c01.avi``.
* HMDB51 (``testTrainMulti_7030_splits/``): ``<class>_test_split<K>.txt`` lines ``<video>.avi <0|1|2>`` with
  1 = train, 2 = test, 0 = unused in that split.
* Kinetics: CSV with ``label,youtube_id,time_start,time_end,split``.
* Generic: CSV with ``path`` and ``label`` columns (and optionally ``split``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["Annotations", "load_annotations", "read_hmdb51", "read_kinetics_csv", "read_ucf101", "ucf_group"]

_HMDB_FILE = re.compile(r"^(?P<label>.+)_test_split(?P<fold>\d)\.txt$")
_HMDB_SPLIT = {"1": "train", "2": "test", "0": ""}
_YOUTUBE_ID = 11


@dataclass
class Annotations:
    """Labels and splits by video name.

    Attributes:
        entries: key (relative path, file name or stem) -> ``(label, split)``.
        classes: class names in label-index order.
        kind: which format the table came from.
    """

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    kind: str = ""

    def add(self, name: str, label: str, split: str) -> None:
        """Register ``name`` under its path, file name and stem."""
        p = PurePosixPath(name.replace("\\", "/"))
        for key in (str(p), p.name, p.stem):
            self.entries.setdefault(key, (label, split))
        if label and label not in self.classes and self.kind != "ucf101":
            self.classes.append(label)

    def lookup(self, rel: str) -> tuple[str, str] | None:
        """``(label, split)`` of the video at relative path ``rel``, or ``None`` when the table does not list it."""
        p = PurePosixPath(rel)
        for key in (str(p), p.name, p.stem):
            if key in self.entries:
                return self.entries[key]
        if self.kind == "kinetics" and len(p.stem) >= _YOUTUBE_ID:
            return self.entries.get(p.stem[:_YOUTUBE_ID])
        return None


def read_ucf101(folder: str | os.PathLike[str], fold: int = 1) -> Annotations:
    """UCF101 ``ucfTrainTestlist`` folder: classes from ``classInd.txt``, splits of fold ``fold`` (1-3)."""
    folder = Path(folder)
    ann = Annotations(kind="ucf101")
    class_ind = folder / "classInd.txt"
    if class_ind.is_file():
        rows = [line.split() for line in class_ind.read_text().splitlines() if line.strip()]
        ann.classes = [name for _, name in sorted((int(i), name) for i, name in rows)]
    for split, fname in (("train", f"trainlist{fold:02d}.txt"), ("test", f"testlist{fold:02d}.txt")):
        path = folder / fname
        if not path.is_file():
            raise FileNotFoundError(f"{path}: UCF101 split list not found (expected the ucfTrainTestlist folder)")
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            name = line.split()[0]
            label = PurePosixPath(name).parent.name
            ann.add(name, label, split)
            if label not in ann.classes:
                ann.classes.append(label)
    return ann


def read_hmdb51(folder: str | os.PathLike[str], fold: int = 1) -> Annotations:
    """HMDB51 ``testTrainMulti_7030_splits`` folder, fold ``fold`` (1-3); classes in sorted order."""
    folder = Path(folder)
    ann = Annotations(kind="hmdb51")
    files = sorted(p for p in folder.glob(f"*_test_split{fold}.txt") if _HMDB_FILE.match(p.name))
    if not files:
        raise FileNotFoundError(f"{folder}: no HMDB51 lists *_test_split{fold}.txt (expected the "
                                "testTrainMulti_7030_splits folder)")
    for path in files:
        label = _HMDB_FILE.match(path.name).group("label")  # type: ignore[union-attr]
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                ann.add(f"{label}/{parts[0]}", label, _HMDB_SPLIT.get(parts[1], ""))
    ann.classes = sorted(ann.classes)
    return ann


def read_kinetics_csv(path: str | os.PathLike[str]) -> Annotations:
    """Kinetics annotation CSV (``label,youtube_id,time_start,time_end,split``); classes sorted."""
    ann = Annotations(kind="kinetics")
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            yid, label = row.get("youtube_id", ""), row.get("label", "")
            split = {"validate": "val", "valid": "val"}.get(row.get("split", ""), row.get("split", ""))
            try:
                start, end = int(float(row.get("time_start", 0))), int(float(row.get("time_end", 0)))
                ann.add(f"{yid}_{start:06d}_{end:06d}", label, split)
            except ValueError:
                pass
            ann.entries.setdefault(yid, (label, split))
            if label not in ann.classes:
                ann.classes.append(label)
    ann.classes = sorted(ann.classes)
    return ann


def _read_generic_csv(path: Path) -> Annotations:
    ann = Annotations(kind="csv")
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            ann.add(row["path"], row.get("label", ""), row.get("split", ""))
    ann.classes = sorted(ann.classes)
    return ann


def load_annotations(source: str | os.PathLike[str], fold: int = 1) -> Annotations:
    """Detect the format of ``source`` (a folder of lists or a CSV) and read it.

    Raises:
        FileNotFoundError: nothing there.
        ValueError: a file in no known format.
    """
    path = Path(source)
    if path.is_dir():
        if (path / "classInd.txt").is_file() or (path / f"trainlist{fold:02d}.txt").is_file():
            return read_ucf101(path, fold)
        return read_hmdb51(path, fold)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: annotation file or folder not found")
    if path.name.startswith(("trainlist", "testlist", "classInd")):
        return read_ucf101(path.parent, fold)
    if _HMDB_FILE.match(path.name):
        return read_hmdb51(path.parent, fold)
    with open(path, newline="") as fh:
        header = next(csv.reader(fh), [])
    if {"youtube_id", "label"} <= set(header):
        return read_kinetics_csv(path)
    if {"path", "label"} <= set(header):
        return _read_generic_csv(path)
    raise ValueError(f"{source}: unknown annotation format (expected a UCF101/HMDB51 list folder, a Kinetics CSV "
                     f"with label,youtube_id,time_start,time_end or a CSV with path,label; header was {header})")


_UCF_GROUP = re.compile(r"^v_(?P<action>.+)_g(?P<group>\d+)_c\d+$")


def ucf_group(name: str) -> str:
    """The UCF101-style group of a file name (``v_ApplyEyeMakeup_g08_c01.avi`` -> ``ApplyEyeMakeup_g08``), or "".

    Clips of one group are cut from one source video: they must never straddle train and test.
    """
    m = _UCF_GROUP.match(PurePosixPath(name).stem)
    return f"{m.group('action')}_g{m.group('group')}" if m else ""
