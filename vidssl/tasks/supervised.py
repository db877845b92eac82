"""Supervised action classification: the fine-tuning task and the "supervised pretraining" baseline.

Training draws one random clip per example (``data.num_frames`` frames every ``data.frame_stride``), resizes the short
side to ``data.resize``, takes a random ``data.crop_size`` crop (or a random-resized crop) and optionally flips it;
evaluation (:class:`EvalClips`, from :meth:`ActionClassification.eval_view`) takes ``K`` uniformly spaced clips per
video with a centre crop and averages the clip logits (VCOP protocol, PAPERS.md §6.1)::

    clip uint8 [B, T, 3, H, W] ─normalise─▶ ClipEncoder(backbone) ─▶ [B, D] ─ClassificationHead─▶ logits [B, C]

A 2D backbone sees every frame (shared weights) and ``temporal_pooling="concat"`` keeps frame order, which the
synthetic corpus needs (its classes come in time-reversed pairs that mean pooling cannot tell apart); a 3D backbone
gets the clip permuted to ``[B, 3, T, H, W]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from vidssl.data.planners.clips import ConstantClips, RandomClip
from vidssl.data.transforms.clip import CenterCrop, ColorJitter, RandomHorizontalFlip, RandomResizedCrop, Resize
from vidssl.data.transforms.color import normalize
from vidssl.losses.classification import cross_entropy_with_diagnostics
from vidssl.models import ClipEncoder, create_backbone
from vidssl.models.backbones.base import Backbone
from vidssl.models.heads.classification import ClassificationHead
from vidssl.tasks.base import DecodedSample, TaskOutput
from vidssl.train.config_schema import ConfigError, opt
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["ActionClassification", "EvalClips", "TaskConfig", "build_task"]


@dataclass
class TaskConfig:
    """Options of the ``supervised`` task (the ``task:`` section besides ``name``)."""

    temporal_pooling: Literal["concat", "mean", "max"] = opt(
        "concat", "how per-time features are combined: concat keeps order (needed when classes differ only in "
        "direction, as in the synthetic corpus); mean is the usual choice for 3D backbones on real data"
    )
    temporal_kernel: int = opt(0, "odd k > 0 adds a temporal Conv1d before pooling (lets mean pooling see motion)")
    spatial_grid: int = opt(
        1, "pool each frame's feature map to a g x g grid instead of one vector; 2D trunks need g >= 2 to see where "
        "objects are (left vs right motion), 1 = global pooling (the usual choice for 3D backbones)"
    )
    dropout: float = opt(0.0, "dropout before the classifier (VCOP fine-tuning: 0.5)")
    label_smoothing: float = opt(0.0, "cross-entropy label smoothing (0.1 helps large-class datasets)")
    crop_scale: tuple[float, float] = opt(
        (1.0, 1.0), "(1, 1) = plain random crop of crop_size (VCOP); else random-resized crop with this area range"
    )
    hflip: bool = opt(True, "random horizontal flip; turn off when left/right motion defines the class")
    color_jitter: float = opt(0.0, "brightness/contrast/saturation jitter strength (0 = off)")


class ActionClassification(nn.Module):
    """Clip classifier implementing the :class:`~vidssl.tasks.base.Task` contract.

    Args:
        backbone: a registry backbone (2D ``BCHW`` or 3D ``BCTHW``); saved as ``checkpoint["backbone"]``.
        num_classes: output classes.
        num_frames: frames per clip.
        frame_stride: frame step inside a clip.
        resize: short side before cropping (0 = keep).
        crop_size: square crop side.
        mean: per-channel normalisation mean (RGB in [0, 1]).
        std: per-channel normalisation std.
        options: the task options.
        eval_clips: clips per video for evaluation views.
    """

    name = "supervised"
    uses_other_video = False

    def __init__(
        self,
        backbone: Backbone,
        *,
        num_classes: int,
        num_frames: int,
        frame_stride: int = 1,
        resize: int = 0,
        crop_size: int = 64,
        mean: tuple[float, ...] = (0.5, 0.5, 0.5),
        std: tuple[float, ...] = (0.5, 0.5, 0.5),
        options: TaskConfig | None = None,
        eval_clips: int = 10,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}; set data.num_classes or check the labels")
        self.options = options or TaskConfig()
        o = self.options
        self.encoder = ClipEncoder(backbone, pooling=o.temporal_pooling, num_frames=num_frames,
                                   temporal_kernel=o.temporal_kernel, spatial_grid=o.spatial_grid)
        self.head = ClassificationHead(self.encoder.num_features, num_classes, dropout=o.dropout)
        self.num_classes, self.num_frames, self.frame_stride = num_classes, num_frames, frame_stride
        self.resize, self.crop_size, self.eval_clips = resize, crop_size, eval_clips
        self.mean, self.std = tuple(mean), tuple(std)
        self._train_planner = RandomClip(num_frames, frame_stride)

    @property
    def backbone(self) -> nn.Module:
        """The registry backbone inside the clip encoder (what pretraining and fine-tuning exchange)."""
        return self.encoder.backbone

    # ============ worker side: planning and example building ============
    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """One random clip (training)."""
        return self._train_planner(meta, rng)

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """Random crop (and flip, jitter) of the planned clip, with its label: uint8 ``[T, 3, crop, crop]``."""
        frames = sample.take(sample.plan.indices)  # [T, 3, H, W]
        if self.resize:
            frames = Resize(self.resize)(frames)
        return {
            "clip": self._augment(frames, rng).contiguous(),
            "label": torch.tensor(int(sample.meta.label), dtype=torch.int64),
            "video_id": sample.meta.video_id,
        }

    def _augment(self, frames: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        o, c = self.options, self.crop_size
        if o.crop_scale == (1.0, 1.0):
            h, w = frames.shape[-2:]
            if h < c or w < c:
                frames = Resize(c)(frames)
                h, w = frames.shape[-2:]
            top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
            frames = frames[..., top : top + c, left : left + c]
        else:
            frames = RandomResizedCrop(c, scale=o.crop_scale)(frames, rng)
        if o.hflip:
            frames = RandomHorizontalFlip()(frames, rng)
        if o.color_jitter > 0:
            frames = ColorJitter(o.color_jitter, o.color_jitter, o.color_jitter, 0.0, p=0.8)(frames, rng)
        return frames

    def eval_view(self, num_clips: int | None = None) -> EvalClips:
        """Planner and example builder for evaluation datasets (K clips per video, centre crop)."""
        return EvalClips(num_clips or self.eval_clips, self.num_frames, self.frame_stride, self.resize, self.crop_size)

    # ============ device side ============
    def clip_logits(self, clip: torch.Tensor) -> torch.Tensor:
        """Logits of every clip: ``uint8 [B, T, 3, H, W] -> [B, C]`` or ``[B, K, T, 3, H, W] -> [B, K, C]``."""
        lead = clip.shape[:-4]
        x = normalize(clip.flatten(0, len(lead) - 1), self.mean, self.std)
        return self.head(self.encoder(x)).reshape(*lead, -1)

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Cross-entropy on clip logits (multi-clip examples: logits averaged per video first)."""
        logits = self.clip_logits(batch["clip"])
        if logits.ndim == 3:
            logits = logits.mean(dim=1)
        loss, diag = cross_entropy_with_diagnostics(logits, batch["label"],
                                                    label_smoothing=self.options.label_smoothing)
        return TaskOutput(loss=loss, diagnostics=diag, counts=int(logits.shape[0]))


@dataclass(frozen=True)
class EvalClips:
    """Evaluation sampling for any clip model: ``num_clips`` uniformly spaced clips per video, centre crop.

    Used as ``plan`` / ``make_example`` of an evaluation dataset (classification and retrieval); one example is one
    whole video: ``{"clip": uint8 [K, T, 3, crop, crop], "label", "video_id"}``.
    """

    num_clips: int
    num_frames: int
    frame_stride: int = 1
    resize: int = 0
    crop_size: int = 64
    uses_other_video: bool = False

    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """K evenly spaced clips (deterministic; ``rng`` unused)."""
        return ConstantClips(self.num_clips, self.num_frames, self.frame_stride)(meta, rng)

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """Resize, centre crop, label and id."""
        frames = sample.take(sample.plan.indices)  # [K, T, 3, H, W]
        if self.resize:
            frames = Resize(self.resize)(frames)
        return {
            "clip": CenterCrop(self.crop_size)(frames).contiguous(),
            "label": torch.tensor(int(sample.meta.label), dtype=torch.int64),
            "video_id": sample.meta.video_id,
        }


def build_task(cfg: Any) -> ActionClassification:
    """Build from a resolved recipe (see :mod:`vidssl.tasks.registry` for the contract)."""
    d = cfg.data
    if d.num_classes < 2:
        raise ConfigError(f"data.num_classes={d.num_classes}: the supervised task needs at least 2 classes (labels in "
                          "the manifest's label_index column, or set data.num_classes)")
    backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)
    return ActionClassification(
        backbone, num_classes=d.num_classes, num_frames=d.num_frames, frame_stride=d.frame_stride, resize=d.resize,
        crop_size=d.crop_size, mean=d.mean, std=d.std, options=cfg.task.options, eval_clips=cfg.eval.clips_per_video,
    )
