"""Training-friendly copies of the videos of a manifest, and a new manifest describing them.

Each ``ok`` row becomes ``OUT_DIR/<video_id>.mp4``: H.264 yuv420p with a short keyframe interval (fast random
access), short side scaled (aspect kept, even dimensions), constant frame rate, rotation baked in, audio as AAC mono
16 kHz when present. Inputs are never modified; each output is written to ``.name.partial.mp4`` and renamed when
complete, so rerunning the same command skips finished files (``--overwrite`` redoes them) and a killed run
resumes. Rows that were not ``ok`` are carried over unchanged; files that fail get ``transcode_failed``.

Examples:
  vidssl-data transcode manifest.csv /data/ucf101_128 --short-side 128 --fps 25
  vidssl-data transcode manifest.csv out --encoder ffmpeg            # the ffmpeg binary instead of PyAV
  vidssl-data transcode manifest.csv out --num-shards 16 --shard-index $SLURM_ARRAY_TASK_ID
  vidssl-data transcode manifest.csv out --num-shards 16 --merge     # once all 16 tasks finished

The encoder is FFmpeg through PyAV by default: no binary needed, and faster than ``--encoder ffmpeg`` (one ffmpeg
process per file) in ``benchmarks/preprocess.py``; figures in docs/notes/preprocess.md. Outputs are measured with
PyAV alone (:mod:`data_tools.processors.output_probe`), so workers start without importing torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd

from data_tools.atomic import atomic_write_json, is_partial, mark_output_dir, partial_path
from data_tools.journal import ChunkJournal
from data_tools.merge import ORDER_COLUMN
from data_tools.options import UsageError, add_parallel_arguments, merge_or_fail, run_command, run_options, write_output
from data_tools.processors.encode import EncodeSettings
from data_tools.processors.transcode_file import transcode_job
from data_tools.report import print_failures, summary_line
from data_tools.runner import run_chunked, work_dir_for
from vidssl.data.manifest import COLUMNS, read_manifest

HELP = "training-friendly copies: short side, fps, short GOP, H.264, AAC"
_CARRIED = ("video_id", "label", "label_index", "split", "group")
_DEFAULT = EncodeSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the transcode options to ``parser``."""
    parser.add_argument("manifest", metavar="MANIFEST", help="manifest from `vidssl-data scan` (.csv or .parquet)")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder for the copies (created; never the input folder)")
    parser.add_argument("--out", default=None, help="new manifest (default: OUT_DIR/manifest.csv)")
    parser.add_argument(
        "--short-side", type=int, default=_DEFAULT.short_side, metavar="PX",
        help="shorter displayed side in pixels (default: 256). 128 for small models and fast loading; 0 keeps sizes",
    )  # fmt: skip
    parser.add_argument("--upscale", action="store_true", help="also enlarge videos smaller than --short-side")
    parser.add_argument(
        "--fps", type=float, default=0.0,
        help="output frame rate (default: 0 = each source's average rate). Set one rate (e.g. 25) so clip lengths "
        "in frames mean the same time in every video",
    )  # fmt: skip
    parser.add_argument(
        "--gop", type=int, default=_DEFAULT.gop, metavar="N",
        help="at most N frames between keyframes (default: 16). Lower = faster random access, larger files",
    )  # fmt: skip
    parser.add_argument("--crf", type=float, default=_DEFAULT.crf, help="x264 quality (default: 23; lower = better)")
    parser.add_argument(
        "--preset", default=_DEFAULT.preset,
        help="x264 preset (default: veryfast). slower presets give smaller files for more CPU time",
    )  # fmt: skip
    parser.add_argument("--no-audio", action="store_true", help="drop audio (default: keep it as AAC mono)")
    parser.add_argument("--audio-rate", type=int, default=_DEFAULT.audio_rate, help="audio Hz (default: 16000)")
    parser.add_argument(
        "--threads", type=int, default=_DEFAULT.threads,
        help="FFmpeg threads per file (default: 1, with --workers processes in parallel). Raise it when there are "
        "fewer files than cores",
    )  # fmt: skip
    parser.add_argument(
        "--encoder", choices=("pyav", "ffmpeg"), default="pyav",
        help="pyav (default: bundled with PyAV, no binary needed) or ffmpeg (the command-line binary)",
    )  # fmt: skip
    parser.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg binary for --encoder ffmpeg")
    parser.add_argument("--overwrite", action="store_true", help="re-encode outputs that already exist")
    add_parallel_arguments(parser, timeout=1800.0, chunk_size=16)


def _settings(args: argparse.Namespace) -> EncodeSettings:
    if args.short_side < 0 or args.gop < 1 or args.fps < 0 or args.audio_rate <= 0 or args.threads < 0:
        raise UsageError("--short-side and --fps must be >= 0, --gop and --audio-rate >= 1, --threads >= 0")
    return EncodeSettings(short_side=args.short_side, upscale=args.upscale, fps=args.fps, gop=args.gop,
                          crf=args.crf, preset=args.preset, audio=not args.no_audio, audio_rate=args.audio_rate,
                          threads=args.threads)


def output_names(video_ids: list[str]) -> list[str]:
    """``<id without extension>.mp4``; ids that would collide (``a.avi`` and ``a.mkv``) keep their extension."""
    stems = [str(Path(v).with_suffix(".mp4")) for v in video_ids]
    counts = Counter(stems)
    return [s if counts[s] == 1 else f"{v}.mp4" for s, v in zip(stems, video_ids, strict=True)]


def _rel(path: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows): keep it absolute
        return path.as_posix()


def run(args: argparse.Namespace) -> int:
    """Transcode; returns the exit code."""
    opts = run_options(args)
    out_dir = Path(args.out_dir).absolute()
    out = Path(args.out) if args.out else out_dir / "manifest.csv"
    if args.merge:
        return merge_or_fail(out, "transcode")
    settings = _settings(args)
    if args.encoder == "ffmpeg" and shutil.which(args.ffmpeg) is None:
        raise UsageError(f"ffmpeg binary {args.ffmpeg!r} not found; use the default --encoder pyav (no binary "
                         "needed) or install ffmpeg")
    try:
        df = read_manifest(args.manifest)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    root = Path(df.attrs["root"])
    srcs = [(root / p).absolute() for p in df["path"]]
    dsts = [out_dir / name for name in output_names(df["video_id"].tolist())]
    ok = (df["status"] == "ok").to_numpy()
    clash = [str(s) for s, d, good in zip(srcs, dsts, ok, strict=True) if good and os.path.realpath(s) ==
             os.path.realpath(d)]
    if clash:
        raise UsageError(f"OUT_DIR would overwrite {len(clash)} input file(s) (e.g. {clash[0]}); choose another folder")
    mark_output_dir(out_dir, "transcode")
    _check_settings(out_dir, {"encoder": args.encoder, **dataclasses.asdict(settings)}, args.overwrite)
    payloads = [
        {"src": str(s), "dst": str(d), "settings": dataclasses.asdict(settings), "encoder": args.encoder,
         "ffmpeg": args.ffmpeg, "width": int(r.width), "height": int(r.height), "fps": float(r.fps),
         "rotation": int(r.rotation), "has_audio": bool(r.has_audio), "overwrite": args.overwrite} if good else None
        for s, d, good, r in zip(srcs, dsts, ok, df.itertuples(index=False), strict=True)
    ]
    ids = [f"{v}\0{n}" for v, n in zip(df["video_id"], df["size_bytes"], strict=True)]
    work_dir = work_dir_for(out, "transcode", opts)
    result = run_chunked(transcode_job, payloads, ids, work_dir=work_dir, opts=opts,
                         settings={"tool": "transcode", "encoder": args.encoder, **dataclasses.asdict(settings)},
                         desc="transcode", unit="video", cleanup=lambda p: (str(partial_path(p["dst"])),))
    out_folder = out.absolute().parent
    extras = [c for c in df.columns if c not in COLUMNS and c != ORDER_COLUMN]
    rows, actions = [], Counter()
    positions = sorted(result.results)
    for p in positions:
        src_row = df.iloc[p]
        measured = dict(result.results[p])
        actions[measured.pop("_action", "skipped")] += 1
        if not measured:  # a row that was not ok: carried unchanged, still pointing at its source
            src_rel = _rel(srcs[p], out_folder)
            rows.append({**src_row.to_dict(), "path": src_rel, "source_path": src_rel})
            continue
        carried = {c: src_row[c] for c in (*_CARRIED, *extras) if c not in measured}
        rows.append({**carried, **measured, "path": _rel(dsts[p], out_folder),
                     "source_path": _rel(srcs[p], out_folder)})
    new = pd.DataFrame(rows, columns=None)
    written = write_output(new, out, opts, positions)
    ChunkJournal(work_dir).remove()
    if opts.num_shards == 1:
        _sweep_partials(out_dir)
    print_failures("transcode", new, key="video_id")
    detail = f"; {actions['encoded']} encoded, {actions['kept']} already there, {actions['skipped']} not ok in input"
    line = summary_line("transcode", total=len(rows), statuses=result.statuses, seconds=result.seconds,
                        processed=result.processed, resumed=result.resumed, workers=opts.workers, out=str(written))
    print(line.replace(f" -> {written}", f"{detail} -> {written}"))
    return 1 if result.failed else 0


SETTINGS_FILE = ".vidssl-transcode-settings.json"


def _check_settings(out_dir: Path, settings: dict, overwrite: bool) -> None:
    """Refuse to mix outputs of different settings in one folder (a rerun keeps existing files as they are).

    Raises:
        UsageError: ``out_dir`` holds outputs made with other settings and ``--overwrite`` was not given.
    """
    path = out_dir / SETTINGS_FILE
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = None
    if previous is not None and previous != settings and not overwrite:
        changed = ", ".join(f"{k}: {previous.get(k)!r} -> {v!r}" for k, v in settings.items() if previous.get(k) != v)
        raise UsageError(f"{out_dir} holds copies made with other settings ({changed}); rerunning would keep them. "
                         "Use --overwrite to re-encode everything, or another OUT_DIR")
    if previous != settings:
        atomic_write_json(path, settings)


def _sweep_partials(out_dir: Path) -> None:
    """Remove temporary files left by a killed earlier run (this run finished every file it had)."""
    for dirpath, _, names in os.walk(out_dir):
        for name in names:
            if is_partial(name):
                Path(dirpath, name).unlink(missing_ok=True)


def main(args: argparse.Namespace) -> int:
    """Entry point for ``vidssl-data transcode``."""
    return run_command("transcode", run, args, "finish (finished files are kept)")
