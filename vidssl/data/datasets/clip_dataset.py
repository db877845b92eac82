"""Map-style dataset: sample ``i`` of an epoch → a planned, decoded, task-built example.

    ds = VideoClipDataset(videos, plan=task.plan, make_example=task.make_example, clips_per_epoch=10_000,
                          seed=0, uses_other_video=task.uses_other_video)
    loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=8, collate_fn=collate_examples)
    for epoch in range(epochs):
        ds.set_epoch(epoch)      # with persistent_workers, recreate the loader or set it before iterating
        for batch in loader: ...

Epochs are measured in clips, not videos (pytorchvideo #157): ``len(ds) == clips_per_epoch`` (default: one clip
per video). Sample ``i`` uses video ``perm[i % N]`` with ``perm`` a per-epoch permutation, so every video is visited
``clips_per_epoch // N`` or one more times per epoch, and which videos get the extra visit changes per epoch.
Every random choice for sample ``i`` comes from ``sample_rng(seed, epoch, i)``: results do not depend on the
number of workers or on which worker gets which index.

Bad videos: a decode-stage failure (open, plan, frames, audio) is logged, recorded, and the sample is replaced by a
random other video drawn from ``sample_rng(seed, epoch, i, attempt)``; the returned example carries the records under
``"skipped"`` for the main process to count (see :mod:`vidssl.data.errors`). ``on_error="raise"`` re-raises instead.
A file that failed once in a worker is remembered and skipped without reopening (same records, less time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from vidssl.data.datasets.decoding import DecodeStageError, MissingAudio, ReaderCache, decode_plan
from vidssl.data.errors import SKIPPED_KEY, OnError, SkipRecord
from vidssl.data.seeding import sample_rng
from vidssl.tasks.base import DecodedSample
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["ExampleFn", "PlanFn", "VideoClipDataset", "default_example", "epoch_video_order"]

log = logging.getLogger(__name__)

PlanFn = Callable[[VideoMeta, np.random.Generator, VideoMeta | None], ClipPlan]
ExampleFn = Callable[[DecodedSample, np.random.Generator], Mapping[str, Any]]


def default_example(sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
    """Example builder for plain clips: frames shaped like the plan, plus targets and audio.

    Returns:
        ``frames`` uint8 ``[*plan.indices.shape, 3, H, W]``, ``video_label`` (the video's class index), each numeric
        plan target as a tensor under its own name (``label`` is the class for clip planners, the order or
        correspondence label for pretext planners), ``audio`` float32 ``[A, C, S]`` when the plan has audio windows,
        ``video_id``.
    """
    out: dict[str, Any] = {"frames": sample.take(sample.plan.indices), "video_label": torch.tensor(sample.meta.label)}
    for key, value in sample.plan.targets.items():
        if isinstance(value, int | float | np.integer | np.floating):
            out[key] = torch.tensor(value)
    if sample.audio:
        out["audio"] = torch.stack(sample.audio)
    out["video_id"] = sample.meta.video_id
    return out


def epoch_video_order(num_videos: int, seed: int, epoch: int) -> np.ndarray:
    """The per-epoch permutation of video indices that sample ``i`` reads at position ``i % num_videos``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), 0x5EED])).permutation(num_videos)


class VideoClipDataset(Dataset):
    """Map-style dataset over a list of videos with a planner and an example builder.

    Args:
        videos: the videos (see :mod:`.sources` for manifests, class folders and official split files).
        plan: ``plan(meta, rng, other) -> ClipPlan`` (a planner or ``Task.plan``).
        make_example: ``make_example(sample, rng) -> dict`` (``Task.make_example``); default :func:`default_example`.
        clips_per_epoch: epoch length in samples; default one per video.
        seed: run seed.
        uses_other_video: pass a second, different video to ``plan`` (AVC negatives).
        on_error: ``skip`` (log, count, replace) or ``raise``.
        max_attempts: consecutive failures tolerated for one sample before giving up with ``RuntimeError``.
        backend: decode backend for ``open_video``.
        device: decode device (``cpu``; CUDA decoding belongs in the main process, see :mod:`.plans`).
        audio_rate: sample rate of audio windows.
        missing_audio: ``raise`` (skip videos without audio when a plan asks for it) or ``silence``.
        reader_cache: readers kept open per worker (0: open per sample).
        prepare: optional ``prepare(meta) -> meta`` run once per video per process before planning (e.g. attach
            ground-truth boxes or a motion estimate); results are cached.
        shuffle_videos: map sample ``i`` through a per-epoch permutation of the videos (training); ``False`` maps it
            to video ``i % N`` (evaluation in manifest order, e.g. with :class:`~vidssl.data.planners.ConstantClips`).
    """

    def __init__(
        self,
        videos: Sequence[VideoMeta],
        plan: PlanFn,
        make_example: ExampleFn | None = None,
        *,
        clips_per_epoch: int | None = None,
        seed: int = 0,
        uses_other_video: bool = False,
        on_error: OnError = "skip",
        max_attempts: int = 10,
        backend: str = "auto",
        device: str = "cpu",
        audio_rate: int = 16000,
        missing_audio: MissingAudio = "raise",
        reader_cache: int = 0,
        prepare: Callable[[VideoMeta], VideoMeta] | None = None,
        shuffle_videos: bool = True,
    ) -> None:
        if not videos:
            raise ValueError("VideoClipDataset needs at least one video")
        if uses_other_video and len(videos) < 2:
            raise ValueError("uses_other_video needs at least two videos")
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.videos = list(videos)
        self.plan, self.make_example = plan, make_example or default_example
        self.clips_per_epoch = int(clips_per_epoch or len(self.videos))
        self.seed, self.epoch = int(seed), 0
        self.uses_other_video, self.on_error, self.max_attempts = uses_other_video, on_error, max_attempts
        self.audio_rate, self.missing_audio = audio_rate, missing_audio
        self.readers = ReaderCache(reader_cache, backend, device)
        self.prepare, self.shuffle_videos = prepare, shuffle_videos
        self._prepared: dict[str, VideoMeta] = {}
        self._bad: dict[str, SkipRecord] = {}  # per process: files known to fail
        self._order: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.clips_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose samples ``__getitem__`` returns (seeds and video order)."""
        self.epoch = int(epoch)

    def video_for(self, index: int) -> int:
        """Index into ``videos`` of sample ``index`` in the current epoch (first attempt)."""
        if not self.shuffle_videos:
            return index % len(self.videos)
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, epoch_video_order(len(self.videos), self.seed, self.epoch))
        return int(self._order[1][index % len(self.videos)])

    def _meta(self, vi: int) -> VideoMeta:
        meta = self.videos[vi]
        if self.prepare is None:
            return meta
        if meta.video_id not in self._prepared:
            self._prepared[meta.video_id] = self.prepare(meta)
        return self._prepared[meta.video_id]

    def _other(self, vi: int, rng: np.random.Generator) -> VideoMeta | None:
        if not self.uses_other_video:
            return None
        j = int(rng.integers(len(self.videos) - 1))
        return self._meta(j + (j >= vi))  # uniform over the other videos

    def load(self, index: int, attempt: int) -> tuple[DecodedSample, np.random.Generator]:
        """Decode sample ``index`` at ``attempt`` (raises ``DecodeStageError``); exposed for tests and tools."""
        rng = sample_rng(self.seed, self.epoch, index, attempt)
        vi = self.video_for(index) if attempt == 0 else int(rng.integers(len(self.videos)))
        meta = self._meta(vi)
        other = self._other(vi, rng)
        for m in (meta, other):
            if m is not None and m.video_id in self._bad:
                raise DecodeStageError(self._bad[m.video_id])
        try:
            sample = decode_plan(meta, self.plan, rng, readers=self.readers, other=other,
                                 audio_rate=self.audio_rate, missing_audio=self.missing_audio)
        except DecodeStageError as exc:
            self._bad[exc.record.video_id] = exc.record
            raise
        return sample, rng

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for an epoch of {len(self)} clips")
        skipped: list[SkipRecord] = []
        for attempt in range(self.max_attempts):
            try:
                sample, rng = self.load(index, attempt)
            except DecodeStageError as exc:
                if self.on_error == "raise":
                    raise  # names the file and the reason; the original error is its __cause__
                log.warning("skipping %s (%s): %s", exc.record.path, exc.record.reason, exc.record.message)
                skipped.append(exc.record)
                continue
            example = dict(self.make_example(sample, rng))
            example[SKIPPED_KEY] = tuple(skipped)
            return example
        reasons = "; ".join(f"{r.video_id}: {r.reason}" for r in skipped)
        raise RuntimeError(f"sample {index}: {self.max_attempts} videos in a row failed ({reasons})")
