"""Merge manifests written by job-array tasks (``--num-shards N --shard-index i``) into one.

Each task writes ``manifest.part-00003-of-00008.csv`` next to the manifest it was asked for (its rows only, with an
``_order`` column: the rows' positions in the full work list). Once every task has finished::

    vidssl-data scan ROOT --out manifest.csv --merge          # or: python -m data_tools.merge manifest.csv
    python -m data_tools.merge manifest.csv a.csv b.parquet   # any manifests: concatenated, deduplicated by video_id

Parts are concatenated in ``_order`` order, so the merged manifest is the one a single-machine run writes. Merging
refuses (exit 2) while parts are missing, and says which. Explicit inputs are concatenated in the order given; a
``video_id`` present in several inputs keeps its last row.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from data_tools.atomic import readable
from vidssl.data.manifest import read_manifest, write_manifest

__all__ = ["ORDER_COLUMN", "find_parts", "merge_manifests", "merge_parts", "part_path"]

ORDER_COLUMN = "_order"
HELP = "merge manifests written by --num-shards tasks (or any manifests) into one"


def part_path(out: str | Path, num_shards: int, shard_index: int) -> Path:
    """Where task ``shard_index`` of ``num_shards`` writes its rows of manifest ``out``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.part-{shard_index:05d}-of-{num_shards:05d}{out.suffix}")


def find_parts(out: str | Path) -> tuple[list[Path], list[int], int]:
    """Part files of ``out``: ``(found paths, missing task indices, number of tasks)``.

    Raises:
        FileNotFoundError: no part file at all.
        ValueError: parts from runs with different ``--num-shards``.
    """
    out = Path(out)
    pattern = re.compile(rf"^{re.escape(out.stem)}\.part-(\d{{5}})-of-(\d{{5}}){re.escape(out.suffix)}$")
    found: dict[int, Path] = {}
    totals = set()
    for p in sorted(out.parent.glob(f"{out.stem}.part-*{out.suffix}")):
        m = pattern.match(p.name)
        if m:
            found[int(m.group(1))] = p
            totals.add(int(m.group(2)))
    if not found:
        raise FileNotFoundError(f"no part files {out.stem}.part-*-of-*{out.suffix} next to {out}; run the "
                                "--num-shards tasks first (each with the same --out)")
    if len(totals) != 1:
        raise ValueError(f"part files of {out} come from runs with different --num-shards ({sorted(totals)}); "
                         "delete the stale ones")
    n = totals.pop()
    return [found[i] for i in sorted(found)], [i for i in range(n) if i not in found], n


def merge_parts(out: str | Path, *, remove_parts: bool = True) -> pd.DataFrame:
    """Concatenate all part files of ``out`` in work-list order and write ``out`` (atomically).

    Raises:
        FileNotFoundError: no parts, or some tasks have not written theirs yet.
    """
    parts, missing, n = find_parts(out)
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise FileNotFoundError(f"{len(missing)} of {n} tasks have not finished (--shard-index {shown}); rerun "
                                "them with the same command, then merge again")
    frames = [pd.DataFrame(read_manifest(p)) for p in parts]
    df = pd.concat(frames, ignore_index=True)
    if ORDER_COLUMN in df.columns:
        df[ORDER_COLUMN] = pd.to_numeric(df[ORDER_COLUMN], errors="coerce")
        df = df.sort_values(ORDER_COLUMN, kind="stable").drop(columns=[ORDER_COLUMN]).reset_index(drop=True)
    readable(write_manifest(df, out))
    if remove_parts:
        for p in parts:
            p.unlink(missing_ok=True)
    return df


def merge_manifests(inputs: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Concatenate manifests in the order given, keeping the last row of each ``video_id``; write ``out``."""
    frames = [pd.DataFrame(read_manifest(p)) for p in inputs]
    df = pd.concat(frames, ignore_index=True)
    df = df.drop_duplicates(subset="video_id", keep="last").reset_index(drop=True)
    if ORDER_COLUMN in df.columns:
        df = df.drop(columns=[ORDER_COLUMN])
    readable(write_manifest(df, out))
    return df


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the merge options to ``parser``."""
    parser.add_argument("out", metavar="OUT", help="merged manifest to write (.csv or .parquet)")
    parser.add_argument(
        "inputs", nargs="*", metavar="MANIFEST",
        help="manifests to concatenate; without them, the part files of OUT written by --num-shards tasks",
    )  # fmt: skip


def main(args: argparse.Namespace) -> int:
    """Merge; exit code 2 when parts are missing or inputs unreadable."""
    try:
        df = merge_manifests(args.inputs, args.out) if args.inputs else merge_parts(args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    failed = int((df["status"] != "ok").sum())
    print(f"merge: {len(df)} rows ({failed} not ok) -> {args.out}")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m data_tools.merge", description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(_parser)
    raise SystemExit(main(_parser.parse_args()))
