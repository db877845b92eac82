"""Transcode throughput of ``vidssl-data transcode`` against the ffmpeg command line doing the same conversion.

    python benchmarks/preprocess.py [--root DIR] [--copies K] [--workers N] [--repeats R] [--out preprocess.json]

The corpus is every video under ``--root`` (default ``../shared/data/real``), listed ``--copies`` times (symlinks
under ``copy-k/``, so the work grows without new files). It is scanned once; then, in the same run, on the same
files and with the same number of processes (``--workers``):

* ``vidssl pyav``: ``python -m data_tools transcode MANIFEST OUT --workers N`` (FFmpeg through PyAV), wall time of
  the whole command: interpreter and worker start-up, encoding, measuring every output with the reader, writing
  the manifest;
* ``vidssl ffmpeg``: the same command with ``--encoder ffmpeg`` (one ffmpeg process per file inside the workers);
* ``ffmpeg CLI``: the reference: the exact command lines ``data_tools.processors.encode.ffmpeg_command`` builds
  (autorotate, scale, fps, yuv420p, libx264 with the same preset/crf/GOP, AAC mono 16 kHz, +faststart), N at a
  time, nothing else. Skipped, with a message, when no ``ffmpeg`` binary is on PATH.

Each figure is the best of ``--repeats`` rounds (methods alternate order per round). Reported: wall seconds,
videos/s, source-seconds/s (sum of the source durations from the scan / wall time) and the ratio to the ffmpeg
CLI (goal >= 0.9); the tool's own "work" time (from its summary line: no interpreter start-up); and CPU seconds
(user + system of every process involved, from ``getrusage(RUSAGE_CHILDREN)``), the stable measure on a shared
machine, also with the fixed start-up of one ``vidssl-data`` command (interpreter and imports, measured with
``transcode --help``) taken out. Every encoder uses one thread per file (``--threads 1``), as with a process per
core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_tools.processors.encode import EncodeSettings, ffmpeg_command, output_geometry, output_rate  # noqa: E402
from data_tools.transcode import output_names  # noqa: E402
from vidssl.data.manifest import read_manifest  # noqa: E402


def build_corpus(root: Path, copies: int, work: Path) -> Path:
    """Symlink every file under ``root`` ``copies`` times into ``work/corpus/copy-k/``."""
    corpus = work / "corpus"
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    for k in range(copies):
        for p in files:
            dst = corpus / f"copy-{k}" / p.relative_to(root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(p.resolve(), dst)
    return corpus


_PROCESSED = re.compile(r" processed in ([0-9.]+) s ")


def children_cpu() -> float:
    """User + system CPU seconds of every finished descendant process so far (workers and ffmpeg included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cli(args: list[str]) -> tuple[float, float, float]:
    """``python -m data_tools ARGS``: ``(wall seconds of the command, seconds of its work, CPU seconds)``.

    The work time is the one the tool's summary line reports (worker start-up, every file, journal), i.e. the
    command minus the interpreter's start and imports. Exit codes 0 and 1 (some inputs failed) are accepted.
    """
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run([sys.executable, "-m", "data_tools", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"data_tools {args[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    m = _PROCESSED.search(proc.stdout)
    return wall, float(m.group(1)) if m else wall, cpu


def run_ffmpeg_cli(jobs: list[list[str]], workers: int) -> tuple[float, float, float]:
    """Wall seconds of running the ffmpeg command lines ``workers`` at a time."""

    def one(cmd: list[str]) -> int:
        return subprocess.run(cmd, capture_output=True).returncode

    start, cpu = time.perf_counter(), children_cpu()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        codes = list(pool.map(one, jobs))
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    if any(codes):
        raise RuntimeError(f"{sum(1 for c in codes if c)} ffmpeg commands failed")
    return wall, wall, cpu


def ffmpeg_jobs(manifest: Path, out_dir: Path, settings: EncodeSettings, binary: str) -> list[list[str]]:
    """The ffmpeg command line of every ok row (what ``transcode --encoder ffmpeg`` runs)."""
    df = read_manifest(manifest)
    root = Path(df.attrs["root"])
    ok = df[df["status"] == "ok"]
    jobs = []
    for name, row in zip(output_names(ok["video_id"].tolist()), ok.itertuples(index=False), strict=True):
        dst = out_dir / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        width, height = output_geometry(int(row.width), int(row.height), settings)
        jobs.append(ffmpeg_command(str(root / row.path), str(dst), width=width, height=height,
                                   rate=output_rate(float(row.fps), settings), settings=settings,
                                   has_audio=bool(row.has_audio), binary=binary))
    return jobs


def engine_cpu(manifest: Path, settings: EncodeSettings, binary: str | None, work: Path) -> dict[str, float]:
    """CPU seconds of the bare encoders, one file at a time in this process (no pool, no measuring, no start-up).

    ``encode_pyav`` is timed with ``RUSAGE_SELF``, the same ``ffmpeg_command`` with ``RUSAGE_CHILDREN``.
    """
    from data_tools.processors.encode import encode_pyav

    df = read_manifest(manifest)
    root = Path(df.attrs["root"])
    out = {"pyav": 0.0, "ffmpeg CLI": 0.0}
    for row in df[df["status"] == "ok"].itertuples(index=False):
        width, height = output_geometry(int(row.width), int(row.height), settings)
        rate = output_rate(float(row.fps), settings)
        src = str(root / row.path)
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        encode_pyav(src, str(work / "engine.mp4"), width=width, height=height, rate=rate, settings=settings,
                    rotation=int(row.rotation))
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        out["pyav"] += r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
        if binary:
            c0 = children_cpu()
            subprocess.run(ffmpeg_command(src, str(work / "engine_cli.mp4"), width=width, height=height, rate=rate,
                                          settings=settings, has_audio=bool(row.has_audio), binary=binary),
                           check=True, capture_output=True)
            out["ffmpeg CLI"] += children_cpu() - c0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO.parent / "shared" / "data" / "real",
                        help="folder of source videos (default: ../shared/data/real)")
    parser.add_argument("--copies", type=int, default=2, help="list the corpus K times (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="processes for every method (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds; each figure is the best (default 2)")
    parser.add_argument("--short-side", type=int, default=128, help="output short side (default 128)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset (default veryfast)")
    parser.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg binary (default: ffmpeg on PATH)")
    parser.add_argument("--engine", action="store_true",
                        help="also time the bare encoders file by file in this process (CPU seconds)")
    parser.add_argument("--out", type=Path, default=Path("preprocess.json"), help="JSON results")
    args = parser.parse_args()
    if not args.root.is_dir():
        print(f"preprocess benchmark: no corpus at {args.root} (pass --root)", file=sys.stderr)
        return 2
    binary = shutil.which(args.ffmpeg)
    settings = EncodeSettings(short_side=args.short_side, preset=args.preset)
    common = ["--short-side", str(args.short_side), "--preset", args.preset, "--workers", str(args.workers),
              "--no-progress", "--overwrite"]
    with tempfile.TemporaryDirectory(prefix="vidssl-preprocess-bench-") as tmp:
        work = Path(tmp)
        corpus = build_corpus(args.root, args.copies, work)
        manifest = work / "manifest.csv"
        scan_s, _, _ = run_cli(["scan", str(corpus), "--out", str(manifest), "--workers", str(args.workers),
                          "--no-progress"])
        startup_cpu = min(run_cli(["transcode", "--help"])[2] for _ in range(2))  # interpreter + imports only
        df = read_manifest(manifest)
        ok = df[df["status"] == "ok"]
        n, source_s = len(ok), float(ok["duration"].sum())
        methods: dict[str, Any] = {
            "vidssl pyav": lambda: run_cli(["transcode", str(manifest), str(work / "pyav"), *common]),
        }
        if binary:
            methods["vidssl ffmpeg"] = lambda: run_cli(["transcode", str(manifest), str(work / "ff"), *common,
                                                        "--encoder", "ffmpeg", "--ffmpeg", binary])
            jobs = ffmpeg_jobs(manifest, work / "cli", settings, binary)
            methods["ffmpeg CLI"] = lambda: run_ffmpeg_cli(jobs, args.workers)
        else:
            print(f"ffmpeg binary {args.ffmpeg!r} not found: the ffmpeg CLI reference and the vidssl ffmpeg encoder "
                  "are skipped (install ffmpeg to compare)")
        engine = engine_cpu(manifest, settings, binary, work) if args.engine else {}
        best: dict[str, float] = {}
        best_work: dict[str, float] = {}
        best_cpu: dict[str, float] = {}
        for r in range(args.repeats):
            names = list(methods) if r % 2 == 0 else list(reversed(methods))
            for name in names:
                wall, work_s, cpu_s = methods[name]()
                best[name] = min(best.get(name, float("inf")), wall)
                best_work[name] = min(best_work.get(name, float("inf")), work_s)
                best_cpu[name] = min(best_cpu.get(name, float("inf")), cpu_s)
                print(f"round {r + 1}: {name}: {wall:.2f} s (work {work_s:.2f} s, CPU {cpu_s:.2f} s)", flush=True)
    ref = best.get("ffmpeg CLI")
    ref_cpu = best_cpu.get("ffmpeg CLI")
    rows = []
    for name, wall in best.items():
        work_s = best_work[name]
        rows.append({"method": name, "wall_s": round(wall, 3), "videos_per_s": round(n / wall, 3),
                     "source_s_per_s": round(source_s / wall, 3),
                     "ratio_vs_ffmpeg_cli": round(ref / wall, 3) if ref else None,
                     "work_s": round(work_s, 3), "work_videos_per_s": round(n / work_s, 3),
                     "work_ratio_vs_ffmpeg_cli": round(ref / work_s, 3) if ref else None,
                     "cpu_s": round(best_cpu[name], 3),
                     "cpu_ratio_vs_ffmpeg_cli": round(ref_cpu / best_cpu[name], 3) if ref_cpu else None})
        if name.startswith("vidssl"):
            steady = best_cpu[name] - startup_cpu
            rows[-1].update(cpu_excl_startup_s=round(steady, 3),
                            cpu_excl_startup_ratio=round(ref_cpu / steady, 3) if ref_cpu else None)
    print(f"\ncorpus: {n} ok videos ({len(df)} files, {source_s:.1f} source seconds) from {args.root} x{args.copies}; "
          f"{args.workers} processes; short side {args.short_side}, preset {args.preset}; scan {scan_s:.1f} s")
    print(f"{'method':<15} {'wall s':>8} {'videos/s':>9} {'src-s/s':>9} {'vs ffmpeg CLI':>14} {'work s':>8} "
          f"{'work vs CLI':>12} {'CPU s':>8} {'CPU vs CLI':>11}")
    for row in rows:
        ratio = f"{row['ratio_vs_ffmpeg_cli']:.2f}x" if row["ratio_vs_ffmpeg_cli"] else "n/a (no ffmpeg)"
        work_ratio = f"{row['work_ratio_vs_ffmpeg_cli']:.2f}x" if row["work_ratio_vs_ffmpeg_cli"] else "n/a"
        cpu_ratio = f"{row['cpu_ratio_vs_ffmpeg_cli']:.2f}x" if row["cpu_ratio_vs_ffmpeg_cli"] else "n/a"
        print(f"{row['method']:<15} {row['wall_s']:>8.2f} {row['videos_per_s']:>9.2f} {row['source_s_per_s']:>9.2f} "
              f"{ratio:>14} {row['work_s']:>8.2f} {work_ratio:>12} {row['cpu_s']:>8.2f} {cpu_ratio:>11}")
    print("wall = the whole command (interpreter start and imports included); work = the time the tool reports for "
          "its processing (worker start-up and every file); CPU = user+system seconds of all processes involved (the "
          "stable measure on a loaded machine). Ratios: ffmpeg CLI / method (goal >= 0.9).")
    print(f"fixed start-up of a vidssl-data command (interpreter + imports, torch via vidssl.types): {startup_cpu:.2f} "
          "CPU s; without it: " + ", ".join(f"{r['method']} {r['cpu_excl_startup_s']:.2f} CPU s = "
                                            f"{r['cpu_excl_startup_ratio']:.2f}x" for r in rows
                                            if r.get("cpu_excl_startup_ratio")))
    if engine:
        line = f"bare encoders, one file at a time, CPU s: pyav {engine['pyav']:.2f}"
        if binary:
            line += (f", ffmpeg CLI {engine['ffmpeg CLI']:.2f} -> pyav at "
                     f"{engine['ffmpeg CLI'] / engine['pyav']:.2f}x of the CLI")
        print(line)
    result = {"engine_cpu_s": engine,
              "corpus": str(args.root), "copies": args.copies, "videos": n, "source_seconds": round(source_s, 3),
              "workers": args.workers, "repeats": args.repeats, "short_side": args.short_side, "preset": args.preset,
              "ffmpeg": binary, "scan_s": round(scan_s, 3), "startup_cpu_s": round(startup_cpu, 3), "results": rows,
              "goal_ratio": 0.9}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
