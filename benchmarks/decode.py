"""Decode benchmark: sequential and random-clip decoding per backend, as ratios to references from the same run.

    python benchmarks/decode.py [--quick] [--files A.mp4 B.mkv ...] [--raw-size 640x360] [--out decode.json]
    python benchmarks/decode.py --accuracy [--files ...] [--out accuracy.json]   # frame accuracy per backend

Times are the best of ``--repeats`` runs, in CPU seconds of this process by default (``--clock wall`` for elapsed
time): all decoding here is single-threaded and in-process, and on a shared machine CPU time is the stable measure.

Corpus (also used by ``benchmarks/loader.py``): without ``--files`` it writes, to a temp folder, ``raw`` files
(``--raw-size`` 640x360, ``--raw-frames`` 250 at 25 fps, keyframe every ``--raw-gop`` 250 frames = x264's default,
3 B-frames, crf 23: a moving textured pattern whose decode cost per pixel, ~190 Mpixel/s on one core, is that of the
Kinetics clips in data/real, ~140-340) and ``transcoded`` copies of them (short side 128, keyframe every 16, H.264
crf 20, 2 B-frames: the training copies the loader goals ask for). The raw size is a parameter because the ratios
depend on it: on small raw files (e.g. 64x64) Python overhead, not decoding, sets every rate, and the comparison
says little about decoders. Everything runs single-threaded (``num_threads=1``), as inside DataLoader workers.

Measured per backend and corpus:

* ``seq_fps``: frames/s of ``get_frames`` over whole files (sorted chunks of 64, RGB out), and ``seq_ratio`` =
  ``seq_fps / ref_seq_fps`` where ``ref_seq_fps`` is PyAV's full sequential decode of the same files without colour
  conversion (the codec's own throughput: the ceiling).
* ``clips_per_s``: random 16-frame clips at stride 2 (a fresh reader per clip, as in a DataLoader ``__getitem__``;
  the per-process index cache is warm after a file's first clip, and building it is included in the time).
* ``codec_efficiency`` = ``clips_per_s x frames the codec must decode per clip / ref_seq_fps``, frames counted from
  the keyframe before each run of requested frames (``FrameIndex.decode_cost``). 1.0 means random access costs
  no more than decoding those frames sequentially; above 1 the reader decodes fewer frames than that count (it
  skips unwanted non-reference B-frames). The goal is >= 0.85.
* ``naive_clips_per_s``: the peer approach (mmaction2 ``DecordInit`` + ``DecordDecode``): a new
  ``decord.VideoReader`` and one ``get_batch`` per clip; ``vs_naive = clips_per_s / naive_clips_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidssl.data import open_video
from vidssl.data.decode import BackendUnavailableError, clear_probe_cache, probe_video
from vidssl.data.decode.api import BACKENDS, _reader_class
from vidssl.data.decode.probe import probe
from vidssl.data.decode.source import VideoSource

CLIP_LEN, STRIDE = 16, 2


# -- corpus --------------------------------------------------------------------------------------------------------


def write_pattern_video(path: Path, n_frames: int, width: int, height: int, gop: int, seed: int, fps: int = 25,
                        bframes: int = 3) -> Path:
    """A moving textured pattern encoded with libx264 (crf 23, ``gop`` frames between keyframes)."""
    import av

    rng = np.random.default_rng(seed)
    tex = rng.integers(0, 256, size=(height * 2, width * 2, 3), dtype=np.uint8)
    tex = ((tex.astype(np.float32) + np.roll(tex, 1, 0) + np.roll(tex, 1, 1)) / 3).astype(np.uint8)  # soften noise
    y, x = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast",
                          "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
        for i in range(n_frames):
            dx, dy = (i * 3) % width, (i * 2) % height
            img = tex[dy : dy + height, dx : dx + width].copy()
            img[..., 0] = (img[..., 0] // 2 + ((x + i * 4) % 128)).astype(np.uint8)
            img[(y // 16 + i // 8) % 7 == 0] //= 2
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def transcode(src: Path, dst: Path, short_side: int = 128, gop: int = 16) -> Path:
    """H.264 copy with the short side scaled to ``short_side`` and a keyframe every ``gop`` frames (video only)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        w, h = vin.codec_context.width, vin.codec_context.height
        scale = short_side / min(w, h)
        ow, oh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
        rate = Fraction(vin.average_rate or 25)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = ow, oh, "yuv420p"
        vout.options = {"crf": "20", "preset": "veryfast",
                        "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2"}
        for i, frame in enumerate(inp.decode(vin)):
            frame = frame.reformat(width=ow, height=oh, format="yuv420p")
            frame.pts, frame.time_base = i, 1 / rate  # constant frame rate, as a transcode to training copies does
            for packet in vout.encode(frame):
                out.mux(packet)
        for packet in vout.encode(None):
            out.mux(packet)
    return dst


def parse_size(text: str) -> tuple[int, int]:
    """``"640x360"`` -> ``(640, 360)``."""
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def make_corpus(root: Path, n_files: int, n_frames: int = 250, size: tuple[int, int] = (640, 360),
                gop: int = 250) -> dict[str, list[Path]]:
    """``{"raw": [...], "transcoded": [...]}``: pattern videos at ``size``/``gop`` and their 128-short-side copies."""
    (root / "raw").mkdir(parents=True, exist_ok=True)
    (root / "transcoded").mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {"raw": [], "transcoded": []}
    for i in range(n_files):
        raw = write_pattern_video(root / "raw" / f"raw_{i}.mp4", n_frames, *size, gop, seed=i)
        out["raw"].append(raw)
        out["transcoded"].append(transcode(raw, root / "transcoded" / f"tc_{i}.mp4"))
    return out


# -- measurements --------------------------------------------------------------------------------------------------


REPEATS = 3
CLOCK = "cpu"


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have been waited for.

    Children count once they exit and are reaped: ``subprocess.run`` and DataLoader workers (joined at the end of each
    pass when not persistent) are included, so a pass with workers is charged for all the CPU it used.
    """
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def clock() -> float:
    """The current reading of :data:`CLOCK` (``cpu``: :func:`cpu_seconds`; ``wall``: ``time.perf_counter``)."""
    return cpu_seconds() if CLOCK == "cpu" else time.perf_counter()


def timed(fn: Callable[[], object], repeats: int | None = None) -> float:
    """Best of ``repeats`` runs of ``fn`` in seconds of :data:`CLOCK`.

    ``cpu`` (default) is CPU time of this process and its children: every decoder here is single-threaded, so CPU
    time is the work done, and it does not count time other processes of a shared machine take from us. ``wall`` is
    elapsed time. Either way the best run is kept: it is the least disturbed.
    """
    best = float("inf")
    for _ in range(repeats or REPEATS):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def ref_sequential_fps(files: list[Path], repeats: int | None = None) -> float:
    """PyAV full sequential decode without colour conversion, one thread: frames/s."""
    import av

    frames = 0

    def run() -> None:
        nonlocal frames
        frames = 0
        for f in files:
            with av.open(str(f)) as c:
                c.streams.video[0].codec_context.thread_count = 1
                for _ in c.decode(video=0):
                    frames += 1

    seconds = timed(run, repeats)
    return frames / seconds


def ffmpeg_fps(files: list[Path], repeats: int | None = None) -> tuple[float, str]:
    """Sequential decode frames/s (:data:`CLOCK`) of the FFmpeg command line, one thread, every file in one process.

    Start-up and opening are subtracted: the same command stopped after each file's first frame is timed too, and
    the rate is ``(frames - files) / (full - first frames)``. Falls back to PyAV's sequential decode when there is
    no ``ffmpeg`` binary (CI installs pip packages only).
    """
    frames = sum(probe_video(f).num_frames for f in files)
    exe = shutil.which("ffmpeg")
    if exe is None:
        return ref_sequential_fps(files), "PyAV sequential decode, one thread (no ffmpeg binary)"

    def seconds(limit: list[str]) -> float:
        cmd = [exe, "-v", "error", "-nostdin"]
        for f in files:
            cmd += ["-threads", "1", "-i", str(f)]
        for i in range(len(files)):
            cmd += ["-map", f"{i}:v:0", "-threads", "1", *limit, "-f", "null", "-"]
        best = float("inf")
        for _ in range(repeats or REPEATS):
            t0 = clock()
            subprocess.run(cmd, check=True)
            best = min(best, clock() - t0)
        return best

    full, start = seconds([]), seconds(["-frames:v", "1"])
    return (frames - len(files)) / max(full - start, 1e-9), \
        "ffmpeg -threads 1 -i ... -f null - (all files in one process; start-up and first frames subtracted)"


def backend_sequential_fps(backend: str, files: list[Path]) -> float:
    frames = 0

    def run() -> None:
        nonlocal frames
        frames = 0
        for f in files:
            with open_video(f, backend=backend, num_threads=1) as reader:
                for s in range(0, len(reader), 64):
                    frames += len(reader.get_frames(np.arange(s, min(s + 64, len(reader)))))

    seconds = timed(run)
    return frames / seconds


def clip_plans(files: list[Path], clips_per_file: int, seed: int) -> list[tuple[Path, np.ndarray]]:
    """Random clip indices per file (the same plans for every backend)."""
    rng = np.random.default_rng(seed)
    plans = []
    for f in files:
        n = probe_video(f).num_frames
        span = (CLIP_LEN - 1) * STRIDE + 1
        for _ in range(clips_per_file):
            start = int(rng.integers(0, max(n - span, 0) + 1))
            plans.append((f, np.minimum(start + STRIDE * np.arange(CLIP_LEN), n - 1)))
    rng.shuffle(plans)  # interleave files, as a shuffled DataLoader does
    return plans


def backend_clips(backend: str, plans: list[tuple[Path, np.ndarray]]) -> float:
    """Clips/s with a fresh reader per clip (each run starts with a cold index cache)."""

    def run() -> None:
        clear_probe_cache()
        for f, idx in plans:
            with open_video(f, backend=backend, num_threads=1) as reader:
                reader.get_frames(idx)

    return len(plans) / timed(run)


def naive_decord_clips(plans: list[tuple[Path, np.ndarray]]) -> float | None:
    """mmaction2-style: a new decord VideoReader and one get_batch per clip."""
    try:
        import decord
    except ImportError:
        return None

    def run() -> None:
        for f, idx in plans:
            vr = decord.VideoReader(str(f), num_threads=1)
            vr.get_batch(idx.tolist()).asnumpy()

    return len(plans) / timed(run)


def decode_cost(plans: list[tuple[Path, np.ndarray]]) -> float:
    """Mean frames the codec must decode per clip (from the keyframe before each run)."""
    return float(np.mean([probe(VideoSource.from_any(f)).index.decode_cost(idx) for f, idx in plans]))


def available() -> list[str]:
    names = []
    for name in BACKENDS:
        try:
            _reader_class(name).check_available()
            names.append(name)
        except BackendUnavailableError as exc:
            print(f"skipping {name}: {exc}")
    return names


def run(files_by_kind: dict[str, list[Path]], clips_per_file: int, backends: list[str]) -> dict:
    results: dict = {"clip": {"frames": CLIP_LEN, "stride": STRIDE}, "corpora": {}}
    for kind, files in files_by_kind.items():
        ref = ref_sequential_fps(files)
        plans = clip_plans(files, clips_per_file, seed=0)
        cost = decode_cost(plans)
        naive = naive_decord_clips(plans)
        rows = {}
        for b in backends:
            seq = backend_sequential_fps(b, files)
            cps = backend_clips(b, plans)
            rows[b] = {
                "seq_fps": seq, "seq_ratio": seq / ref, "clips_per_s": cps,
                "codec_efficiency": cps * cost / ref, "vs_naive": cps / naive if naive else None,
            }
        results["corpora"][kind] = {"files": [str(f) for f in files], "ref_seq_fps": ref, "frames_per_clip": cost,
                                    "naive_clips_per_s": naive, "backends": rows}
    return results


# -- frame accuracy ---------------------------------------------------------------------------------------------------

SHARED = Path(os.environ.get("VIDSSL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ROUNDING = 2.0  # mean absolute error allowed between backends' YUV->RGB conversions (as tests/data)


def accuracy_files() -> list[Path]:
    """Every video of ``shared/data/hard`` and ``shared/data/real`` (DAVIS JPEG folders excluded)."""
    exts = (".mp4", ".mkv", ".webm", ".avi", ".mov")
    return [p for sub in ("hard", "real") for p in sorted((SHARED / "data" / sub).rglob("*"))
            if p.suffix.lower() in exts]


def accuracy(files: list[Path], backends: list[str], per_file: int = 24, seed: int = 0) -> dict:
    """Per file and backend: requested frames whose picture is not frame i of a full sequential decode.

    The request is unsorted with duplicates (first and last frame included). A returned frame counts as right when
    its mean absolute difference to reference frame i is within YUV->RGB rounding and no reference frame within 16
    is closer (ties with repeated frames of real footage allowed). Also reported: the frame count, and whether the
    backend's own seeking served the file or the exact PyAV path did (``fallback``, with the reason).
    """
    import av

    out: dict = {}
    for path in files:
        with av.open(str(path)) as c:
            ref = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        rng = np.random.default_rng(seed)
        idx = np.concatenate([[len(ref) - 1, 0], rng.integers(0, len(ref), per_file - 4)])
        idx = np.concatenate([idx, idx[2:4]])  # duplicates
        row = {"sequential_frames": len(ref)}
        for b in backends:
            with open_video(path, backend=b, rotation="report", num_threads=1) as reader:
                got = reader.get_frames(idx).data.permute(0, 2, 3, 1).numpy()
                count, fallback = len(reader), getattr(reader, "fallback", "")
            wrong, worst = 0, 0.0
            for frame, want in zip(got, idx.tolist()):
                own = float(np.abs(ref[want].astype(np.int16) - frame.astype(np.int16)).mean())
                lo, hi = max(want - 16, 0), want + 17
                near = np.abs(ref[lo:hi, ::2, ::2].astype(np.int16) - frame[::2, ::2].astype(np.int16))
                errs = near.mean(axis=(1, 2, 3))
                own_sub = float(errs[want - lo])
                wrong += int(own > ROUNDING or errs.min() < own_sub - 1e-6)
                worst = max(worst, own)
            row[b] = {"frames": count, "count_ok": count == len(ref), "requested": len(idx), "wrong": wrong,
                      "max_mean_abs_err": round(worst, 3), "path": "PyAV: " + fallback if fallback else "native"}
        out[str(path.relative_to(SHARED / "data")) if path.is_relative_to(SHARED / "data") else str(path)] = row
    return out


def print_accuracy(results: dict, backends: list[str]) -> None:
    print(f"\n{'file':<52}{'frames':>7}  " + "".join(f"{b:<28}" for b in backends))
    for name, row in results.items():
        cells = []
        for b in backends:
            r = row[b]
            ok = "exact" if r["wrong"] == 0 and r["count_ok"] else f"WRONG {r['wrong']}/{r['requested']}"
            path = "native" if r["path"] == "native" else "PyAV fallback"
            cells.append(f"{ok + ' (' + path + ')':<28}")
        print(f"{name:<52}{row['sequential_frames']:>7}  " + "".join(cells))


def print_table(results: dict) -> None:
    print(f"\n{'corpus':<11} {'backend':<11} {'seq fps':>8} {'seq/ref':>8} {'clips/s':>8} {'codec eff':>9} "
          f"{'vs naive':>8}")
    for kind, r in results["corpora"].items():
        print(f"{kind:<11} {'reference':<11} {r['ref_seq_fps']:>8.0f} {'1.00':>8} {'':>8} {'':>9} {'':>8}   "
              f"(PyAV sequential decode; {r['frames_per_clip']:.1f} frames decoded per clip)")
        if r["naive_clips_per_s"]:
            print(f"{kind:<11} {'naive':<11} {'':>8} {'':>8} {r['naive_clips_per_s']:>8.1f}")
        for b, row in r["backends"].items():
            vs = f"{row['vs_naive']:.2f}" if row["vs_naive"] else "-"
            print(f"{kind:<11} {b:<11} {row['seq_fps']:>8.0f} {row['seq_ratio']:>8.2f} {row['clips_per_s']:>8.1f} "
                  f"{row['codec_efficiency']:>9.2f} {vs:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", nargs="*", type=Path, help="measure these files (one corpus 'files')")
    parser.add_argument("--quick", action="store_true", help="2 files, 6 clips each")
    parser.add_argument("--raw-size", type=parse_size, default=(640, 360), help="raw corpus frame size, WxH")
    parser.add_argument("--raw-frames", type=int, default=250, help="frames per raw video (25 fps)")
    parser.add_argument("--raw-gop", type=int, default=250, help="keyframe interval of the raw videos")
    parser.add_argument("--backends", nargs="*", default=None)
    parser.add_argument("--clips", type=int, default=None, help="clips per file")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="CPU time of this process or wall")
    parser.add_argument("--accuracy", action="store_true",
                        help="frame accuracy instead of speed: every backend on shared/data/hard and real (or --files)")
    parser.add_argument("--out", type=Path, default=Path("decode_benchmark.json"))
    args = parser.parse_args(argv)
    global REPEATS, CLOCK
    REPEATS, CLOCK = args.repeats, args.clock
    backends = args.backends or available()
    if args.accuracy:
        acc = accuracy(args.files or accuracy_files(), backends)
        print_accuracy(acc, backends)
        args.out.write_text(json.dumps({"accuracy": acc, "backends": backends}, indent=2))
        print(f"\nwrote {args.out}")
        return 0
    clips = args.clips or (6 if args.quick else 20)
    with tempfile.TemporaryDirectory(prefix="vidssl-bench-") as tmp:
        if args.files:
            corpus = {"files": list(args.files)}
        else:
            corpus = make_corpus(Path(tmp), 2 if args.quick else 4, args.raw_frames, args.raw_size, args.raw_gop)
        results = run(corpus, clips, backends)
    results["machine"] = {"cpus": os.cpu_count(), "threads_per_decoder": 1, "repeats": REPEATS, "clock": CLOCK,
                          "load_avg": os.getloadavg()}
    results["corpus_parameters"] = {"files": [str(f) for f in args.files]} if args.files else {
        "raw_size": list(args.raw_size), "raw_frames": args.raw_frames, "raw_gop": args.raw_gop,
        "transcoded_short_side": 128, "transcoded_gop": 16}
    print_table(results)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
