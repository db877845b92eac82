"""Per-video motion profile for motion-aware planners (Shuffle and Learn, tracking, colorization).

Each ``ok`` video is decoded once at low resolution; the mean frame-difference (or Farneback optical-flow)
magnitude per window of ``--window`` frames is stored in the manifest's ``motion`` column (space-separated floats)
with ``motion_window``, the columns :func:`vidssl.data.manifest.row_to_meta` expands into ``VideoMeta.motion``
(one value per frame) for the planners to pick high-motion windows. ``motion_frames`` (extra column) is the number
of frames the profile covers. Rows whose video does not decode get ``decode_error`` and a reason; the exit code is
1 when any checked row fails.

Examples:
  vidssl-data motion manifest.csv                          # frame differences, 8-frame windows, in place
  vidssl-data motion manifest.csv --method farneback --size 48 --out with_flow.parquet
  vidssl-data motion manifest.csv --num-shards 8 --shard-index $SLURM_ARRAY_TASK_ID   # then the same with --merge
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_tools.journal import ChunkJournal
from data_tools.options import UsageError, add_parallel_arguments, merge_or_fail, run_command, run_options, write_output
from data_tools.processors.motion_profile import METHODS, motion_job
from data_tools.report import print_failures, summary_line
from data_tools.runner import run_chunked, work_dir_for
from data_tools.updates import apply_updates
from vidssl.data.manifest import read_manifest

HELP = "per-video motion profile for motion-aware planners"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the motion options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest from scan/verify/transcode (.csv or .parquet)")
    parser.add_argument("--out", default=None, help="where to write the updated manifest (default: MANIFEST itself)")
    parser.add_argument(
        "--window", type=int, default=8, metavar="N",
        help="frames per motion value (default: 8). Use about the planners' clip length in frames; smaller windows "
        "give a finer profile and a longer manifest column",
    )  # fmt: skip
    parser.add_argument(
        "--size", type=int, default=32, metavar="PX",
        help="short side of the thumbnails compared (default: 32). Raise it (64) for small objects moving in "
        "large frames; cost grows with the square",
    )  # fmt: skip
    parser.add_argument(
        "--method", choices=METHODS, default="diff",
        help="diff (default: mean absolute frame difference, cheap, same as the online MotionEstimate) or "
        "farneback (dense optical flow magnitude: ignores flicker and fades, several times slower)",
    )  # fmt: skip
    parser.add_argument("--include-failed", action="store_true", help="also try rows whose status is not ok")
    parser.add_argument("--stream", type=int, default=0, help="video stream to measure in multi-stream files")
    add_parallel_arguments(parser, timeout=600.0, chunk_size=32)


def run(args: argparse.Namespace) -> int:
    """Compute motion profiles; returns the exit code."""
    opts = run_options(args)
    out = Path(args.out or args.manifest)
    if args.merge:
        return merge_or_fail(out, "motion")
    if args.window < 1 or args.size < 2:
        raise UsageError(f"--window must be >= 1 and --size >= 2, got {args.window}, {args.size}")
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    root = Path(df.attrs["root"])
    chosen = (df["status"] == "ok").to_numpy() | args.include_failed
    payloads = [
        {"path": str(root / row.path), "window": args.window, "size": args.size, "method": args.method,
         "stream": args.stream} if good else None
        for good, row in zip(chosen, df.itertuples(index=False), strict=True)
    ]
    ids = [f"{row.video_id}\0{row.size_bytes}\0{bool(good)}" for good, row in
           zip(chosen, df.itertuples(index=False), strict=True)]
    settings = {"tool": "motion", "window": args.window, "size": args.size, "method": args.method,
                "stream": args.stream}
    work_dir = work_dir_for(out, "motion", opts)
    result = run_chunked(motion_job, payloads, ids, work_dir=work_dir, opts=opts, settings=settings, desc="motion",
                         unit="video")
    updated = apply_updates(df, result.results)
    positions = sorted(result.results)
    written = write_output(updated.iloc[positions] if opts.num_shards > 1 else updated, out, opts, positions)
    ChunkJournal(work_dir).remove()
    checked = updated.iloc[[p for p in positions if chosen[p]]]
    print_failures("motion", checked, key="video_id")
    print(summary_line("motion", total=len(checked), statuses=result.statuses, seconds=result.seconds,
                       processed=result.processed, resumed=result.resumed, workers=opts.workers, out=str(written)))
    return 1 if result.failed else 0


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data motion``."""
    return run_command("motion", run, args)
