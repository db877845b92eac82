"""Turning a plan into a :class:`~vidssl.tasks.base.DecodedSample`: open, reconcile metadata, decode, fetch audio.

Shared by the map-style dataset, the WebDataset reader and the main-process GPU path. Readers are opened here, in
the process that uses them (inside ``__getitem__`` or a worker's iterator), never in ``__init__``: a decoder created
before ``fork`` is shared by every worker and breaks (torchcodec #766; PEERS.md §6). The reader module is imported
lazily so that planning-only code never loads a decode backend.

Failures of this stage raise :class:`DecodeStageError` carrying a :class:`~vidssl.data.errors.SkipRecord`; datasets
turn it into a skip or a raise according to their ``on_error`` policy.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

import numpy as np
import torch

from vidssl.data.errors import SkipRecord, failure_reason
from vidssl.tasks.base import DecodedSample
from vidssl.types import AudioWindow, ClipPlan, VideoInfo, VideoMeta

__all__ = [
    "AudioFetch",
    "DecodeStageError",
    "ReaderCache",
    "data_stage",
    "decode_plan",
    "open_reader",
    "plan_or_skip",
    "reconcile_meta",
]

log = logging.getLogger(__name__)

MissingAudio = Literal["raise", "silence"]
AudioFetch = Callable[[float, float, int], torch.Tensor]


class DecodeStageError(RuntimeError):
    """A video failed to open, decode or plan; ``record`` says which and why, ``__cause__`` is the original error."""

    def __init__(self, record: SkipRecord) -> None:
        super().__init__(f"{record.video_id} ({record.reason}): {record.message}")
        self.record = record


@contextmanager
def data_stage(meta: VideoMeta) -> Iterator[None]:
    """Convert any exception inside the block into :class:`DecodeStageError` for ``meta``."""
    try:
        yield
    except DecodeStageError:
        raise
    except Exception as exc:  # every failure while decoding one file is that file's problem
        rec = SkipRecord(meta.video_id, meta.path, failure_reason(exc), f"{type(exc).__name__}: {exc}")
        raise DecodeStageError(rec) from exc


def open_reader(source: Any, backend: str = "auto", device: str = "cpu", name: str | None = None) -> Any:
    """``vidssl.data.open_video(source, backend, device, name=name)``, imported on first use.

    ``source`` is a path or the file's bytes (WebDataset members); ``name`` labels error messages.
    """
    from vidssl.data import open_video  # lazy: planners and transforms never need a decoder

    return open_video(source, backend=backend, device=device, name=name)


def reconcile_meta(meta: VideoMeta, info: VideoInfo) -> VideoMeta:
    """Fill or correct a meta from what the reader measured.

    Metadata from folders and split files has no frame count (``num_frames == 0``); manifests written by other tools
    can disagree with a decode (PEERS.md §5). The reader's count wins, so planned indices always exist.
    """
    if meta.num_frames == info.num_frames and meta.num_frames > 0 and (meta.width or not info.width):
        return meta
    width, height = info.display_size
    audio = info.audio[0] if info.audio else None
    return dataclasses.replace(
        meta,
        num_frames=info.num_frames,
        fps=info.fps if info.fps > 0 else meta.fps,
        width=width,
        height=height,
        start_time=info.start_time,
        has_audio=info.has_audio,
        audio_start=audio.start_time if audio else None,
        audio_duration=audio.duration if audio else None,
        keyframes=info.keyframes or meta.keyframes,
    )


class ReaderCache:
    """Per-process LRU of open readers (capacity 0: open and close around every use).

    The cache remembers the process id it was filled in; after a ``fork`` the child sees a different pid and starts
    empty instead of reusing the parent's decoders.
    """

    def __init__(self, capacity: int = 0, backend: str = "auto", device: str = "cpu",
                 opener: Callable[[Any, str, str, str | None], Any] = open_reader) -> None:
        self.capacity, self.backend, self.device, self.opener = capacity, backend, device, opener
        self._readers: OrderedDict[str, Any] = OrderedDict()
        self._pid = os.getpid()

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            self._readers = OrderedDict()  # inherited handles belong to the parent: drop, never close them here
            self._pid = os.getpid()

    @contextmanager
    def get(self, source: Any, key: str, name: str | None = None) -> Iterator[Any]:
        """Yield a reader for ``source`` (cached as ``key``, errors labelled ``name``); closed after unless cached."""
        self._check_pid()
        reader = self._readers.pop(key, None)
        if reader is None:
            reader = self.opener(source, self.backend, self.device, name)
        try:
            yield reader
        except BaseException:
            reader.close()  # a failing reader is not kept
            raise
        if self.capacity > 0:
            self._readers[key] = reader
            while len(self._readers) > self.capacity:
                self._readers.popitem(last=False)[1].close()
        else:
            reader.close()

    def close(self) -> None:
        """Close every cached reader of this process."""
        self._check_pid()
        while self._readers:
            self._readers.popitem()[1].close()


def plan_or_skip(plan_fn: Callable, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None) -> ClipPlan:
    """Run the planner: ``ValueError`` (infeasible for this video) is a data failure, anything else a bug."""
    try:
        return plan_fn(meta, rng, other)
    except ValueError as exc:
        rec = SkipRecord(meta.video_id, meta.path, "unplannable", f"{type(exc).__name__}: {exc}")
        raise DecodeStageError(rec) from exc


def _audio(
    window: AudioWindow,
    meta: VideoMeta,
    reader: Any,
    readers: ReaderCache,
    other: VideoMeta | None,
    other_source: Any,
    rate: int,
    missing: MissingAudio,
    sources: Mapping[str, AudioFetch] | None,
) -> torch.Tensor:
    """One audio window, from a precomputed source, this video's reader, or the other video's."""
    vid = window.video_id or meta.video_id
    owner = meta if vid == meta.video_id else other
    with data_stage(owner):
        if sources and vid in sources:
            return sources[vid](window.start_s, window.end_s, rate)
        if owner is meta:
            return reader.get_audio(window.start_s, window.end_s, rate, True, missing=missing)
        src = owner.path if other_source is None else other_source
        with readers.get(src, owner.video_id, owner.path) as other_reader:
            return other_reader.get_audio(window.start_s, window.end_s, rate, True, missing=missing)


def decode_plan(
    meta: VideoMeta,
    plan_fn: Callable[[VideoMeta, np.random.Generator, VideoMeta | None], ClipPlan] | ClipPlan,
    rng: np.random.Generator,
    *,
    readers: ReaderCache,
    source: Any = None,
    other: VideoMeta | None = None,
    other_source: Any = None,
    audio_rate: int = 16000,
    missing_audio: MissingAudio = "raise",
    audio_sources: Mapping[str, AudioFetch] | None = None,
) -> DecodedSample:
    """Open ``meta``'s video, plan on its measured metadata, decode the plan's frames and audio.

    Args:
        meta: the video (its ``path`` is opened unless ``source`` is given, e.g. bytes from a shard).
        plan_fn: the planner, called after opening so it sees the reconciled meta; or a ready plan (GPU path).
        rng: the sample's generator (the planner draws from it).
        readers: where readers come from.
        source: what to open instead of ``meta.path`` (e.g. the file's bytes).
        other: the second video for plans whose audio windows name it.
        other_source: what to open for ``other`` instead of its path.
        audio_rate: sample rate of returned audio.
        missing_audio: ``raise`` makes a video without audio a failure; ``silence`` returns zeros.
        audio_sources: ``video_id -> fetch(start_s, end_s, rate)`` for videos whose audio comes from elsewhere than
            their container (precomputed ``wav`` in a shard); used before opening any reader for that audio.

    Returns:
        The decoded sample (frames: the plan's unique indices, sorted).

    Raises:
        DecodeStageError: opening, planning (``ValueError``, e.g. a video too short for the task) or decoding failed.
            Other planner exceptions are bugs and propagate unchanged.
    """
    with ExitStack() as stack:
        with data_stage(meta):
            reader = stack.enter_context(readers.get(meta.path if source is None else source, meta.video_id,
                                                     meta.path))
            meta = reconcile_meta(meta, reader.info)
            if meta.num_frames <= 0:
                empty = ValueError("the video decodes to 0 frames")
                empty.reason = "no_frames"  # type: ignore[attr-defined]
                raise empty
        plan = plan_fn if isinstance(plan_fn, ClipPlan) else plan_or_skip(plan_fn, meta, rng, other)
        known = {None, meta.video_id} | ({other.video_id} if other is not None else set())
        stray = [w.video_id for w in plan.audio if w.video_id not in known]
        if stray:  # a planner bug, not a bad file
            raise RuntimeError(f"{meta.video_id}: plan asks for audio of {stray} but no such other video was given")
        with data_stage(meta):
            frames = reader.get_frames(plan.unique_indices())
            audio = [_audio(window, meta, reader, readers, other, other_source, audio_rate, missing_audio,
                            audio_sources) for window in plan.audio]
    return DecodedSample(meta=meta, plan=plan, frames=frames, audio=audio, other=other)
