"""Train/val/test splits by group, seeded; or the official UCF101/HMDB51 (or Kinetics) split lists.

Group split: the unit assigned to a split is a *group* (the manifest's ``group`` column, e.g. UCF101's
``ApplyEyeMakeup_g08``: clips cut from one source video), so clips of one source never straddle splits. Rows with
an empty group are their own group. Groups are ordered by name, shuffled with ``--seed`` and each is given to the
split furthest below its target share (counted in videos), so the result depends only on the set of groups, the
ratios and the seed, not on the manifest's row order. ``--stratify`` does this per label, so each class keeps the
ratios. Only ``ok`` rows are assigned; the others get an empty split.

Official lists: ``--official DIR`` reads a UCF101 ``ucfTrainTestlist`` folder or an HMDB51
``testTrainMulti_7030_splits`` folder (fold ``--fold``), a Kinetics CSV (its ``split`` column) or a CSV with
``path,label,split``; videos are matched by path, file name or stem (transcoded ``.mp4`` copies match ``.avi``
lists). ``--val-from-train F`` moves a seeded, group-wise fraction ``F`` of train to ``val`` (the official lists
have no val split). Videos the lists do not name (HMDB51 tag 0) get an empty split.

Examples:
  vidssl-data split manifest.csv --ratios 0.8,0.1,0.1 --seed 0
  vidssl-data split manifest.csv --official /data/ucfTrainTestlist --fold 1 --val-from-train 0.1
  vidssl-data split manifest.csv --write-lists          # also manifest.train.csv, manifest.val.csv, manifest.test.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data_tools.annotations import load_annotations
from data_tools.atomic import readable
from data_tools.options import UsageError
from vidssl.data.manifest import read_manifest, write_manifest

HELP = "train/val/test splits by group, or official UCF101/HMDB51 lists"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSettings:
    """How to split.

    Attributes:
        ratios: shares of train, val and test (summing to 1).
        seed: shuffling seed.
        stratify: keep the ratios within each label.
    """

    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    stratify: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the split options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest (.csv or .parquet)")
    parser.add_argument("--out", default=None, help="where to write the manifest with its split column (default: "
                        "MANIFEST itself)")
    parser.add_argument(
        "--ratios", default="0.8,0.1,0.1", metavar="TRAIN,VAL,TEST",
        help="shares of the videos per split (default: 0.8,0.1,0.1). Use 0.7,0,0.3 for no val; shares are "
        "reached to within one group",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the group shuffle (default: 0). Change it for "
                        "another random split of the same corpus")
    parser.add_argument(
        "--group-column", default="group", metavar="COL",
        help="column naming the group (default: group, filled by scan for UCF101-style names). Use a column like "
        "youtube_id or source when your clips come from longer videos",
    )  # fmt: skip
    parser.add_argument("--stratify", action="store_true", help="apply the ratios within each label (small corpora "
                        "where a class could otherwise miss a split)")
    parser.add_argument(
        "--official", default=None, metavar="PATH",
        help="take splits from official lists instead: UCF101 ucfTrainTestlist or HMDB51 split folder, a Kinetics "
        "CSV, or a path,label,split CSV",
    )  # fmt: skip
    parser.add_argument("--fold", type=int, default=1, help="official split fold 1-3 (default: 1)")
    parser.add_argument("--val-from-train", type=float, default=0.0, metavar="F",
                        help="with --official: move a group-wise fraction F of train to val (default: 0)")
    parser.add_argument("--write-lists", action="store_true",
                        help="also write one manifest per split next to the output (NAME.train.csv, ...)")


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> ``(0.8, 0.1, 0.1)``.

    Raises:
        UsageError: not three non-negative numbers summing to 1.
    """
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--ratios must be three numbers like 0.8,0.1,0.1, got {text!r}") from exc
    if len(values) != 3 or min(values) < 0 or abs(sum(values) - 1.0) > 1e-6:
        raise UsageError(f"--ratios must be three non-negative shares summing to 1, got {text!r}")
    return values  # type: ignore[return-value]


def _assign(groups: dict[str, int], ratios: tuple[float, ...], rng: np.random.Generator) -> dict[str, int]:
    """Group -> split index: shuffled groups, each to the split furthest below its target video count."""
    names = sorted(groups)
    order = rng.permutation(len(names))
    total = sum(groups.values())
    target = np.asarray(ratios, dtype=np.float64) * total
    current = np.zeros(len(ratios))
    out: dict[str, int] = {}
    for i in order:
        name = names[i]
        deficit = np.where(target > 0, target - current, -np.inf)
        k = int(np.argmax(deficit))
        out[name] = k
        current[k] += groups[name]
    return out


def group_split(df: pd.DataFrame, settings: SplitSettings, group_column: str = "group") -> pd.Series:
    """The split of every row (``""`` for rows that are not ``ok``).

    Args:
        df: the manifest.
        settings: ratios, seed, stratification.
        group_column: the column naming each row's group (empty: the row is its own group).

    Returns:
        A string Series aligned with ``df``.

    Raises:
        UsageError: ``group_column`` is missing, or a group spans several labels with ``stratify``.
    """
    if group_column not in df.columns:
        raise UsageError(f"--group-column {group_column!r} is not a column of the manifest ({list(df.columns)})")
    ok = df["status"].astype(str).eq("ok").to_numpy()
    groups = df[group_column].fillna("").astype(str).to_numpy()
    keys = np.where(groups == "", "\0" + df["video_id"].astype(str).to_numpy(), groups)
    labels = df["label"].astype(str).to_numpy() if settings.stratify else np.full(len(df), "")
    strata: dict[str, Counter] = {}
    label_of_group: dict[str, str] = {}
    for key, label, good in zip(keys, labels, ok, strict=True):
        if not good:
            continue
        if label_of_group.setdefault(key, label) != label:
            raise UsageError(f"group {key!r} holds several labels; --stratify needs one label per group")
        strata.setdefault(label, Counter())[key] += 1
    split_of: dict[str, int] = {}
    for stratum in sorted(strata):
        seed = [settings.seed, int.from_bytes(stratum.encode("utf-8", "surrogateescape")[:8].ljust(8, b"\0"), "big")]
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        split_of.update(_assign(dict(strata[stratum]), settings.ratios, rng))
    return pd.Series([SPLITS[split_of[k]] if good else "" for k, good in zip(keys, ok, strict=True)],
                     index=df.index, dtype=object)


def official_split(df: pd.DataFrame, source: str, fold: int) -> pd.Series:
    """The split each row's video has in official lists (``""`` when the lists do not name it).

    Raises:
        UsageError: the lists cannot be read.
    """
    try:
        ann = load_annotations(source, fold)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--official: {exc}") from exc
    splits = []
    for vid in df["video_id"].astype(str):
        hit = ann.lookup(vid)
        split = hit[1] if hit else ""
        splits.append({"validate": "val", "valid": "val", "validation": "val"}.get(split, split))
    return pd.Series(splits, index=df.index, dtype=object)


def _carve_val(df: pd.DataFrame, split: pd.Series, fraction: float, seed: int, group_column: str) -> pd.Series:
    """Move a group-wise ``fraction`` of the train rows to val."""
    train = split.eq("train").to_numpy()
    sub = df[train]
    if not len(sub):
        return split
    inner = group_split(sub.assign(status="ok"), SplitSettings((1.0 - fraction, fraction, 0.0), seed),
                        group_column if group_column in df.columns else "group")
    out = split.copy()
    out[sub.index] = inner.to_numpy()
    return out


def lists_path(out: Path, split: str) -> Path:
    """``manifest.csv`` -> ``manifest.train.csv``."""
    return out.with_name(f"{out.stem}.{split}{out.suffix}")


def run(args: argparse.Namespace) -> int:
    """Split; returns the exit code."""
    start = time.monotonic()
    out = Path(args.out or args.manifest)
    if out.suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out must end in .csv or .parquet, got {out}")
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if args.official:
        if not 0.0 <= args.val_from_train < 1.0:
            raise UsageError(f"--val-from-train must be in [0, 1), got {args.val_from_train}")
        split = official_split(df, args.official, args.fold)
        split[df["status"].astype(str).ne("ok")] = ""
        if args.val_from_train > 0:
            split = _carve_val(df, split, args.val_from_train, args.seed, args.group_column)
        how = f"official lists {args.official} fold {args.fold}"
    else:
        settings = SplitSettings(parse_ratios(args.ratios), args.seed, args.stratify)
        split = group_split(df, settings, args.group_column)
        how = f"groups of {args.group_column!r}, ratios {args.ratios}, seed {args.seed}"
    df["split"] = split.to_numpy()
    readable(write_manifest(df, out))
    counts = Counter(df["split"])
    if args.write_lists:
        for name in SPLITS:
            readable(write_manifest(df[df["split"] == name], lists_path(out, name)))
    print(split_table(df, args.group_column))
    unassigned = counts.get("", 0)
    print(f"split: {len(df)} videos, " + ", ".join(f"{s} {counts.get(s, 0)}" for s in SPLITS)
          + f", unassigned {unassigned} ({how}) in {time.monotonic() - start:.1f} s -> {out}")
    return 0


def split_table(df: pd.DataFrame, group_column: str = "group") -> str:
    """Videos, groups and labels per split, as a text table."""
    lines = [f"{'split':<8} {'videos':>8} {'groups':>8} {'labels':>8}"]
    has_groups = group_column in df.columns
    for name in (*SPLITS, ""):
        part = df[df["split"] == name]
        if name == "" and not len(part):
            continue
        groups = part[group_column].astype(str).replace("", np.nan).nunique() if has_groups else 0
        lines.append(f"{name or '(none)':<8} {len(part):>8} {groups:>8} {part['label'].astype(str).nunique():>8}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data split``."""
    try:
        return run(args)
    except UsageError as exc:
        print(f"split: {exc}", file=sys.stderr)
        return 2
