"""Loader benchmark: clips/s of standard workloads through a DataLoader, beside references from the same run.

    python benchmarks/loader.py [--quick] [--corpus DIR] [--raw-size 640x360] [--ptv-python PY] [--out results.json]

Corpus: ``--corpus DIR`` (every video under it) or the pattern corpus of ``benchmarks/decode.py`` (``raw``: 640x360,
250 frames at 25 fps, keyframe every 250; see there why that size), plus ``transcoded`` copies (short side 128,
keyframe every 16). Workloads: ``clip16`` a random 16-frame clip at stride 2 resized to 112x112 (torchvision's
antialiased uint8 resize, as ``vidssl.data.transforms`` does); ``frames3`` 3 single frames; ``uniform8`` 8 uniform
frames (TSN segments); ``shuffle_learn`` one Shuffle and Learn tuple (paper settings); ``colorization`` 3 references
+ 1 target. Each runs through ``VideoClipDataset`` for every backend and 0/1/2 DataLoader workers, with the on-disk
index cache (``VIDSSL_INDEX_CACHE``) filled once, as recommended; the row ``pyav-nocache`` shows the cost of measuring
each file in each process instead. References, measured in the same run and interleaved with our rows:

* ``ffmpeg``: the FFmpeg command line decoding the same files sequentially, one thread (frames/s);
* ``naive``: the peer approach (mmaction2 ``DecordInit``/``DecordDecode``): a new ``decord.VideoReader`` and one
  ``get_batch`` per sample, same planner, same resize, same DataLoader and worker count;
* ``ptv-pyav``, ``ptv-decord``: pytorchvideo 0.1.5 ``LabeledVideoDataset`` (``RandomClipSampler`` over 32 frames,
  its decoders with their default settings, then 16 frames subsampled and resized in float as its transforms do), for
  clip16 only (raw and transcoded corpora), run in a subprocess with ``--ptv-python`` (an interpreter that has
  pytorchvideo) or here when pytorchvideo imports; ``null`` when neither.

Rates are samples per second of ``--clock`` time for a pass over ``--samples`` samples, DataLoader start-up included,
best of ``--repeats`` passes. ``cpu`` (default) charges the CPU time of this process and of its DataLoader workers
(reaped at the end of each pass), i.e. samples per CPU-second: on a shared machine elapsed time mostly measures the
other users; with workers it measures cost, not the parallel speed-up (``--clock wall`` on an idle machine for that).

``"ratios"`` are for the backend ``auto`` picks (listed first; ``--backends`` to choose): ``vs_naive`` (clip16, raw,
0 workers / naive, 0 workers); ``vs_pytorchvideo`` (that row / the faster pytorchvideo decoder at 0 workers;
``_transcoded`` the same on the transcoded corpus; ``_by_workers`` every corpus and worker count);
``codec_efficiency`` (that row's clips/s x frames the codec must decode per clip, counted from the keyframe before
each run of frames / FFmpeg sequential frames/s); ``transcoded_vs_raw_naive`` (clip16 on the transcoded corpus / naive
on the raw corpus, 0 workers); ``multiclip_vs_perclip`` (the lowest, over the multi-frame workloads and 4 clips x 8
frames, of: the plan's frames decoded in one sorted pass / each clip or frame decoded with its own reader; in-process
time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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

import decode as decode_bench
from decode import available, ffmpeg_fps, make_corpus, parse_size, ref_sequential_fps, transcode

from vidssl.data import open_video
from vidssl.data.collate import collate_examples
from vidssl.data.datasets.clip_dataset import VideoClipDataset, default_example
from vidssl.data.decode import clear_probe_cache, set_index_cache_dir
from vidssl.data.decode.api import resolve_backend
from vidssl.data.decode.probe import probe
from vidssl.data.decode.source import VideoSource
from vidssl.data.planners import ColorizationFrames, MultiClip, RandomClip, ShuffleAndLearn, TSNSegments
from vidssl.data.seeding import sample_rng
from vidssl.types import VideoMeta

SIZE, BATCH = 112, 4
VIDEO_EXT = (".mp4", ".mkv", ".webm", ".avi", ".mov")
MULTI = ("frames3", "uniform8", "shuffle_learn", "colorization", "clips4x8")


def workloads() -> dict[str, Callable]:
    """The standard workloads (plus ``clips4x8``, used for the multi-clip ratio only)."""
    return {
        "clip16": RandomClip(16, stride=2),
        "frames3": MultiClip(3, 1),
        "uniform8": TSNSegments(8),
        "shuffle_learn": ShuffleAndLearn(),
        "colorization": ColorizationFrames(),
        "clips4x8": MultiClip(4, 8, stride=2, min_gap=0, max_gap=24),
    }


def resize(frames: torch.Tensor) -> torch.Tensor:
    """``uint8 [..., 3, H, W]`` -> ``[..., 3, SIZE, SIZE]`` (torchvision v2, antialiased, on uint8 as we do)."""
    import torchvision.transforms.v2.functional as TF

    flat = frames.reshape(-1, *frames.shape[-3:])
    return TF.resize(flat, [SIZE, SIZE], antialias=True).reshape(*frames.shape[:-2], SIZE, SIZE)


def resize_example(sample: Any, rng: np.random.Generator) -> dict[str, Any]:
    """Default example with frames resized to ``SIZE x SIZE`` (as a clip pipeline's first transform would)."""
    out = default_example(sample, rng)
    out["frames"] = resize(out["frames"])
    return out


class NaiveDecord(Dataset):
    """mmaction2-style sample: open a decord reader, plan from its length, ``get_batch`` the indices (and resize)."""

    def __init__(self, files: list[Path], plan: Callable, n: int, resize_frames: bool) -> None:
        self.files, self.plan, self.n, self.resize_frames = files, plan, n, resize_frames

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        import decord

        rng = sample_rng(0, 0, i, 0)
        path = self.files[i % len(self.files)]
        vr = decord.VideoReader(str(path), num_threads=1)
        meta = VideoMeta(path.stem, str(path), num_frames=len(vr), fps=float(vr.get_avg_fps()) or 25.0)
        plan = self.plan(meta, rng)
        data = vr.get_batch(plan.indices.reshape(-1).tolist()).asnumpy()
        frames = torch.from_numpy(data).permute(0, 3, 1, 2).reshape(*plan.indices.shape, 3, *data.shape[1:3])
        return {"frames": resize(frames) if self.resize_frames else frames}


# -- pytorchvideo (run with an interpreter that has it) -----------------------------------------------------------


def _ptv_transform(sample: dict[str, Any]) -> dict[str, Any]:
    """The usual pytorchvideo clip pipeline: ``UniformTemporalSubsample(16)`` then a bilinear resize, in float."""
    video = sample["video"]  # float32 [C, T, H, W]
    idx = torch.linspace(0, video.shape[1] - 1, 16).round().long()
    frames = video[:, idx].permute(1, 0, 2, 3)
    return {"frames": F.interpolate(frames, size=(SIZE, SIZE), mode="bilinear", align_corners=False)}


def _stack_frames(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"frames": torch.stack([it["frames"] for it in items])}


def ptv_child(spec: dict[str, Any]) -> dict[str, float]:
    """One pass per decoder and worker count of pytorchvideo's ``LabeledVideoDataset`` (in the PTV interpreter)."""
    from pytorchvideo.data import LabeledVideoDataset, make_clip_sampler

    torch.set_num_threads(1)
    decode_bench.CLOCK = spec["clock"]
    files, n = spec["files"], spec["samples"]
    paths = [(files[i % len(files)], {"label": 0}) for i in range(n)]
    rates = {}
    for decoder in ("pyav", "decord"):
        for workers in spec["workers"]:
            ds = LabeledVideoDataset(paths, make_clip_sampler("random", Fraction(32) / Fraction(spec["fps"])),
                                     torch.utils.data.SequentialSampler, _ptv_transform, decode_audio=False,
                                     decoder=decoder)
            rates[f"ptv-{decoder}/{workers}"] = loader_rate(ds, workers, _stack_frames)
    return rates


def ptv_rates(python: str | None, files: list[Path], samples: int, workers: list[int], fps: float) -> dict | None:
    """Run :func:`ptv_child` in ``python`` (or here when pytorchvideo imports); ``None`` when it cannot run."""
    spec = {"files": [str(f) for f in files], "samples": samples, "workers": workers, "fps": fps,
            "clock": decode_bench.CLOCK}
    if python is None:
        try:
            import pytorchvideo.data  # noqa: F401
        except Exception:  # absent, or its imports fail with this torchvision
            return None
        return ptv_child(spec)
    out = subprocess.run([python, __file__, "--ptv-child", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"pytorchvideo reference failed:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- measurement ----------------------------------------------------------------------------------------------------


def auto_first(backends: list[str]) -> list[str]:
    """``backends`` with the one ``open_video(backend="auto")`` resolves to first (the ratios are for it)."""
    auto = resolve_backend("auto")
    return [auto] + [b for b in backends if b != auto]


def loader_rate(dataset: Dataset, workers: int, collate: Callable = collate_examples) -> float:
    """Samples/s of one pass over ``dataset`` (wall clock, worker start-up included; per-process caches cleared)."""
    clear_probe_cache()
    t0 = decode_bench.clock()
    count = 0
    for batch in DataLoader(dataset, batch_size=BATCH, num_workers=workers, collate_fn=collate):
        count += len(batch["frames"])
    return count / (decode_bench.clock() - t0)  # workers are joined (reaped) once the pass ends: CPU time included


def metas_for(files: list[Path]) -> list[VideoMeta]:
    return [VideoMeta(f.stem, str(f), num_frames=0, fps=25.0) for f in files]


def plans_for(files: list[Path], planner: Callable, n: int) -> list[tuple[Path, Any]]:
    out = []
    for i in range(n):
        path = files[i % len(files)]
        info = probe(VideoSource.from_any(path)).info
        meta = VideoMeta(path.stem, str(path), num_frames=info.num_frames, fps=info.fps)
        out.append((path, planner(meta, sample_rng(0, 0, i, 0))))
    return out


def mean_decode_cost(plans: list[tuple[Path, Any]]) -> float:
    return float(np.mean([probe(VideoSource.from_any(p)).index.decode_cost(plan.unique_indices())
                          for p, plan in plans]))


def multiclip(plans: list[tuple[Path, Any]], backend: str, repeats: int) -> dict[str, float]:
    """One sorted pass over the plan's frames vs each clip (first axis of ``plan.indices``) with its own reader."""

    def union() -> None:
        for path, plan in plans:
            with open_video(path, backend=backend, num_threads=1) as r:
                r.get_frames(plan.indices.reshape(-1))

    def per_part() -> None:
        for path, plan in plans:
            for part in plan.indices.reshape(plan.indices.shape[0], -1):
                with open_video(path, backend=backend, num_threads=1) as r:
                    r.get_frames(part)

    def best(fn: Callable[[], None]) -> float:
        times = []
        for _ in range(repeats):
            t0 = decode_bench.clock()
            fn()
            times.append(decode_bench.clock() - t0)
        return len(plans) / min(times)

    u, p = best(union), best(per_part)
    return {"union_samples_per_s": u, "per_clip_samples_per_s": p, "ratio": u / p}


def corpus_files(args: argparse.Namespace, root: Path) -> tuple[list[Path], list[Path]]:
    """``(raw, transcoded)`` files: ``--corpus`` and copies of it, or a generated pattern corpus."""
    if args.corpus and (Path(args.corpus) / "raw").is_dir() and (Path(args.corpus) / "transcoded").is_dir():
        # a corpus written by ``decode.make_corpus`` (raw/ and transcoded/): reused as is, copies included
        found = {d: sorted(p for p in (Path(args.corpus) / d).iterdir() if p.suffix.lower() in VIDEO_EXT)
                 for d in ("raw", "transcoded")}
        return found["raw"][: args.videos], found["transcoded"][: args.videos]
    if args.corpus:
        raw = sorted(p for p in Path(args.corpus).rglob("*") if p.suffix.lower() in VIDEO_EXT)
        if not raw:
            raise SystemExit(f"no videos under {args.corpus}")
        (root / "transcoded").mkdir(parents=True)
        return raw, [transcode(f, root / "transcoded" / f"{i}_{f.stem}.mp4") for i, f in enumerate(raw)]
    corpus = make_corpus(root / "corpus", args.videos, args.raw_frames, args.raw_size, args.raw_gop)
    return corpus["raw"], corpus["transcoded"]


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    raw, trans = corpus_files(args, root)
    set_index_cache_dir(root / "index")  # inherited by forked workers: each file is measured once, here
    for f in raw + trans:
        probe(VideoSource.from_any(f))
    backends, loads, n = args.backends or auto_first(available()), workloads(), args.samples
    names = args.workloads or [k for k in loads if k != "clips4x8"]
    seq = {kind: {"ffmpeg_cli": ffmpeg_fps(files, args.repeats)[0], "pyav": ref_sequential_fps(files, args.repeats)}
           for kind, files in (("raw", raw), ("transcoded", trans))} if "loader" in args.parts else {}
    ref_raw = max(seq["raw"].values()) if seq else None  # the faster of the two: the stricter reference
    try:
        import decord  # noqa: F401
        has_decord = True
    except Exception:
        has_decord = False
    best: dict[tuple[str, str, str, int], float] = {}

    def record(key: tuple[str, str, str, int], rate: float) -> None:
        best[key] = max(best.get(key, 0.0), rate)
        print(f"  {'/'.join(map(str, key)):<40} {rate:8.2f}/s", flush=True)

    for rep in range(args.repeats if "loader" in args.parts else 0):  # references and our rows alternate
        print(f"pass {rep + 1}/{args.repeats}", flush=True)
        for corpus, files in (("raw", raw), ("transcoded", trans)):
            for name in names:
                if corpus == "transcoded" and name != "clip16":
                    continue
                plan, make = loads[name], resize_example if name == "clip16" else None
                for w in args.workers:
                    if has_decord:
                        naive = NaiveDecord(files, plan, n, resize_frames=make is not None)
                        record((corpus, name, "naive", w), loader_rate(naive, w))
                    for b in backends:
                        ds = VideoClipDataset(metas_for(files), plan, make, clips_per_epoch=n, seed=0, backend=b,
                                              on_error="raise")
                        record((corpus, name, b, w), loader_rate(ds, w))
                if corpus == "raw" and name == "clip16":
                    set_index_cache_dir(None)
                    ds = VideoClipDataset(metas_for(files), plan, make, clips_per_epoch=n, seed=0,
                                          backend=backends[0], on_error="raise")
                    record((corpus, name, f"{backends[0]}-nocache", 0), loader_rate(ds, 0))
                    set_index_cache_dir(root / "index")
                if name == "clip16":
                    fps = probe(VideoSource.from_any(files[0])).info.fps
                    for key, rate in (ptv_rates(args.ptv_python, files, n, args.workers, fps) or {}).items():
                        src, w = key.split("/")
                        record((corpus, name, src, int(w)), rate)
    rows = []
    for (corpus, name, src, w), rate in best.items():
        naive = best.get((corpus, name, "naive", w))
        rows.append({"corpus": corpus, "workload": name, "source": src, "workers": w, "samples_per_s": rate,
                     "vs_naive": rate / naive if naive and src != "naive" else None})
    first = backends[0]
    ours0 = best.get(("raw", "clip16", first, 0))
    naive0 = best.get(("raw", "clip16", "naive", 0))
    by_workers: dict[str, dict[str, float | None]] = {"raw": {}, "transcoded": {}}
    for corpus, table in by_workers.items():
        for w in args.workers:
            keys = [(corpus, "clip16", src, w) for src in ("ptv-pyav", "ptv-decord")]
            ptv = [best[k] for k in keys if k in best]
            ours = best.get((corpus, "clip16", first, w))
            table[str(w)] = ours / max(ptv) if ptv and ours else None
    cost = mean_decode_cost(plans_for(raw, loads["clip16"], n))
    multi = {m: multiclip(plans_for(raw, loads[m], max(n, 8)), first, args.repeats)
             for m in MULTI} if "multiclip" in args.parts else {}
    ours_tc = best.get(("transcoded", "clip16", first, 0))
    return {
        "rows": rows,
        "references": {"sequential_fps": seq, "codec_efficiency_reference_fps": ref_raw,
                       "pytorchvideo": "measured" if any(by_workers["raw"].values()) else None},
        "frames_decoded_per_clip16": cost,
        "multiclip": multi,
        "ratios": {
            "backend": first,
            "vs_naive": ours0 / naive0 if naive0 and ours0 else None,
            "vs_pytorchvideo": by_workers["raw"].get(str(args.workers[0])),
            "vs_pytorchvideo_transcoded": by_workers["transcoded"].get(str(args.workers[0])),
            "vs_pytorchvideo_by_workers": by_workers,
            "codec_efficiency": ours0 * cost / ref_raw if ours0 and ref_raw else None,
            "transcoded_vs_raw_naive": ours_tc / naive0 if naive0 and ours_tc else None,
            "multiclip_vs_perclip": min(v["ratio"] for v in multi.values()) if multi else None,
        },
        "corpus": {"raw": [str(f) for f in raw], "raw_size": None if args.corpus else list(args.raw_size),
                   "raw_frames": None if args.corpus else args.raw_frames,
                   "raw_gop": None if args.corpus else args.raw_gop,
                   "transcoded_short_side": 128, "transcoded_gop": 16},
        "samples_per_pass": n, "batch_size": BATCH, "workers": args.workers, "repeats": args.repeats,
    }


def print_table(results: dict[str, Any], workers: list[int]) -> None:
    print(f"\nsamples/s (x = / naive at the same worker count); {results['samples_per_pass']} samples per pass")
    print(f"{'corpus':<11}{'workload':<14}{'source':<16}" + "".join(f"{'w=' + str(w):>16}" for w in workers))
    table: dict[tuple[str, str, str], dict[int, dict]] = {}
    for row in results["rows"]:
        table.setdefault((row["corpus"], row["workload"], row["source"]), {})[row["workers"]] = row
    for (corpus, name, src), by_w in table.items():
        cells = []
        for w in workers:
            row = by_w.get(w)
            if row is None:
                cells.append(f"{'':>16}")
                continue
            ratio = f" x{row['vs_naive']:.2f}" if row["vs_naive"] else ""
            cells.append(f"{row['samples_per_s']:>9.1f}{ratio:<7}")
        print(f"{corpus:<11}{name:<14}{src:<16}" + "".join(cells))
    refs, r = results["references"], results["ratios"]
    for kind, fps in refs["sequential_fps"].items():
        print(f"sequential decode, one thread, {kind}: FFmpeg CLI {fps['ffmpeg_cli']:.0f} fps, "
              f"PyAV {fps['pyav']:.0f} fps")
    print(f"frames the codec must decode per clip16 (raw): {results['frames_decoded_per_clip16']:.1f}")
    for name, m in results["multiclip"].items():
        print(f"multi-clip {name:<14} one pass {m['union_samples_per_s']:7.1f}/s  per clip "
              f"{m['per_clip_samples_per_s']:7.1f}/s  x{m['ratio']:.2f}")
    if not results["rows"]:
        print("(loader rows not measured)")
    print("ratios: " + "  ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
                                 if not isinstance(v, dict)))
    for corpus, table in r["vs_pytorchvideo_by_workers"].items():
        print(f"vs_pytorchvideo ({corpus}) by workers: "
              + "  ".join(f"w={w} {v:.2f}" if v else f"w={w} -" for w, v in table.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 videos, 8 samples per pass, 2 passes")
    parser.add_argument("--corpus", type=Path, help="measure the videos under this folder (raw corpus; with raw/ and "
                        "transcoded/ subfolders, both are used as they are)")
    parser.add_argument("--raw-size", type=parse_size, default=(640, 360), help="generated raw videos, WxH")
    parser.add_argument("--raw-frames", type=int, default=250, help="frames per generated raw video (25 fps)")
    parser.add_argument("--raw-gop", type=int, default=250, help="keyframe interval of the generated raw videos")
    parser.add_argument("--videos", type=int, help="generated raw videos (default 8; quick 4)")
    parser.add_argument("--samples", type=int, help="samples per pass (default 24; quick 8)")
    parser.add_argument("--repeats", type=int, help="passes; each rate is the best (default 3; quick 2)")
    parser.add_argument("--backends", nargs="*", help="default: every available backend, auto's choice first")
    parser.add_argument("--workloads", nargs="*", choices=[k for k in workloads() if k != "clips4x8"])
    parser.add_argument("--workers", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="cpu: CPU seconds of this process and its workers (shared machines); wall: elapsed")
    parser.add_argument("--parts", nargs="*", choices=["loader", "multiclip"], default=["loader", "multiclip"],
                        help="what to measure (e.g. separate processes for each on a shared machine)")
    parser.add_argument("--ptv-python", help="interpreter with pytorchvideo 0.1.5 for the pytorchvideo reference")
    parser.add_argument("--ptv-child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("loader_benchmark.json"))
    args = parser.parse_args(argv)
    if args.ptv_child:  # inside the pytorchvideo interpreter: print the rates as one JSON line
        print(json.dumps(ptv_child(json.loads(args.ptv_child))))
        return 0
    args.videos = args.videos or (4 if args.quick else 8)
    args.samples = args.samples or (8 if args.quick else 24)
    args.repeats = args.repeats or (2 if args.quick else 3)
    torch.set_num_threads(1)  # the resize must not fight the decoders for the cores
    decode_bench.CLOCK = args.clock
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="vidssl-loader-") as tmp:
        results = run(args, Path(tmp))
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": os.getloadavg()}
    print_table(results, args.workers)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
