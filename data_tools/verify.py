"""Fully decode the videos of a manifest (every frame, all audio) and update their status.

``scan`` trusts packets where the reader can check them; ``verify`` decodes everything, which finds files damaged in
the middle (a cut download, a bad sector) before training hits them at random. Rows that fail get a status
(``corrupt``, ``corrupt_audio``, ``timeout``...) and a reason; measured columns are refreshed from the full decode and
``verified`` is set. The exit code is 1 when any checked row fails.

Examples:
  vidssl-data verify manifest.csv                            # every ok row, manifest updated in place (atomically)
  vidssl-data verify manifest.csv --fraction 0.05 --seed 0   # a seeded 5% sample: a quick health check
  vidssl-data verify manifest.csv --out verified.parquet --include-failed --no-audio
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from data_tools.journal import ChunkJournal
from data_tools.options import UsageError, add_parallel_arguments, merge_or_fail, run_command, run_options, write_output
from data_tools.processors.decode_check import decode_check_job
from data_tools.processors.probe import DEFAULT_MAX_PIXELS
from data_tools.report import print_failures, summary_line
from data_tools.runner import run_chunked, work_dir_for
from data_tools.updates import apply_updates
from vidssl.data.manifest import read_manifest

HELP = "fully decode the videos of a manifest and update their status"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the verify options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest from `vidssl-data scan` (.csv or .parquet)")
    parser.add_argument("--out", default=None, help="where to write the updated manifest (default: MANIFEST itself)")
    parser.add_argument(
        "--fraction", type=float, default=1.0, metavar="F",
        help="check a seeded random fraction of the rows (default: 1.0 = all). 0.01-0.1 gives a quick estimate of "
        "how much of a large corpus is damaged",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed of the --fraction sample (default: 0)")
    parser.add_argument(
        "--include-failed", action="store_true",
        help="also re-check rows whose status is not ok (after repairing or replacing files)",
    )  # fmt: skip
    parser.add_argument("--no-audio", action="store_true", help="check the video stream only (faster)")
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
        help="refuse video streams with more pixels per frame (default: 8K UHD)",
    )  # fmt: skip
    add_parallel_arguments(parser, timeout=600.0, chunk_size=32)


def select_rows(df: pd.DataFrame, fraction: float, seed: int, include_failed: bool) -> list[int]:
    """Positions of the rows to check: eligible rows, or a seeded sample of ``fraction`` of them (at least one)."""
    eligible = np.flatnonzero((df["status"] == "ok").to_numpy() | include_failed)
    if fraction >= 1.0 or len(eligible) == 0:
        return eligible.tolist()
    k = max(1, round(fraction * len(eligible)))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E51F7]))
    return sorted(rng.choice(eligible, size=k, replace=False).tolist())


def run(args: argparse.Namespace) -> int:
    """Verify; returns the exit code."""
    opts = run_options(args)
    out = Path(args.out or args.manifest)
    if args.merge:
        return merge_or_fail(out, "verify")
    if not 0.0 < args.fraction <= 1.0:
        raise UsageError(f"--fraction must be in (0, 1], got {args.fraction}")
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    root = Path(df.attrs["root"])
    chosen = set(select_rows(df, args.fraction, args.seed, args.include_failed))
    payloads = [
        {"path": str(root / row.path), "expected_frames": int(row.num_frames), "audio": not args.no_audio,
         "max_pixels": args.max_pixels} if i in chosen else None
        for i, row in enumerate(df.itertuples(index=False))
    ]
    ids = [f"{row.video_id}\0{row.size_bytes}\0{i in chosen}" for i, row in enumerate(df.itertuples(index=False))]
    settings = {"tool": "verify", "audio": not args.no_audio, "max_pixels": args.max_pixels}
    work_dir = work_dir_for(out, "verify", opts)
    result = run_chunked(decode_check_job, payloads, ids, work_dir=work_dir, opts=opts, settings=settings,
                         desc="verify", unit="video")
    if "verified" not in df.columns:
        df["verified"] = False
    updated = apply_updates(df, result.results)
    positions = sorted(result.results)
    written = write_output(updated.iloc[positions] if opts.num_shards > 1 else updated, out, opts, positions)
    ChunkJournal(work_dir).remove()
    checked = updated.iloc[sorted(p for p in positions if p in chosen)]
    print_failures("verify", checked, key="video_id")
    sample = f" ({args.fraction:.0%} sample, seed {args.seed})" if args.fraction < 1 else ""
    print(summary_line(f"verify{sample}", total=len(checked), statuses=result.statuses, seconds=result.seconds,
                       processed=result.processed, resumed=result.resumed, workers=opts.workers, out=str(written)))
    return 1 if result.failed else 0


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data verify``."""
    return run_command("verify", run, args)
