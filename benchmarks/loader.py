"""Loader benchmark: clips/s of standard workloads through a DataLoader, beside references from the same run.

    python benchmarks/loader.py [--quick] [--corpus DIR] [--out results.json]

Corpus: ``--corpus DIR`` (every video under it), else the built-in synthetic corpus (``data_tools.synth``, 320x240,
keyframe every 250 frames: a "raw" corpus), plus a transcoded copy (short side 128, keyframe every 16, made here
with PyAV because ``vidssl-data transcode`` may not exist yet).

Workloads (planners from :mod:`vidssl.data.planners`, datasets from :mod:`vidssl.data.datasets`):
``clip16`` a random 16-frame clip at stride 2 resized to 112x112; ``frames3`` 3 single frames per video;
``uniform8`` 8 uniform frames (TSN segments); ``shuffle_learn`` one Shuffle and Learn tuple; ``colorization`` 3
references + 1 target. Each runs for every backend and 0/1/2 DataLoader workers.

References measured in the same run:

* ``ffmpeg``: the FFmpeg command line decoding the same files sequentially, one thread (frames/s);
* ``naive``: the peer approach (mmaction2 ``DecordInit``/``DecordDecode``): a new ``decord.VideoReader`` and one
  ``get_batch`` per sample, same planner, same resize, same DataLoader;
* ``pytorchvideo``: not measured here (it needs its own environment); ``vs_pytorchvideo`` is ``null``.

Ratios (JSON ``"ratios"``): ``vs_naive`` (clip16, 0 workers, raw corpus, default backend), ``codec_efficiency``
(clip16 clips/s x frames the codec must decode per clip / FFmpeg sequential frames/s), ``transcoded_vs_raw_naive``
(clip16 on the transcoded corpus / naive on the raw corpus), ``multiclip_vs_perclip`` (4 clips of 8 frames from one
video decoded in one sorted pass / each clip opened and decoded separately). Wall-clock throughput (workers are
processes); each figure is the best of ``--repeats`` passes, the naive reference (0 workers) measured alternately
with each 0-worker row so that both see the same machine load, and kept as its best over the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode import available, write_pattern_video

from vidssl.data import open_video, probe_video
from vidssl.data.collate import collate_examples
from vidssl.data.datasets.clip_dataset import VideoClipDataset, default_example
from vidssl.data.decode import clear_probe_cache
from vidssl.data.decode.probe import probe
from vidssl.data.decode.source import VideoSource
from vidssl.data.planners import (
    ColorizationFrames,
    MultiClip,
    RandomClip,
    ShuffleAndLearn,
    TSNSegments,
)
from vidssl.data.seeding import sample_rng
from vidssl.types import VideoMeta

SIZE = 112
VIDEO_EXT = (".mp4", ".mkv", ".webm", ".avi", ".mov")


def workloads() -> dict[str, Callable]:
    return {
        "clip16": RandomClip(16, stride=2),
        "frames3": MultiClip(3, 1),
        "uniform8": TSNSegments(8),
        "shuffle_learn": ShuffleAndLearn(reference_fps=None, tau_max=30, tau_min=6, motion_quantile=0.0),
        "colorization": ColorizationFrames(),
    }


def resize_example(sample: Any, rng: np.random.Generator) -> dict[str, Any]:
    """Default example with frames resized to ``SIZE x SIZE`` (as a clip pipeline's first transform would)."""
    out = default_example(sample, rng)
    frames = out["frames"]
    flat = frames.reshape(-1, *frames.shape[-3:]).float()
    small = F.interpolate(flat, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    out["frames"] = small.round().clamp(0, 255).to(torch.uint8).reshape(*frames.shape[:-2], SIZE, SIZE)
    return out


# -- corpora --------------------------------------------------------------------------------------------------------


def synth_corpus(root: Path, n_videos: int, n_frames: int) -> list[Path]:
    """Raw corpus from ``data_tools.synth`` (320x240, GOP 250); pattern videos when it is not available."""
    try:
        from data_tools.synth import SynthConfig, generate_corpus

        config = SynthConfig(width=320, height=240, num_frames=n_frames, fps=25.0, gop=250)
        generate_corpus(root, n_videos, seed=0, config=config, davis_frames="none", workers=1, progress=False)
        files = sorted(p for p in root.rglob("*.mp4"))
        if files:
            return files
    except ImportError:
        pass
    root.mkdir(parents=True, exist_ok=True)
    return [write_pattern_video(root / f"raw_{i}.mp4", n_frames, 320, 240, 250, seed=i) for i in range(n_videos)]


def transcode(src: Path, dst: Path, short_side: int = 128, gop: int = 16) -> Path:
    """H.264 copy with the short side scaled to ``short_side`` and a keyframe every ``gop`` frames (video only)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        w, h = vin.codec_context.width, vin.codec_context.height
        scale = short_side / min(w, h)
        ow, oh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
        vout = out.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt = ow, oh, "yuv420p"
        vout.options = {"crf": "20", "preset": "veryfast",
                        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"}
        rate = Fraction(vin.average_rate or 25)
        for i, frame in enumerate(inp.decode(vin)):
            frame = frame.reformat(width=ow, height=oh, format="yuv420p")
            frame.pts, frame.time_base = i, 1 / rate  # constant frame rate, as a transcode to training copies does
            for packet in vout.encode(frame):
                out.mux(packet)
        for packet in vout.encode(None):
            out.mux(packet)
    return dst


# -- references -----------------------------------------------------------------------------------------------------


def ffmpeg_fps(files: list[Path]) -> tuple[float, str]:
    """Sequential decode frames/s of the FFmpeg command line (one thread), or PyAV when there is no ``ffmpeg``."""
    frames = sum(probe_video(f).num_frames for f in files)
    exe = shutil.which("ffmpeg")
    t0 = time.perf_counter()
    if exe:  # one process for all files, so start-up is paid once
        cmd = [exe, "-v", "error", "-nostdin"]
        for f in files:
            cmd += ["-threads", "1", "-i", str(f)]
        for i in range(len(files)):
            cmd += ["-map", f"{i}:v:0", "-threads", "1", "-f", "null", "-"]
        subprocess.run(cmd, check=True)
        return frames / (time.perf_counter() - t0), "ffmpeg -threads 1 (all files in one process) -f null"
    import av

    for f in files:
        with av.open(str(f)) as c:
            c.streams.video[0].codec_context.thread_count = 1
            for _ in c.decode(video=0):
                pass
    return frames / (time.perf_counter() - t0), "PyAV decode (no ffmpeg binary)"


class NaiveDecord(Dataset):
    """mmaction2-style sample: open a decord reader, plan from its length, ``get_batch`` the indices, resize."""

    def __init__(self, files: list[Path], plan: Callable, n: int, seed: int = 0) -> None:
        self.files, self.plan, self.n, self.seed = files, plan, n, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        import decord

        rng = sample_rng(self.seed, 0, i, 0)
        path = self.files[i % len(self.files)]
        vr = decord.VideoReader(str(path), num_threads=1)
        meta = VideoMeta(path.stem, str(path), num_frames=len(vr), fps=float(vr.get_avg_fps()) or 25.0)
        plan = self.plan(meta, rng)
        frames = torch.from_numpy(vr.get_batch(plan.indices.reshape(-1).tolist()).asnumpy()).permute(0, 3, 1, 2)
        small = F.interpolate(frames.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        return {"frames": small.round().clamp(0, 255).to(torch.uint8)}


# -- measurement ----------------------------------------------------------------------------------------------------


def loader_rate(dataset: Dataset, workers: int, batch_size: int, repeats: int) -> float:
    """Samples/s over one pass of ``dataset`` (best of ``repeats``; the first batch, worker start-up, excluded)."""
    best = 0.0
    for _ in range(repeats):
        clear_probe_cache()
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_examples,
                            shuffle=False)
        it = iter(loader)
        first = next(it)
        count, t0 = 0, time.perf_counter()
        for batch in it:
            count += len(batch["frames"])
        elapsed = time.perf_counter() - t0
        del first
        if count:
            best = max(best, count / elapsed)
    return best


def metas_for(files: list[Path]) -> list[VideoMeta]:
    return [VideoMeta(f.stem, str(f), num_frames=0, fps=25.0) for f in files]


def mean_decode_cost(files: list[Path], plan: Callable, n: int) -> float:
    costs = []
    for i in range(n):
        path = files[i % len(files)]
        p = probe(VideoSource.from_any(path))
        meta = VideoMeta(path.stem, str(path), num_frames=p.info.num_frames, fps=p.info.fps)
        costs.append(p.index.decode_cost(plan(meta, sample_rng(0, 0, i, 0)).unique_indices()))
    return float(np.mean(costs))


def multiclip_ratio(files: list[Path], backend: str, n: int, repeats: int) -> dict[str, float]:
    """4 clips x 8 frames (stride 2, close together) per sample: one sorted pass vs one reader per clip."""
    planner = MultiClip(4, 8, stride=2, min_gap=0, max_gap=24)
    plans = []
    for i in range(n):
        path = files[i % len(files)]
        meta = VideoMeta(path.stem, str(path), num_frames=probe_video(path).num_frames, fps=25.0)
        plans.append((path, planner(meta, sample_rng(0, 0, i, 0)).indices.reshape(4, -1)))

    def union() -> None:
        for path, idx in plans:
            with open_video(path, backend=backend, num_threads=1) as r:
                r.get_frames(idx.reshape(-1))

    def per_clip() -> None:
        for path, idx in plans:
            for clip in idx:
                with open_video(path, backend=backend, num_threads=1) as r:
                    r.get_frames(clip)

    def best(fn: Callable[[], None]) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return n / min(times)

    u, p = best(union), best(per_clip)
    return {"union_samples_per_s": u, "per_clip_samples_per_s": p, "ratio": u / p}


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    n_videos, n_frames, n_samples = (6, 150, 24) if args.quick else (16, 250, 64)
    if args.corpus:
        raw = sorted(p for p in Path(args.corpus).rglob("*") if p.suffix.lower() in VIDEO_EXT)
    else:
        raw = synth_corpus(root / "raw", n_videos, n_frames)
    (root / "transcoded").mkdir(parents=True, exist_ok=True)
    trans = [transcode(f, root / "transcoded" / f"{i}_{f.stem}.mp4") for i, f in enumerate(raw)]
    backends = args.backends or available()
    worker_counts = [0, 1, 2]
    loads = workloads()
    if args.quick:
        loads = {k: loads[k] for k in ("clip16", "shuffle_learn", "colorization")}
    results: dict[str, Any] = {"corpus": {"raw": [str(f) for f in raw], "transcoded_short_side": 128,
                                          "transcoded_gop": 16}, "samples_per_pass": n_samples, "rows": []}
    ref_raw, how = ffmpeg_fps(raw)
    ref_trans, _ = ffmpeg_fps(trans)
    results["references"] = {"ffmpeg_fps_raw": ref_raw, "ffmpeg_fps_transcoded": ref_trans, "ffmpeg": how,
                             "pytorchvideo": None}
    naive: dict[tuple[str, str], float] = {}
    for corpus_name, files in (("raw", raw), ("transcoded", trans)):
        for name, plan in loads.items():
            if corpus_name == "transcoded" and name != "clip16":
                continue
            naive_ds = NaiveDecord(files, plan, n_samples)
            for backend in backends:
                for workers in worker_counts:
                    ds = VideoClipDataset(metas_for(files), plan, resize_example if name == "clip16" else None,
                                          clips_per_epoch=n_samples, seed=0, backend=backend, on_error="raise")
                    # Naive and ours alternate, so both see the same machine load; the pass is the best of each.
                    rate, ref = 0.0, 0.0
                    for _ in range(args.repeats):
                        rate = max(rate, loader_rate(ds, workers, 8, 1))
                        if workers == 0 or (corpus_name, name) not in naive:
                            ref = max(ref, loader_rate(naive_ds, 0, 8, 1))
                    naive[(corpus_name, name)] = max(naive.get((corpus_name, name), 0.0), ref)
                    row = {"corpus": corpus_name, "workload": name, "backend": backend, "workers": workers,
                           "samples_per_s": rate, "naive_samples_per_s": naive[(corpus_name, name)],
                           "vs_naive": rate / naive[(corpus_name, name)]}
                    results["rows"].append(row)
                    print(f"{corpus_name:<10} {name:<13} {backend:<10} w={workers}  {rate:7.1f}/s  "
                          f"naive {naive[(corpus_name, name)]:7.1f}/s  x{row['vs_naive']:.2f}", flush=True)
    main_backend = backends[0]

    def rate_of(corpus_name: str, workload: str, workers: int = 0) -> float:
        return next(r["samples_per_s"] for r in results["rows"] if r["corpus"] == corpus_name
                    and r["workload"] == workload and r["backend"] == main_backend and r["workers"] == workers)

    cost = mean_decode_cost(raw, loads["clip16"], n_samples)
    multi = multiclip_ratio(raw, main_backend, max(8, n_samples // 4), args.repeats)
    results["multiclip"] = multi
    results["ratios"] = {
        "backend": main_backend,
        "vs_naive": rate_of("raw", "clip16") / naive[("raw", "clip16")],
        "vs_pytorchvideo": None,
        "codec_efficiency": rate_of("raw", "clip16") * cost / ref_raw,
        "transcoded_vs_raw_naive": rate_of("transcoded", "clip16") / naive[("raw", "clip16")],
        "multiclip_vs_perclip": multi["ratio"],
    }
    results["frames_decoded_per_clip16"] = cost
    results["machine"] = {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "repeats": args.repeats}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 videos of 150 frames, 3 workloads")
    parser.add_argument("--corpus", type=Path, help="measure the videos under this folder (raw corpus)")
    parser.add_argument("--backends", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("loader_benchmark.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the resize must not fight the decoders for the cores
    with tempfile.TemporaryDirectory(prefix="vidssl-loader-") as tmp:
        results = run(args, Path(tmp))
    r = results["ratios"]
    print(f"\nreferences: FFmpeg sequential {results['references']['ffmpeg_fps_raw']:.0f} fps (raw), "
          f"{results['references']['ffmpeg_fps_transcoded']:.0f} fps (transcoded); pytorchvideo not measured")
    print(f"ratios ({r['backend']}): vs_naive {r['vs_naive']:.2f}  codec_efficiency {r['codec_efficiency']:.2f}  "
          f"transcoded_vs_raw_naive {r['transcoded_vs_raw_naive']:.2f}  "
          f"multiclip_vs_perclip {r['multiclip_vs_perclip']:.2f}")
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
