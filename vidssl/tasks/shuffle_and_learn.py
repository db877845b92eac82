"""Shuffle and Learn: frame-order verification (Misra, Zitnick, Hebert, ECCV 2016, arXiv:1603.08561).

PAPERS.md §1. Five frames ``a < b < c < d < e`` come from a high-motion window; the network sees three of them and
says whether they are in temporal order::

    plan: ShuffleAndLearn planner (positives (b, c, d) / (d, c, b); negatives (b, a, d) / (b, e, d), 25 : 75)
    make_example: the 3 frames, one resize / crop / (flip, jitter) draw for the whole tuple ─▶ uint8 [3, 3, S, S]
    forward: shared trunk per frame [B*3, D, h, w] ─▶ pool to g x g, flatten ─▶ shared per-frame fc ("fc6/7")
             ─▶ concat [B, 3*H] ─▶ fc concat_hidden ─▶ ReLU ─▶ fc 2 ─▶ softmax CE

Faithfulness notes (PAPERS.md §1.3, "commonly gotten wrong"):

* negatives keep the *same endpoints* ``b, d`` and only swap the middle frame; the reversal ``(d, c, b)`` is a
  positive (order is symmetric). Both come from :class:`vidssl.data.planners.ShuffleAndLearn`, reused as is.
* class ratio ``neg_ratio = 0.75`` (25 % positives), so plain accuracy has a 75 % majority baseline: the metric is
  **balanced accuracy** (mean of the two class recalls; chance 0.5).
* weights are shared across the three frames (one trunk, frames folded into the batch) and the classifier sees the
  *concatenation* of per-frame features in tuple order (``OrderHead``), not a pooled vector. Per-frame features
  keep a coarse spatial layout (the map pooled to ``frame_grid`` x ``frame_grid``, then a shared fc), as CaffeNet's
  fc6/fc7 do over conv5: global average pooling would discard *where* the objects are, which is what order is
  read from.
* high-motion windows: the planner prefers windows above ``motion_quantile`` of the per-frame motion. When the
  manifest has no motion column (``vidssl-data motion``), ``motion_estimate`` decodes every 4th frame of each video
  once per worker process (:class:`vidssl.data.datasets.motion.MotionEstimate`, frame differences instead of the
  paper's optical flow) and caches it; the share of motion-guided tuples is logged as ``motion_guided``.
* the classifier after the concatenation has a hidden layer (``concat_hidden``, fc + ReLU) before the 2-way fc.
  The released prototxt puts the linear ``fc8_tri`` directly on the concatenated fc7 features, so its logit is a
  *sum of per-frame functions* ``g0(x0) + g1(x1) + g2(x2)``, which cannot tell "the middle frame lies between the
  endpoints" when windows can start anywhere: frames at times ``(0, 5, 10)`` and ``(8, 15, 16)`` are positives,
  ``(0, 15, 10)`` and ``(8, 5, 16)`` negatives, which needs ``g1(5) > g1(15)`` (first pair of tuples) and
  ``g1(5) < g1(15)`` (second pair). ``concat_hidden=0`` reproduces the release's head (see
  docs/notes/tasks_sal_avc.md for the measurements).
* one augmentation draw per tuple: independent per-frame crops would let crop statistics, not order, vary inside a
  tuple (PAPERS.md §5.8).

* ``fusion=pairwise`` (the tiny preset's choice, not the paper's): the classifier sees ``|f0 - f1|, |f1 - f2|,
  |f0 - f2|`` of the per-frame features (:class:`PairwiseOrderHead`). With the paper's concatenation a small model
  memorised the training tuples and stayed at chance held-out; the pairwise head reached 0.93 held-out balanced
  accuracy in ~5 CPU minutes (docs/notes/tasks_sal_avc.md).

Not implemented: the paper's rejection of ambiguous tuples by pixel SSD between the middle and the swapped-in frame
(it needs the unused frame decoded as well).

Diagnostics: ``order_acc`` (plain accuracy), ``balanced_acc``, ``pos_recall``, ``neg_recall``, ``pos_frac`` (should be
``1 - neg_ratio``), ``motion_guided``. Control: the ``--static`` corpus (nothing moves), where balanced accuracy must
sit at 0.5.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from vidssl.data.datasets.motion import MotionEstimate
from vidssl.data.planners.shuffle_learn import ShuffleAndLearn
from vidssl.data.transforms.clip import ColorJitter, RandomHorizontalFlip, Resize
from vidssl.data.transforms.color import normalize
from vidssl.losses.classification import balanced_accuracy
from vidssl.losses.order import order_loss
from vidssl.models import create_backbone
from vidssl.models.heads.order import OrderHead
from vidssl.tasks.base import ControlSpec, DecodedSample, PretextBenchmarkSpec, TaskOutput
from vidssl.train.config_schema import opt
from vidssl.types import ClipPlan, VideoMeta

__all__ = [
    "BENCHMARK", "KINDS", "PairwiseOrderHead", "ShuffleAndLearnTask", "TaskConfig", "build_task", "order_diagnostics",
]

KINDS = ("bcd", "dcb", "bad", "bed", "dab", "deb")  # planner's tuple kinds (last two: reverse_negatives)

BENCHMARK = PretextBenchmarkSpec(
    metric="balanced_acc",
    chance=0.5,
    control=ControlSpec(
        synth_flags=("--static",),
        description="static videos (every frame is frame 0): order is unobservable, balanced accuracy must be 0.5",
    ),
    recipe="configs/pretrain/shuffle_and_learn_tiny.yaml",
)


@dataclass
class TaskConfig:
    """Options of the ``shuffle_and_learn`` task (defaults: the paper's settings, PAPERS.md §1.1)."""

    tau_max: int = opt(60, "largest gap d - b (and b - a, e - d), frames at reference_fps (paper: 60, VERIFY)")
    tau_min: int = opt(15, "smallest gap b - a and e - d: the swapped-in frame is genuinely elsewhere (paper: 15)")
    reference_fps: float = opt(30.0, "fps the taus are counted at (scaled to each video's fps); 0 = raw frame counts")
    neg_ratio: float = opt(0.75, "probability of a negative tuple (paper: 75 % negatives gave the best transfer)")
    motion_quantile: float = opt(0.5, "tuples come from windows at or above this quantile of window motion")
    motion_estimate: bool = opt(True, "estimate motion by frame differences (once per video per worker) when the "
                                "manifest has none; false samples windows uniformly then")
    reverse_negatives: bool = opt(False, "also reverse negatives ((d, a, b)...) half the time; not in the paper")
    frame_grid: int = opt(4, "the trunk's feature map is average-pooled to a grid x grid map and flattened before the "
                          "per-frame fc, as CaffeNet's fc6 sees the 6x6 conv5 map: where things are survives "
                          "(1 = global pooling, which throws position away)")
    frame_hidden: int = opt(4096, "width of the shared per-frame fc on the flattened map (CaffeNet's fc6/fc7: "
                            "4096); 0 feeds the flattened map straight to the classifier")
    dropout: float = opt(0.5, "dropout after the per-frame fc (paper: 0.5 after fc6 and fc7)")
    concat_hidden: int = opt(512, "width of an fc + ReLU on the concatenated features before the 2-way fc; 0 = the "
                             "release's linear fc8_tri, which is additive across frames and cannot compare them "
                             "(see the module docstring)")
    hflip: bool = opt(False, "mirror the whole tuple with p=0.5 (the released prototxt does not)")
    color_jitter: float = opt(0.0, "brightness/contrast/saturation jitter, one draw per tuple (0 = off)")
    fusion: Literal["concat", "pairwise"] = opt(
        "concat", "how the three per-frame features meet: concat (the paper: concatenation in tuple order) or "
        "pairwise (|f0 - f1|, |f1 - f2|, |f0 - f2| of the per-frame features, concatenated: OPN-style pairwise "
        "comparison; a tuple is in order when its endpoints differ most, and frame appearance cancels out)")


class ShuffleAndLearnTask(nn.Module):
    """Triplet-Siamese order verification implementing :class:`vidssl.tasks.base.Task`.

    Args:
        backbone: registry 2D backbone (``BCHW``); its pooled features are the per-frame trunk output.
        options: task options.
        resize: short side before cropping (0 = keep the decoded size).
        crop_size: square crop side (one position per tuple; random in training).
        mean: per-channel normalisation mean (RGB in [0, 1]).
        std: per-channel std.
    """

    name = "shuffle_and_learn"
    uses_other_video = False

    def __init__(self, backbone: nn.Module, options: TaskConfig | None = None, *, resize: int = 0,
                 crop_size: int = 64, mean: Sequence[float] = (0.5, 0.5, 0.5),
                 std: Sequence[float] = (0.25, 0.25, 0.25)) -> None:
        super().__init__()
        self.options = o = options or TaskConfig()
        if getattr(backbone, "input_layout", "BCHW") != "BCHW":
            raise ValueError("shuffle_and_learn runs a shared 2D trunk on single frames: it needs a BCHW backbone "
                             f"(got {getattr(backbone, 'input_layout', '?')}); use e.g. model.name=tiny_cnn2d")
        self.backbone = backbone
        if o.frame_grid < 1:
            raise ValueError(f"task.frame_grid must be >= 1, got {o.frame_grid}")
        self.grid = nn.AdaptiveAvgPool2d(o.frame_grid)
        # OrderHead = shared per-frame fc, concatenation in tuple order, linear layer; with concat_hidden its output
        # is a hidden layer and a ReLU + fc 2 follow, so the classifier can compare frames.
        if o.fusion not in ("concat", "pairwise"):
            raise ValueError(f"task.fusion must be 'concat' or 'pairwise', got {o.fusion!r}")
        width = o.concat_hidden or 2
        head_cls = PairwiseOrderHead if o.fusion == "pairwise" else OrderHead
        order = head_cls(backbone.num_features * o.frame_grid**2, num_frames=3, num_classes=width,
                          frame_hidden=o.frame_hidden or None, dropout=o.dropout)
        self.head = nn.Sequential(order, nn.ReLU(inplace=True), nn.Linear(width, 2)) if o.concat_hidden else order
        self.resize, self.crop_size = resize, crop_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.planner = ShuffleAndLearn(tau_max=o.tau_max, tau_min=o.tau_min, neg_ratio=o.neg_ratio,
                                       reference_fps=o.reference_fps or None, motion_quantile=o.motion_quantile,
                                       reverse_negatives=o.reverse_negatives)
        self._motion = MotionEstimate() if o.motion_estimate else None
        self._motion_cache: dict[str, np.ndarray | None] = {}  # per process: one sparse decode per video

    # ============ worker side ============
    def _with_motion(self, meta: VideoMeta) -> VideoMeta:
        """``meta`` with a motion profile (manifest's, else a cached frame-difference estimate, else none)."""
        if meta.motion is not None or self._motion is None:
            return meta
        if meta.video_id not in self._motion_cache:
            try:
                self._motion_cache[meta.video_id] = self._motion(meta).motion
            except Exception:  # an unreadable file fails later, in decoding, with the right skip record
                self._motion_cache[meta.video_id] = None
        motion = self._motion_cache[meta.video_id]
        if motion is None or len(motion) < meta.num_frames:
            return meta
        return dataclasses.replace(meta, motion=motion)

    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """One tuple: ``indices`` int64 ``[3]`` in the order the model sees them, ``targets["label"]`` 1 = in order."""
        return self.planner(self._with_motion(meta), rng)

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """The three frames with one augmentation draw for the tuple.

        Returns:
            ``frames`` uint8 ``[3, 3, S, S]`` (tuple order), ``label`` int64 (1 in order, 0 shuffled), ``kind``
            int64 (index into :data:`KINDS`), ``motion_guided`` float (1 when the window came from motion),
            ``video_id``.
        """
        plan = sample.plan
        frames = sample.take(plan.indices)  # [3, 3, H, W]
        if self.resize:
            frames = Resize(self.resize)(frames)
        o, c = self.options, self.crop_size
        h, w = frames.shape[-2:]
        if h < c or w < c:
            frames = Resize(c)(frames)
            h, w = frames.shape[-2:]
        top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        frames = frames[..., top : top + c, left : left + c]  # same box for all three frames
        if o.hflip:
            frames = RandomHorizontalFlip()(frames, rng)
        if o.color_jitter > 0:
            frames = ColorJitter(o.color_jitter, o.color_jitter, o.color_jitter, 0.0, p=0.8)(frames, rng)
        return {
            "frames": frames.contiguous(),
            "label": torch.tensor(int(plan.targets["label"]), dtype=torch.int64),
            "kind": torch.tensor(KINDS.index(plan.info["kind"]), dtype=torch.int64),
            "motion_guided": torch.tensor(float(plan.info.get("motion_source") == "motion")),
            "video_id": sample.meta.video_id,
        }

    # ============ device side ============
    def logits(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [B, 3, 3, H, W]`` tuples → order logits ``[B, 2]`` (class 1 = in order).

        The three frames share the trunk (folded into the batch, as the Caffe model concatenates them on the batch
        axis). Each frame's map ``[D, h, w]`` is pooled to ``[D, g, g]`` and flattened (``g = frame_grid``), so the
        shared fc keeps the layout, as fc6 over conv5 does; the ``[B, 3, D * g * g]`` features go to the order head
        (shared fc7-like layer, concatenation in tuple order, fc + ReLU, fc 2).
        """
        b, n = frames.shape[:2]
        maps = self.backbone.forward_features(normalize(frames.flatten(0, 1), self.mean, self.std))  # [B*3, D, h, w]
        return self.head(self.grid(maps).reshape(b, n, -1))

    def predict(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [B, 2], target [B])`` for held-out evaluation."""
        return self.logits(batch["frames"]), batch["label"]

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Softmax cross-entropy over {shuffled, in order} plus the diagnostics in the module docstring."""
        logits, target = self.predict(batch)
        loss, base = order_loss(logits, target)
        diag = order_diagnostics(logits.detach(), target)
        diag["loss"] = base["loss"]
        diag["motion_guided"] = float(batch["motion_guided"].float().mean())
        return TaskOutput(loss=loss, diagnostics=diag, counts=int(target.shape[0]))


class PairwiseOrderHead(OrderHead):
    """:class:`OrderHead` on pairwise differences ``[|f0 - f1|, |f1 - f2|, |f0 - f2|]`` (``task.fusion=pairwise``).

    The shared per-frame fc runs first; the classifier then sees the three absolute differences instead of
    ``[f0, f1, f2]``.

    What the frames look like cancels out and what changed between them remains, so the classifier compares frames
    instead of memorising them. The slots are symmetric under reversal (``(d, c, b)`` swaps the first two
    differences), like the labels. ``[B, 3, D] -> [B, num_classes]``.
    """

    PAIRS = ((0, 1), (1, 2), (0, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, D] -> [B, num_classes]``."""
        if x.ndim != 3 or x.shape[1] != 3:
            raise ValueError(f"PairwiseOrderHead expects [B, 3, D], got {tuple(x.shape)}")
        f = self.frame_fc(x)
        return self.fc(torch.cat([(f[:, i] - f[:, j]).abs() for i, j in self.PAIRS], dim=1))


@torch.no_grad()
def order_diagnostics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Accuracy, balanced accuracy and per-class recalls of binary logits ``[B, 2]`` (nan for an absent class)."""
    pred = logits.argmax(dim=1)
    target = target.long()
    pos, neg = target == 1, target == 0
    nan = float("nan")
    return {
        "order_acc": float((pred == target).float().mean()),
        "balanced_acc": balanced_accuracy(pred, target),
        "pos_recall": float((pred[pos] == 1).float().mean()) if pos.any() else nan,
        "neg_recall": float((pred[neg] == 0).float().mean()) if neg.any() else nan,
        "pos_frac": float(pos.float().mean()),
    }


def build_task(cfg: Any) -> ShuffleAndLearnTask:
    """Build from a resolved recipe (contract: :mod:`vidssl.tasks.registry`)."""
    backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)
    d = cfg.data
    return ShuffleAndLearnTask(backbone, cfg.task.options, resize=d.resize, crop_size=d.crop_size, mean=d.mean,
                               std=d.std)
