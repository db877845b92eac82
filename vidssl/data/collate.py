"""Collate functions: examples (dicts of tensors) into batches, and plans (for decoding in the main process).

``collate_examples`` stacks tensors, numbers and numpy arrays like ``default_collate``, keeps strings and ragged
tensors as lists, and concatenates the per-example skip records (:data:`vidssl.data.errors.SKIPPED_KEY`) so a
:class:`~vidssl.data.errors.FailureCounter` in the main process sees every failure a worker skipped over.

``collate_plans`` is for the GPU decode path: workers only plan, the DataLoader yields :class:`PlanBatch` es, and the
training process decodes them on the GPU (CUDA decoders cannot live in forked workers: torchcodec #566,
torchvision #8072, decord #76).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from vidssl.data.errors import SKIPPED_KEY, SkipRecord
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["PlanBatch", "PlanItem", "collate_examples", "collate_plans"]


def _collate_values(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, Mapping):
        return {k: _collate_values([v[k] for v in values]) for k in first}
    if torch.is_tensor(first):
        if all(v.shape == first.shape for v in values):
            return torch.stack(values)
        return list(values)  # ragged (e.g. variable-length audio): the task decides
    if isinstance(first, np.ndarray):
        return _collate_values([torch.from_numpy(np.ascontiguousarray(v)) for v in values])
    if isinstance(first, bool | int | float | np.integer | np.floating):
        return default_collate(values)
    return list(values)  # strings, None, objects


def collate_examples(examples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Batch examples from a dataset.

    Args:
        examples: dicts with identical keys (from ``make_example`` plus ``"skipped"``).

    Returns:
        Dict with stacked tensors ``[B, ...]``, lists for strings and ragged tensors, and ``"skipped"``: a flat
        tuple of every :class:`SkipRecord` of the batch.
    """
    if not examples:
        raise ValueError("cannot collate an empty batch")
    keys = [k for k in examples[0] if k != SKIPPED_KEY]
    missing = [k for ex in examples for k in keys if k not in ex]
    if missing:
        raise KeyError(f"examples have different keys (missing {sorted(set(missing))})")
    out = {k: _collate_values([ex[k] for ex in examples]) for k in keys}
    out[SKIPPED_KEY] = tuple(rec for ex in examples for rec in ex.get(SKIPPED_KEY, ()))
    return out


@dataclass
class PlanItem:
    """One planned (not decoded) sample, as a plan-only dataset returns it.

    Attributes:
        index: sample index in the epoch.
        epoch: the epoch.
        meta: the video (reconciled when it was probed).
        plan: what to decode.
        rng: the sample's generator after planning; ``make_example`` continues from it, so the GPU path builds the
            same example as the CPU path.
        other: the second video, when the plan uses one.
        skipped: failures skipped over before this sample (probing errors).
    """

    index: int
    epoch: int
    meta: VideoMeta
    plan: ClipPlan
    rng: np.random.Generator
    other: VideoMeta | None = None
    skipped: tuple[SkipRecord, ...] = field(default_factory=tuple)


@dataclass
class PlanBatch:
    """A batch of plans.

    Attributes:
        items: the planned samples.
        indices: int64 ``[B, *S]`` stacked plan indices when every plan has the same shape ``S``, else ``None``.
    """

    items: list[PlanItem]
    indices: torch.Tensor | None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def skipped(self) -> tuple[SkipRecord, ...]:
        """Every skip record of the batch (feed to ``FailureCounter.update``)."""
        return tuple(rec for item in self.items for rec in item.skipped)


def collate_plans(items: Sequence[PlanItem]) -> PlanBatch:
    """Keep plans as a list (they differ in shape and carry metadata); stack indices when shapes agree."""
    items = list(items)
    shapes = {it.plan.indices.shape for it in items}
    indices = torch.from_numpy(np.stack([it.plan.indices for it in items])) if len(shapes) == 1 else None
    return PlanBatch(items, indices)
