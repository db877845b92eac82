"""WebDataset tar shards for streaming: video bytes + JSON metadata (+ optional WAV audio), a per-shard index.

The ``ok`` rows of the manifest (optionally one ``--split``) are shuffled with ``--seed`` (so each shard mixes
labels: streaming shuffles shards, not samples) and cut into shards of ``--samples-per-shard`` samples (equal sizes,
what DDP wants). Shard ``i`` is ``OUT_DIR/shard-0000i.tar`` plus ``shard-0000i.index.json`` (keys, video ids,
frame counts) and ``shard-0000i.stats.json`` (written last: the done marker). ``OUT_DIR/manifest.csv`` lists every
sample with its ``shard`` and ``key``. The layout is what :class:`vidssl.data.datasets.wds.WebDatasetClips` reads.

Shards are written by ``--workers`` processes, each to a temporary name then renamed; a rerun of the same command
skips finished shards (same samples and settings) and removes shard files left from an earlier run with other
settings. Exit code 1 when any video could not be read into its shard.

Examples:
  vidssl-data shard transcoded/manifest.csv shards/ --samples-per-shard 500
  vidssl-data shard m.csv shards/train --split train --audio          # with 16 kHz WAV audio per sample
  vidssl-data shard m.csv shards/ --num-shards 4 --shard-index $SLURM_ARRAY_TASK_ID   # then --merge
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from data_tools.atomic import is_partial, mark_output_dir, partial_path
from data_tools.distributor import Job, run_jobs
from data_tools.options import UsageError, add_parallel_arguments, merge_or_fail, run_command, run_options, write_output
from data_tools.processors.tar_writer import shard_job, stats_path
from data_tools.report import summary_line
from vidssl.data.manifest import read_manifest

HELP = "WebDataset tar shards for streaming"
_SHARD_NAME = re.compile(r"^shard-(\d{5,})\.(tar|index\.json|stats\.json)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the shard options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest (.csv or .parquet), usually transcode's")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder for the shards (created)")
    parser.add_argument(
        "--samples-per-shard", type=int, default=256, metavar="N",
        help="videos per tar (default: 256). Aim for shards of 100 MB-1 GB: fewer for long or large videos; "
        "have at least as many shards as (GPUs x loader workers) so every consumer gets whole shards",
    )  # fmt: skip
    parser.add_argument("--split", default=None, help="only rows of this split (train, val, test)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample shuffle across shards (default: 0)")
    parser.add_argument("--no-shuffle", action="store_true", help="keep manifest order (shards then group labels)")
    parser.add_argument(
        "--audio", action="store_true",
        help="add each video's audio as a 16-bit mono WAV member (training then reads audio without decoding it; "
        "costs about 32 kB per second of audio at 16 kHz)",
    )  # fmt: skip
    parser.add_argument("--audio-rate", type=int, default=16000, help="WAV sample rate with --audio (default: 16000)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite shards that are already finished")
    add_parallel_arguments(parser, timeout=3600.0, chunk_size=None)


def sample_key(position: int, video_id: str) -> str:
    """An ASCII key without dots: ``0000042_v_Walk_g01_c01`` (position makes it unique)."""
    stem = Path(video_id).stem
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60]
    return f"{position:07d}_{clean}" if clean else f"{position:07d}"


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A manifest row as JSON-ready Python values."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[str(k)] = v
    return out


def plan_shards(df: pd.DataFrame, samples_per_shard: int, seed: int, shuffle: bool) -> list[list[int]]:
    """Row positions per shard: ``ok`` rows, shuffled (seeded), cut into equal shards (the last may be smaller)."""
    rows = np.flatnonzero(df["status"].astype(str).eq("ok").to_numpy())
    if shuffle:
        rows = rows[np.random.default_rng(np.random.SeedSequence([seed, 0x5AAD])).permutation(len(rows))]
    return [rows[i : i + samples_per_shard].tolist() for i in range(0, len(rows), samples_per_shard)]


def _fingerprint(samples: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    h = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    for s in samples:
        try:
            st = os.stat(s["video"])
            ident = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            ident = "?"
        h.update(f"\0{s['key']}\0{s['video']}\0{ident}\0".encode("utf-8", "surrogateescape"))
        h.update(json.dumps(s["meta"], sort_keys=True, default=str).encode())
    return h.hexdigest()


def _done(tar: Path, fingerprint: str) -> dict[str, Any] | None:
    try:
        stats = json.loads(stats_path(tar).read_text())
    except (OSError, ValueError):
        return None
    return stats if stats.get("fingerprint") == fingerprint and tar.is_file() else None


def _remove_stale(out_dir: Path, keep: set[str]) -> int:
    """Delete shard files (and partials) of shards this run did not write; returns how many files went."""
    removed = 0
    for p in out_dir.iterdir():
        m = _SHARD_NAME.match(p.name)
        if (m and f"shard-{m.group(1)}.tar" not in keep) or (p.name.startswith(".shard-") and is_partial(p.name)):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def run(args: argparse.Namespace) -> int:
    """Write the shards; returns the exit code."""
    start = time.monotonic()
    opts = run_options(args)
    out_dir = Path(args.out_dir).absolute()
    out = out_dir / "manifest.csv"
    if args.merge:
        return merge_or_fail(out, "shard")
    if args.samples_per_shard < 1 or args.audio_rate < 1:
        raise UsageError("--samples-per-shard and --audio-rate must be >= 1")
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if args.split is not None:
        df = df[df["split"].astype(str) == args.split].reset_index(drop=True)
    root = Path(df.attrs["root"])
    shards = plan_shards(df, args.samples_per_shard, args.seed, not args.no_shuffle)
    digits = max(5, len(str(max(len(shards) - 1, 0))))
    mark_output_dir(out_dir, "shard")
    settings = {"audio": args.audio, "audio_rate": args.audio_rate}
    jobs, rows_of, done_stats = [], {}, {}
    for i, positions in enumerate(shards):
        if i % opts.num_shards != opts.shard_index:
            continue
        tar = out_dir / f"shard-{i:0{digits}d}.tar"
        samples = []
        for p in positions:
            row = df.iloc[p]
            video = (root / str(row["path"])).absolute()
            meta = _json_row(row.to_dict())
            meta.pop("path", None)
            samples.append({"key": sample_key(p, str(row["video_id"])), "video": str(video),
                            "ext": video.suffix.lstrip(".").lower() or "mp4", "meta": meta,
                            "audio": bool(args.audio and row["has_audio"])})
        fp = _fingerprint(samples, settings)
        rows_of[i] = (tar, positions, samples)
        stats = _done(tar, fp)
        if stats is not None and not args.overwrite:
            done_stats[i] = stats
            continue
        jobs.append(Job(i, {"tar": str(tar), "fingerprint": fp, "audio_rate": args.audio_rate, "samples": samples},
                        cleanup=(str(partial_path(tar)),)))
    bar = tqdm(total=len(rows_of), initial=len(done_stats), desc="shard", unit="shard",
               disable=not opts.progress, dynamic_ncols=True)
    resumed = len(done_stats)
    try:
        for result in run_jobs(shard_job, jobs, workers=min(opts.workers, max(len(jobs), 1)) if opts.workers else 0,
                               timeout=opts.timeout, retries=opts.retries):
            if result.ok:
                done_stats[result.key] = result.value
            else:
                print(f"shard: {rows_of[result.key][0].name}: {result.status}: {result.reason}", file=sys.stderr)
            bar.update(1)
    finally:
        bar.close()
    statuses: Counter = Counter()
    out_rows, positions_out = [], []
    for i in sorted(rows_of):
        tar, positions, samples = rows_of[i]
        stats = done_stats.get(i, {"failures": {s["key"]: "shard not written" for s in samples}})
        failures, audio_failures = stats.get("failures", {}), stats.get("audio_failures", {})
        for j, (p, s) in enumerate(zip(positions, samples, strict=True)):
            row = df.iloc[p].to_dict()
            row.update(path=os.path.relpath(s["video"], out_dir), shard=tar.name, key=s["key"])
            if s["key"] in failures:
                row.update(status="shard_failed", reason=failures[s["key"]], shard="")
            elif s["key"] in audio_failures:
                row.update(reason=f"no wav member: {audio_failures[s['key']]}")
            out_rows.append(row)
            positions_out.append(i * args.samples_per_shard + j)  # shard order: merged parts match one run
            statuses[str(row["status"])] += 1
    new = pd.DataFrame(out_rows, columns=[*df.columns, "shard", "key"] if not out_rows else None)
    written = write_output(new, out, opts, positions_out)
    if opts.num_shards == 1:
        _remove_stale(out_dir, {rows_of[i][0].name for i in rows_of})
    for _, row in new[new["status"] != "ok"].head(10).iterrows():
        print(f"shard: {row['video_id']}: {row['status']}: {row['reason']}", file=sys.stderr)
    total_bytes = sum(int(s.get("bytes", 0)) for s in done_stats.values())
    line = summary_line("shard", total=len(new), statuses=statuses, seconds=time.monotonic() - start,
                        processed=len(jobs), resumed=resumed, workers=opts.workers, out=str(written))
    print(line.replace(" -> ", f"; {len(rows_of)} shards ({len(jobs)} written now, {total_bytes / 1e6:.1f} MB) -> "))
    return 1 if sum(n for s, n in statuses.items() if s != "ok") else 0


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data shard``."""
    return run_command("shard", run, args, "finish (finished shards are kept)")
