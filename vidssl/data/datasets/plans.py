"""The GPU decode path: workers plan, the training process decodes.

CUDA decoders cannot be created in forked DataLoader workers (torchcodec #566, torchvision #8072, decord #76), and
on small videos CPU decoding in workers often wins anyway (PEERS.md §4), so both paths exist:

    plans = PlanDataset(videos, task.plan, clips_per_epoch=..., seed=0)
    loader = DataLoader(plans, batch_size=32, shuffle=True, num_workers=4, collate_fn=collate_plans)
    for plan_batch in loader:                                   # CPU workers: planning (and probing) only
        batch = decode_plan_batch(plan_batch, task.make_example, device="cuda")   # training process
        counter.update(batch)

A sample yields the same plan, and the same example, as :class:`VideoClipDataset` would for that index and epoch.
When a video fails in the decode step here, it is dropped from the batch (recorded under ``"skipped"``) rather than
replaced, so a batch can come out smaller than ``batch_size``.
"""

from __future__ import annotations

import logging
from typing import Any

from vidssl.data.collate import PlanBatch, PlanItem, collate_examples
from vidssl.data.datasets.clip_dataset import ExampleFn, VideoClipDataset, default_example
from vidssl.data.datasets.decoding import (
    DecodeStageError,
    MissingAudio,
    ReaderCache,
    data_stage,
    decode_plan,
    plan_or_skip,
    reconcile_meta,
)
from vidssl.data.errors import SKIPPED_KEY, OnError, SkipRecord
from vidssl.data.seeding import sample_rng
from vidssl.types import VideoMeta

__all__ = ["PlanDataset", "decode_plan_batch"]

log = logging.getLogger(__name__)


def _probe(meta: VideoMeta) -> VideoMeta:
    """Fill a meta without a frame count by probing the file (``vidssl.data.probe_video``)."""
    from vidssl.data import probe_video  # lazy: backends load only where needed

    return reconcile_meta(meta, probe_video(meta.path))


class PlanDataset(VideoClipDataset):
    """Like :class:`VideoClipDataset` but ``__getitem__`` returns a :class:`PlanItem` and never decodes frames.

    Videos without a frame count are probed once per worker; probe failures are skipped like decode failures.
    Takes the same arguments (``make_example``, decode and audio settings are unused here).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._probed: dict[str, VideoMeta] = {}  # per process: measured metas of videos without frame counts

    def _planned(self, index: int, attempt: int) -> PlanItem:
        rng = sample_rng(self.seed, self.epoch, index, attempt)
        vi = self.video_for(index) if attempt == 0 else int(rng.integers(len(self.videos)))
        meta = self._meta(vi)
        other = self._other(vi, rng)
        for m in (meta, other):
            if m is not None and m.video_id in self._bad:
                raise DecodeStageError(self._bad[m.video_id])
        try:
            if meta.num_frames <= 0:
                if meta.video_id not in self._probed:
                    with data_stage(meta):
                        self._probed[meta.video_id] = _probe(meta)
                meta = self._probed[meta.video_id]
            plan = plan_or_skip(self.plan, meta, rng, other)
        except DecodeStageError as exc:
            self._bad[exc.record.video_id] = exc.record
            raise
        return PlanItem(index, self.epoch, meta, plan, rng, other)

    def __getitem__(self, index: int) -> PlanItem:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for an epoch of {len(self)} clips")
        skipped: list[SkipRecord] = []
        for attempt in range(self.max_attempts):
            try:
                item = self._planned(index, attempt)
            except DecodeStageError as exc:
                if self.on_error == "raise":
                    raise
                log.warning("skipping %s (%s): %s", exc.record.path, exc.record.reason, exc.record.message)
                skipped.append(exc.record)
                continue
            item.skipped = tuple(skipped)
            return item
        reasons = "; ".join(f"{r.video_id}: {r.reason}" for r in skipped)
        raise RuntimeError(f"sample {index}: {self.max_attempts} videos in a row failed ({reasons})")


def decode_plan_batch(
    batch: PlanBatch,
    make_example: ExampleFn | None = None,
    *,
    device: str = "cpu",
    backend: str = "auto",
    on_error: OnError = "skip",
    audio_rate: int = 16000,
    missing_audio: MissingAudio = "raise",
    readers: ReaderCache | None = None,
) -> dict[str, Any]:
    """Decode a batch of plans in this process (on ``device``) and collate the examples.

    Returns:
        The collated batch (see :func:`vidssl.data.collate.collate_examples`) plus ``sample_index`` (long ``[B]``);
        failed items are dropped and recorded under ``"skipped"`` together with the records the workers carried.

    Raises:
        DecodeStageError: a video failed and ``on_error == "raise"``.
        RuntimeError: every item of the batch failed.
    """
    readers = readers or ReaderCache(0, backend, device)
    examples, skipped = [], list(batch.skipped)
    for item in batch.items:
        try:
            sample = decode_plan(item.meta, item.plan, item.rng, readers=readers, other=item.other,
                                 audio_rate=audio_rate, missing_audio=missing_audio)
        except DecodeStageError as exc:
            if on_error == "raise":
                raise
            log.warning("skipping %s (%s): %s", exc.record.path, exc.record.reason, exc.record.message)
            skipped.append(exc.record)
            continue
        example = dict((make_example or default_example)(sample, item.rng))
        example["sample_index"] = item.index  # which samples survived, since failed ones are dropped
        examples.append({**example, SKIPPED_KEY: ()})
    if not examples:
        raise RuntimeError(f"every item of the batch failed to decode ({len(skipped)} failures)")
    out = collate_examples(examples)
    out[SKIPPED_KEY] = tuple(skipped)
    return out
