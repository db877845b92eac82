"""Probe every video under a folder into a manifest: one row per file, with what really decodes.

Each file is probed by the vidssl reader in a child process with a time limit, so a decoder crash or hang costs one
row (status ``crashed`` / ``timeout``), not the run. Bad files get a status and a reason (``empty_file``,
``not_a_video``, ``corrupt``, ``truncated``, ``no_video_stream``, ``unsupported_codec``, ``too_large``,
``unreadable``, ``missing``...); the exit code is 1 when any file is not ``ok``.

Examples:
  vidssl-data scan /data/ucf101 --out ucf101.csv                  # labels from the folder names
  vidssl-data scan /data/ucf101 --out ucf101.parquet --labels /data/ucfTrainTestlist
  vidssl-data scan /data/k400/train --out k400.csv --labels kinetics400_train.csv
  vidssl-data scan ROOT --out m.csv --num-shards 8 --shard-index $SLURM_ARRAY_TASK_ID   # one job-array task
  vidssl-data scan ROOT --out m.csv --num-shards 8 --merge                              # after all 8 finished

``path`` is relative to the manifest's folder (what vidssl readers resolve), ``video_id`` relative to ROOT.
A killed scan restarted with the same command resumes from its finished chunks (``.NAME.scan-work/``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from data_tools.annotations import Annotations, load_annotations, ucf_group
from data_tools.journal import ChunkJournal
from data_tools.options import UsageError, add_parallel_arguments, merge_or_fail, run_command, run_options, write_output
from data_tools.processors.probe import DEFAULT_MAX_PIXELS, EXTRA_DEFAULTS, probe_job
from data_tools.report import print_failures, summary_line
from data_tools.runner import run_chunked, work_dir_for
from data_tools.walk import FoundFile, find_videos
from vidssl.data.datasets.sources import VIDEO_EXTENSIONS

HELP = "probe every video under a folder into a manifest (what really decodes)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the scan options to ``parser``."""
    parser.add_argument("root", metavar="ROOT", help="corpus folder (walked recursively; symlinks followed)")
    parser.add_argument("--out", required=True, help="manifest to write: .csv or .parquet")
    parser.add_argument(
        "--labels", default="folder", metavar="folder|none|PATH",
        help="where labels come from (default: folder = the video's parent folder name). PATH: a UCF101 "
        "ucfTrainTestlist or HMDB51 split folder, a Kinetics CSV, or a CSV with path,label columns",
    )  # fmt: skip
    parser.add_argument("--fold", type=int, default=1, help="UCF101/HMDB51 split fold for --labels (default: 1)")
    parser.add_argument(
        "--ext", default=",".join(e.lstrip(".") for e in VIDEO_EXTENSIONS), metavar="EXT,...",
        help="file extensions to scan (default: all the vidssl readers know). Add one if your corpus uses another",
    )  # fmt: skip
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse video streams with more pixels per frame (default: {DEFAULT_MAX_PIXELS}, 8K). Lower it to "
        "keep huge files out of a corpus of small clips",
    )  # fmt: skip
    parser.add_argument("--stream", type=int, default=0, help="video stream to measure in multi-stream files")
    add_parallel_arguments(parser, timeout=120.0)


def _labels(found: list[FoundFile], source: str, fold: int) -> tuple[list[str], list[str], Annotations | None]:
    """Label per file and the class list (label-index order)."""
    if source == "none":
        return [""] * len(found), [], None
    if source == "folder":
        labels = [Path(f.rel).parent.name if "/" in f.rel else "" for f in found]
        return labels, sorted({lab for lab in labels if lab}), None
    try:
        ann = load_annotations(source, fold)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--labels: {exc}") from exc
    labels = []
    for f in found:
        hit = ann.lookup(f.rel)
        labels.append(hit[0] if hit else "")
    return labels, ann.classes, ann


def _file_id(f: FoundFile) -> str:
    """Identity for the journal: a changed file (size, mtime) invalidates its chunk."""
    try:
        st = os.stat(f.path) if not f.broken_link else os.lstat(f.path)
        return f"{f.rel}\0{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        return f"{f.rel}\0?"


def run(args: argparse.Namespace) -> int:
    """Scan; returns the exit code."""
    opts = run_options(args)
    if args.merge:
        return merge_or_fail(args.out, "scan")
    out = Path(args.out)
    if out.suffix not in (".csv", ".parquet"):
        raise UsageError(f"--out must end in .csv or .parquet, got {out}")
    work_dir = work_dir_for(out, "scan", opts)
    try:
        found = find_videos(args.root, args.ext.split(","), exclude=[out, work_dir])
    except NotADirectoryError as exc:
        raise UsageError(str(exc)) from exc
    if not found:
        print(f"scan: no files with extensions {args.ext} under {args.root}", file=sys.stderr)
    labels, classes, ann = _labels(found, args.labels, args.fold)
    splits = [(ann.lookup(f.rel) or ("", ""))[1] if ann is not None else "" for f in found]
    class_index = {c: i for i, c in enumerate(classes)}
    payloads = [{"path": f.path, "max_pixels": args.max_pixels, "stream": args.stream} for f in found]
    settings = {"tool": "scan", "max_pixels": args.max_pixels, "stream": args.stream}
    result = run_chunked(probe_job, payloads, [_file_id(f) for f in found], work_dir=work_dir, opts=opts,
                         settings=settings, desc="scan", unit="file")
    out_dir = out.absolute().parent
    positions = sorted(result.results)
    rows = []
    for p in positions:
        f = found[p]
        rows.append({
            **EXTRA_DEFAULTS,
            "path": Path(os.path.relpath(f.path, out_dir)).as_posix(), "video_id": f.rel, "label": labels[p],
            "label_index": class_index.get(labels[p], -1), "group": ucf_group(f.rel), "split": splits[p],
            **result.results[p],
        })
    df = pd.DataFrame(rows)
    written = write_output(df, out, opts, positions)
    ChunkJournal(work_dir).remove()  # the output is written: the journal has served its purpose
    print_failures("scan", df, key="video_id")
    print(summary_line("scan", total=len(rows), statuses=result.statuses, seconds=result.seconds,
                       processed=result.processed, resumed=result.resumed, workers=opts.workers, out=str(written),
                       unit="files"))
    return 1 if result.failed else 0


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data scan``."""
    return run_command("scan", run, args)
