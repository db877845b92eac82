"""Iterable dataset over WebDataset tar shards written by ``vidssl-data shard``.

Shard contract (``data_tools`` writes it): ``shard-00000.tar`` files, one sample per video with members
``<key>.<ext>`` (the video bytes under their original extension: mp4, avi, mkv, webm...), ``<key>.json`` (the
manifest row as a dict: ``video_id``, ``label_index``, ``num_frames``, ``fps``...) and optionally ``<key>.wav``
(16 kHz mono audio whose sample 0 is at the row's ``audio_start``, or ``wav_start`` when given); an optional
``shard-00000.index.json`` lists keys and frame counts.

Splitting: consumers are (rank, worker) pairs, ``rank`` and ``world_size`` from ``torch.distributed`` when it is
initialised. With at least as many shards as consumers, consumer ``c`` of ``C`` reads shards ``c, c + C, ...``
(shard order shuffled per epoch when ``shuffle_shards``); with fewer shards every consumer reads all of them and
keeps samples ``c, c + C, ...``. Either way each sample is read by exactly one consumer per epoch. Shard sizes decide
how many samples each rank sees; with DDP use shards of equal size (``vidssl-data shard`` does) or a fixed number
of steps per epoch.

Every random choice for a video comes from ``sample_rng(seed, epoch, crc32(video_id), clip)``, so the example does
not depend on which worker read it. Tar members are grouped by splitting at the *last* dot: keys made from video
ids often contain dots (``clips/a.mp4`` → key ``clips_a.mp4``), which webdataset's first-dot rule would break.
Failures (a corrupt member, a damaged tar) are skipped and their records ride on the next example from the same
worker (or the last one, for failures at the end of the stream).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tarfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from vidssl.data.datasets.clip_dataset import ExampleFn, PlanFn, default_example
from vidssl.data.datasets.decoding import DecodeStageError, MissingAudio, ReaderCache, decode_plan
from vidssl.data.datasets.sources import VIDEO_EXTENSIONS
from vidssl.data.datasets.wav import parse_wav
from vidssl.data.errors import SKIPPED_KEY, OnError, SkipRecord
from vidssl.data.manifest import row_to_meta
from vidssl.data.seeding import sample_rng, stable_hash
from vidssl.types import VideoMeta

__all__ = ["ShardSample", "WebDatasetClips", "consumer_slot", "iter_shard_samples", "list_shards"]

log = logging.getLogger(__name__)

_VIDEO_EXTS = tuple(e.lstrip(".") for e in VIDEO_EXTENSIONS)
ShardSample = dict[str, Any]  # "__key__", "__shard__", and one bytes value per member extension


def list_shards(shards: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    """Shard paths from a folder, a glob pattern or a list (sorted, ``*.index.json`` excluded)."""
    if isinstance(shards, str | os.PathLike):
        s = os.fspath(shards)
        paths = sorted(glob.glob(os.path.join(s, "*.tar"))) if os.path.isdir(s) else sorted(glob.glob(s))
    else:
        paths = [os.fspath(p) for p in shards]
    if not paths:
        raise FileNotFoundError(f"no tar shards found at {shards!r}")
    return paths


def consumer_slot() -> tuple[int, int]:
    """``(consumer id, number of consumers)`` over DDP ranks × DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = get_worker_info()
    wid, nworkers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * nworkers + wid, world * nworkers


def iter_shard_samples(path: str) -> Iterator[ShardSample]:
    """Samples of one tar, grouping consecutive members by key (split at the last dot)."""
    current: ShardSample | None = None
    with tarfile.open(path, mode="r|*") as tar:  # streaming mode: no seeking, works on pipes
        for member in tar:
            if not member.isfile():
                continue
            base = os.path.basename(member.name)
            if base.startswith(".") or "." not in base:
                continue
            key, ext = member.name.rsplit(".", 1)
            f = tar.extractfile(member)
            data = f.read() if f is not None else b""
            if len(data) != member.size:  # the tar was cut inside this member
                raise tarfile.ReadError(f"{path}: member {member.name} truncated ({len(data)} of {member.size} bytes)")
            if current is None or current["__key__"] != key:
                if current is not None:
                    yield current
                current = {"__key__": key, "__shard__": path}
            current[ext.lower()] = data
    if current is not None:
        yield current


class WebDatasetClips(IterableDataset):
    """Planned, decoded examples streamed from tar shards.

    Args:
        shards: folder, glob or list of ``.tar`` files.
        plan: ``plan(meta, rng, other) -> ClipPlan``.
        make_example: ``make_example(sample, rng) -> dict``; default :func:`default_example`.
        seed: run seed.
        clips_per_video: examples per video per epoch (the video is decoded once per example).
        uses_other_video: pass the previous sample of the same stream as ``other`` (AVC negatives).
        shuffle_shards: shuffle shard order per epoch (deterministic from ``seed`` and epoch).
        on_error: ``skip`` or ``raise``.
        backend: decode backend.
        audio_rate: audio sample rate.
        missing_audio: ``raise`` or ``silence`` for videos without audio.
    """

    def __init__(
        self,
        shards: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        plan: PlanFn,
        make_example: ExampleFn | None = None,
        *,
        seed: int = 0,
        clips_per_video: int = 1,
        uses_other_video: bool = False,
        shuffle_shards: bool = True,
        on_error: OnError = "skip",
        backend: str = "auto",
        audio_rate: int = 16000,
        missing_audio: MissingAudio = "raise",
    ) -> None:
        super().__init__()
        self.shards = list_shards(shards)
        self.plan, self.make_example = plan, make_example or default_example
        self.seed, self.epoch, self.clips_per_video = int(seed), 0, int(clips_per_video)
        self.uses_other_video, self.shuffle_shards, self.on_error = uses_other_video, shuffle_shards, on_error
        self.backend, self.audio_rate, self.missing_audio = backend, audio_rate, missing_audio

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (shard order and per-sample seeds)."""
        self.epoch = int(epoch)

    def num_samples(self) -> int | None:
        """Videos in all shards according to their ``.index.json`` files (``None`` when one is missing)."""
        total = 0
        for shard in self.shards:
            index = shard[: -len(".tar")] + ".index.json"
            if not os.path.isfile(index):
                return None
            with open(index) as f:
                data = json.load(f)
            keys = data.get("keys", data) if isinstance(data, dict) else data
            total += len(keys)
        return total * self.clips_per_video

    def _my_samples(self) -> Iterator[ShardSample | SkipRecord]:
        consumer, consumers = consumer_slot()
        order = list(self.shards)
        if self.shuffle_shards:
            shard_rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, 0x5A4D]))
            perm = shard_rng.permutation(len(order))
            order = [order[i] for i in perm]
        by_shard = len(order) >= consumers
        shards = order[consumer::consumers] if by_shard else order
        position = 0
        for shard in shards:
            try:
                for sample in iter_shard_samples(shard):
                    mine = by_shard or position % consumers == consumer
                    position += 1
                    if mine:
                        yield sample
            except (tarfile.TarError, OSError, EOFError) as exc:  # damaged shard: keep what was read, go on
                if self.on_error == "raise":
                    raise
                yield SkipRecord(os.path.basename(shard), shard, "corrupt_shard", f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _meta(sample: ShardSample) -> tuple[VideoMeta, bytes | None, Any]:
        key = sample["__key__"]
        if "json" not in sample:
            raise ValueError(f"{sample['__shard__']}:{key}: sample has no json member")
        row = json.loads(sample["json"])
        ext = next((e for e in _VIDEO_EXTS if e in sample), None)
        row.setdefault("video_id", key)
        row["path"] = f"{sample['__shard__']}:{key}.{ext}"
        meta = row_to_meta(row, root="/")
        wav = None
        if "wav" in sample:
            start = float(row.get("wav_start", row.get("audio_start", 0.0)) or 0.0)
            wav = parse_wav(sample["wav"], start)
        return meta, (sample[ext] if ext else None), wav

    def _example(self, sample: ShardSample, other: ShardSample | None, clip: int,
                 readers: ReaderCache) -> dict[str, Any]:
        meta, data, wav = self._meta(sample)
        if data is None:
            err = ValueError(f"sample has no video member (one of {', '.join(_VIDEO_EXTS)})")
            err.reason = "no_video_member"  # type: ignore[attr-defined]
            raise DecodeStageError(SkipRecord(meta.video_id, meta.path, "no_video_member", str(err)))
        rng = sample_rng(self.seed, self.epoch, stable_hash(meta.video_id), clip)
        other_meta, other_data, audio_sources = None, None, {}
        if wav is not None:
            audio_sources[meta.video_id] = wav.fetch
        if other is not None:
            other_meta, other_data, other_wav = self._meta(other)
            if other_wav is not None:
                audio_sources[other_meta.video_id] = other_wav.fetch
        decoded = decode_plan(
            meta, self.plan, rng, readers=readers, source=data, other=other_meta,
            other_source=other_data, audio_rate=self.audio_rate,
            missing_audio=self.missing_audio, audio_sources=audio_sources,
        )
        return dict(self.make_example(decoded, rng))

    def _paired(self) -> Iterator[tuple[ShardSample | SkipRecord, ShardSample | None]]:
        """Each sample with its 'other' (the previous sample; the first gets the second)."""
        if not self.uses_other_video:
            for s in self._my_samples():
                yield s, None
            return
        first, prev = None, None
        for s in self._my_samples():
            if isinstance(s, SkipRecord):
                yield s, None
                continue
            if prev is None:
                first = prev = s
                continue
            if first is not None:
                yield first, s
                first = None
            yield s, prev
            prev = s
        if first is not None:
            yield first, None  # a stream with one video has no other

    def __iter__(self) -> Iterator[dict[str, Any]]:
        readers = ReaderCache(0, self.backend, "cpu")
        held: dict[str, Any] | None = None  # one example held back so late failures can ride on it
        pending: list[SkipRecord] = []
        for sample, other in self._paired():
            if isinstance(sample, SkipRecord):
                pending.append(sample)
                continue
            for clip in range(self.clips_per_video):
                try:
                    example = self._example(sample, other, clip, readers)
                except DecodeStageError as exc:
                    if self.on_error == "raise":
                        raise
                    log.warning("skipping %s (%s): %s", exc.record.path, exc.record.reason, exc.record.message)
                    pending.append(exc.record)
                    break  # the other clips of a broken video would fail alike
                if held is not None:
                    yield held
                example[SKIPPED_KEY] = tuple(pending)
                pending = []
                held = example
            if pending and held is not None:
                held[SKIPPED_KEY] = held[SKIPPED_KEY] + tuple(pending)
                pending = []
        if held is not None:
            held[SKIPPED_KEY] = held[SKIPPED_KEY] + tuple(pending)
            yield held
        elif pending:
            log.warning("worker stream ended with %d failures and no example to report them on", len(pending))
