"""Generate a whole corpus in parallel: videos, ground truth, manifest, splits, config, completion marker.

Order of writes, so an interrupted run never looks complete: ``synth_config.json`` first (marks the folder as a
synthetic corpus, which ``--overwrite`` requires), then per-video files (each written atomically), then the
manifest, class list and split lists, and the ``DONE`` marker last.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import platform
import resource
import time
from collections import Counter
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from tqdm import tqdm

from data_tools.synth.annotations import write_json
from data_tools.synth.config import CLASSES, GENERATOR, GENERATOR_VERSION, SynthConfig
from data_tools.synth.layout import CONFIG_FILE, MARKER, SynthUsageError, prepare_out_dir
from data_tools.synth.scene import label_for
from data_tools.synth.splits import SPLITS, assign_splits, derangement
from data_tools.synth.worker import VideoJob, make_video

__all__ = ["DAVIS_FRAMES", "CorpusSummary", "default_workers", "generate_corpus"]

DAVIS_FRAMES = ("none", "test", "all")


@dataclass(frozen=True)
class CorpusSummary:
    """What a run produced and how long it took.

    Attributes:
        out_dir: the corpus folder.
        n_videos: videos written.
        seconds: wall-clock time of the run.
        cpu_seconds: CPU time of this process and its workers (wall time hides how busy a shared machine was).
        workers: worker processes used.
        size_bytes: total size of the folder.
        class_counts: videos per class name.
        split_counts: videos per split.
    """

    out_dir: str
    n_videos: int
    seconds: float
    cpu_seconds: float
    workers: int
    size_bytes: int
    class_counts: dict[str, int]
    split_counts: dict[str, int]

    @property
    def videos_per_second(self) -> float:
        """Throughput in videos per wall-clock second."""
        return self.n_videos / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        splits = " / ".join(f"{k} {v}" for k, v in self.split_counts.items())
        return (
            f"synth: {self.n_videos} videos ({len(self.class_counts)} classes; {splits}) in {self.seconds:.1f} s "
            f"({self.videos_per_second:.1f} videos/s, CPU {self.cpu_seconds:.1f} s, {self.workers} workers), "
            f"{self.size_bytes / 1e6:.1f} MB -> {self.out_dir}"
        )


def default_workers() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _run(jobs: list[VideoJob], config: SynthConfig, out: Path, workers: int, progress: bool) -> list[dict[str, Any]]:
    bar = tqdm(total=len(jobs), desc="synth", unit="video", disable=not progress, dynamic_ncols=True)
    rows: list[dict[str, Any]] = []
    try:
        if workers <= 1:
            for job in jobs:
                rows.append(make_video(job, config, out))
                bar.update()
            return rows
        # spawn, not fork: the caller may hold threads (tqdm's monitor, torch's pools) that fork would copy broken.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending = {pool.submit(make_video, job, config, out) for job in jobs}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        rows.append(future.result())  # re-raises a worker's error here
                        bar.update()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return rows
    finally:
        bar.close()


def _write_manifest(rows: list[dict[str, Any]], path: Path) -> None:
    # Imported here: vidssl.data.manifest pulls in pandas and torch (seconds), which worker processes never need.
    import pandas as pd

    from vidssl.data.manifest import write_manifest

    write_manifest(pd.DataFrame(rows), path)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers count once they have been joined
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def generate_corpus(
    out_dir: str | os.PathLike[str],
    n_videos: int,
    seed: int = 0,
    *,
    config: SynthConfig | None = None,
    splits: tuple[float, float, float] = (0.7, 0.1, 0.2),
    davis_frames: str = "test",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> CorpusSummary:
    """Write a synthetic corpus to ``out_dir``.

    Args:
        out_dir: corpus folder (created; must be new or empty unless ``overwrite``).
        n_videos: number of videos (>= 1; >= 2 with mismatched audio).
        seed: corpus seed (overrides ``config.seed``).
        config: generator settings (defaults: 64x64, 48 frames at 16 fps, 0-2 distractors).
        splits: train, val, test fractions, stratified by class.
        davis_frames: which videos also get decoded JPEG frames in ``davis/JPEGImages``: none, test or all.
        workers: processes (default: CPUs available); 1 runs in this process.
        overwrite: replace an existing synthetic corpus in ``out_dir``.
        progress: show a tqdm bar.

    Returns:
        The run summary.

    Raises:
        SynthUsageError: bad arguments or unusable folder (nothing is written then).
    """
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    config = dataclasses.replace(config or SynthConfig(), seed=int(seed))
    try:
        config.validate()
    except ValueError as err:
        raise SynthUsageError(str(err)) from None
    if n_videos < 1:
        raise SynthUsageError(f"the number of videos must be >= 1, got {n_videos}")
    if config.mismatched_audio and n_videos < 2:
        raise SynthUsageError("--mismatched-audio needs at least 2 videos (each takes another video's audio)")
    if davis_frames not in DAVIS_FRAMES:
        raise SynthUsageError(f"davis_frames must be one of {DAVIS_FRAMES}, got {davis_frames!r}")
    if len(splits) != 3 or min(splits) < 0 or abs(sum(splits) - 1) > 1e-6:
        raise SynthUsageError(f"splits must be three non-negative fractions summing to 1, got {splits}")
    workers = max(1, min(workers or default_workers(), n_videos))
    out = prepare_out_dir(out_dir, overwrite)

    labels = [label_for(config.seed, i) for i in range(n_videos)]
    split_of = assign_splits(labels, splits, config.seed)
    sources = derangement(n_videos, config.seed) if config.mismatched_audio else np.arange(n_videos)
    write_json(
        out / CONFIG_FILE,
        {
            "generator": GENERATOR,
            "version": GENERATOR_VERSION,
            "seed": config.seed,
            "n_videos": n_videos,
            "splits": list(splits),
            "davis_frames": davis_frames,
            "classes": list(CLASSES),
            "config": config.to_dict(),
            # Informational (may differ between machines without changing the raw frames): encoder library versions.
            "environment": {"python": platform.python_version(), "numpy": np.__version__, "av": av.__version__},
        },
    )
    for sub in ("videos", "gt", "splits", "davis/Annotations") + (
        () if davis_frames == "none" else ("davis/JPEGImages",)
    ):
        (out / sub).mkdir(parents=True, exist_ok=True)
    with_frames = [davis_frames == "all" or (davis_frames == "test" and s == "test") for s in split_of]
    jobs = [VideoJob(i, split_of[i], int(sources[i]), with_frames[i]) for i in range(n_videos)]
    rows = _run(jobs, config, out, workers, progress)

    rows.sort(key=lambda r: r["video_id"])
    _write_manifest(rows, out / "manifest.csv")
    (out / "classes.txt").write_text("".join(f"{name}\n" for name in CLASSES))
    for split in SPLITS:
        ids = [r["video_id"] for r in rows if r["split"] == split]
        (out / "splits" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    summary = CorpusSummary(
        out_dir=str(out),
        n_videos=n_videos,
        seconds=time.perf_counter() - start,
        cpu_seconds=_cpu_seconds() - cpu0,
        workers=workers,
        size_bytes=_folder_size(out),
        class_counts={name: n for name in CLASSES if (n := Counter(r["label"] for r in rows)[name])},
        split_counts={s: sum(r["split"] == s for r in rows) for s in SPLITS},
    )
    write_json(out / MARKER, dataclasses.asdict(summary))
    return summary
