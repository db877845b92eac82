"""The Task contract: what the trainer needs from a pretext (or supervised) task.

A task composes a planner, an example builder, a backbone, a head and a loss (no deep inheritance)::

    meta ─plan(meta, rng, other)─▶ ClipPlan ─reader─▶ DecodedSample ─make_example(sample, rng)─▶ dict of tensors
         ─collate─▶ batch ─task(batch)─▶ (loss, diagnostics)

``plan`` and ``make_example`` run in DataLoader workers (CPU, numpy/torch uint8); ``forward`` runs in the training
process on the training device (float conversion, normalisation and batched GPU augmentation happen there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from vidssl.types import ClipPlan, FrameBatch, VideoMeta

__all__ = ["ControlSpec", "DecodedSample", "PretextBenchmarkSpec", "Task", "TaskOutput"]


@dataclass
class DecodedSample:
    """A plan after decoding: the frames and audio it asked for.

    Attributes:
        meta: the planned video.
        plan: the plan that was decoded.
        frames: the plan's unique frame indices, decoded once, sorted: ``uint8 [U, 3, H, W]`` with pts.
        audio: one ``float32 [C, S]`` waveform per ``plan.audio`` window, in order.
        other: the other video's meta when the plan used one (AVC negatives), else ``None``.
    """

    meta: VideoMeta
    plan: ClipPlan
    frames: FrameBatch
    audio: list[torch.Tensor] = field(default_factory=list)
    other: VideoMeta | None = None

    def take(self, indices: np.ndarray | Sequence[int]) -> torch.Tensor:
        """Frames for ``indices`` (any shape ``S``) from the decoded unique frames: ``uint8 [*S, 3, H, W]``."""
        idx = np.asarray(indices, dtype=np.int64)
        have = self.frames.indices.numpy()
        pos = np.searchsorted(have, idx.ravel())
        if np.any(pos >= len(have)) or np.any(have[np.minimum(pos, len(have) - 1)] != idx.ravel()):
            raise KeyError(f"{self.meta.video_id}: frames {idx.ravel().tolist()} were not all decoded")
        out = self.frames.data[torch.from_numpy(pos)]
        return out.reshape(*idx.shape, *out.shape[1:])


@dataclass
class TaskOutput:
    """What ``Task.forward`` returns.

    Attributes:
        loss: scalar tensor to backpropagate.
        diagnostics: floats to log (accuracy, balanced accuracy, ...); keys are stable across steps.
        counts: how many examples the diagnostics average over (for exact epoch averages under DDP).
    """

    loss: torch.Tensor
    diagnostics: dict[str, float]
    counts: int = 0


@runtime_checkable
class Task(Protocol):
    """A pretext or supervised task. Implementations are ``nn.Module`` so DDP can wrap them.

    Attributes:
        name: registry name (``shuffle_and_learn``...).
        backbone: the module whose weights are the point of pretraining (saved for fine-tuning and tracking).
        uses_other_video: whether ``plan`` wants a second video's meta (e.g. AVC negatives).
    """

    name: str
    backbone: nn.Module
    uses_other_video: bool

    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Choose frames and audio for one example (pure; never decodes)."""
        ...

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> Mapping[str, Any]:
        """Build model inputs and targets from decoded frames (CPU, uint8 in, tensors out; one draw per tuple)."""
        ...

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Compute the loss and diagnostics for a collated batch already on the training device."""
        ...


@dataclass(frozen=True)
class ControlSpec:
    """How to make a pretext task unsolvable, for the shortcut probe (PAPERS.md §7: a control must sit at chance).

    Attributes:
        synth_flags: flags for ``vidssl-data synth`` that build a control corpus (e.g. ``("--static",)``);
            empty when the control is made by the task itself.
        overrides: recipe overrides that switch the task to its control (e.g. ``("task.control=foreign",)``).
        description: one line for reports ("static videos: no temporal signal").
    """

    synth_flags: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class PretextBenchmarkSpec:
    """What ``benchmarks/pretext.py`` and the quality benchmark need to know about a pretext task.

    Each pretext task module exposes one as ``BENCHMARK``.

    Attributes:
        metric: diagnostics key of the held-out pretext metric (e.g. ``"balanced_acc"``).
        chance: the metric's chance level as a number, or the diagnostics key that measures it on the same data
            (e.g. colorization's majority-colour baseline).
        control: how to build the unsolvable control.
        recipe: the tiny recipe, relative to the repository root.
        synth_flags: flags for ``vidssl-data synth`` of the corpus the task pretrains on in the benchmarks (empty =
            the default corpus). The control corpus is made with these flags plus ``control.synth_flags``, so the
            control differs from the trained run only in what makes the task unsolvable.
        quick_overrides: recipe overrides added in ``benchmarks/pretext.py --quick`` (a 120-video corpus and 4
            epochs) for a task that needs more steps there, e.g. ``("run.epochs=8",)``; also given to its control.
        quick_videos: minimum size of the task's corpora in ``--quick`` (0 = the mode's); for a task that
            memorises a small corpus, best combined with its own ``synth_flags`` so the shared corpus stays small.
    """

    metric: str
    chance: float | str
    control: ControlSpec
    recipe: str
    synth_flags: tuple[str, ...] = ()
    quick_overrides: tuple[str, ...] = ()
    quick_videos: int = 0

    @property
    def corpus_flags(self) -> tuple[str, ...]:
        """Synth flags of the corpus the task trains on (sorted; ``()`` = the default corpus)."""
        return tuple(sorted(self.synth_flags))

    @property
    def control_flags(self) -> tuple[str, ...]:
        """Synth flags of its control corpus (sorted; equal to :attr:`corpus_flags` for an override-only control)."""
        return tuple(sorted({*self.synth_flags, *self.control.synth_flags}))


def as_module(task: Task) -> nn.Module:
    """Check that ``task`` is an ``nn.Module`` (needed for DDP, checkpoints and ``.to(device)``)."""
    if not isinstance(task, nn.Module):
        raise TypeError(f"task {getattr(task, 'name', task)!r} must be an nn.Module")
    return task
