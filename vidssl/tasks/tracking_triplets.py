"""Tracking triplets: Wang & Gupta, "Unsupervised Learning of Visual Representations using Videos" (ICCV 2015).

PAPERS.md §2. A patch on a moving region at frame ``t`` and the same region tracked to ``t + Δ`` are a positive
pair; patches of *other videos* in the batch are negatives (labels are video ids, never the same video)::

    plan: (t, t+Δ) [+ every frame between, for the tracker] ─decode─▶ make_example: region at t (ground-truth box,
    or the strongest camera-compensated motion) ─median-flow tracker─▶ region at t+Δ ─▶ two square patches
    forward: shared backbone ─global pool─▶ EmbeddingHead (fc → dim → ReLU → L2) ─▶ in-batch mining ─▶ ranking loss

Loss (paper): ``D(X1, X2) = 1 − cos(f(X1), f(X2))``, ``L = max(0, D(a, p) − D(a, n) + M)`` with ``M = 0.5``.
**The released Caffe code** (``rank_hard_loss_layer.cpp``) uses distance ``−⟨f_i, f_j⟩`` with **margin 1** and adds the
symmetric term ``max(0, D(p, a) − D(p, n) + M)``. Since ``D(a,p) − D(a,n)`` is the same for both distances, the two
differ only in the margin and the extra term; **we follow the paper** (``margin=0.5, symmetric=false``); the release
is ``task.margin=1.0 task.symmetric=true``. Negatives: per pair ``num_negatives`` (4) violating in-batch candidates,
``hard_ratio`` (0.5: 2 hard + 2 random) of them from the most similar ones; random only for the first
``hard_after_steps`` training steps (the curriculum: hard mining from the start collapses or slows training, §2.3).

Diagnostics (``TaskOutput.diagnostics``): ``triplet_acc`` = share of (anchor, negative) pairs with
``D(a, p) < D(a, n)`` over every in-batch patch from a video other than the anchor's and the positive's (chance 0.5);
``retrieval_acc`` = share of anchors whose nearest positive in the batch is their own (chance ``retrieval_chance``,
1 / batch for distinct videos); ``pos_cos``, ``neg_cos``, ``violating_frac``, ``hard_ratio``, ``moving_frac``.

Control (``task.control=foreign``): the positive of each anchor is the tracked patch of another video in the batch
(a derangement over video ids), so nothing ties it to the anchor: ``triplet_acc`` must stay at 0.5. Pairs that
cannot get a foreign positive (one video filling most of a small held-out batch) are dropped, never kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from vidssl.data.datasets.ground_truth import attach_boxes
from vidssl.data.planners.tracking import TrackingPairs
from vidssl.data.transforms.clip import ColorJitter, RandomHorizontalFlip
from vidssl.data.transforms.color import normalize
from vidssl.data.transforms.spatial import resized_crop
from vidssl.losses.triplet import mine_negatives, triplet_ranking_loss_from_selection
from vidssl.models import create_backbone
from vidssl.models.heads.projection import EmbeddingHead
from vidssl.tasks.base import ControlSpec, DecodedSample, PretextBenchmarkSpec, TaskOutput
from vidssl.tasks.patch_tracker import MedianFlowTracker, TrackerSettings, propose_moving_region
from vidssl.train.config_schema import opt
from vidssl.types import ClipPlan, VideoMeta

__all__ = [
    "BENCHMARK", "TaskConfig", "TrackingTriplets", "build_task", "foreign_permutation", "square_box", "video_ints",
]

BENCHMARK = PretextBenchmarkSpec(
    metric="triplet_acc",
    chance=0.5,
    control=ControlSpec(
        overrides=("task.control=foreign",),
        description="positive = tracked patch of another video: nothing to match, triplet accuracy must be 0.5",
    ),
    recipe="configs/pretrain/tracking_triplets_tiny.yaml",
)


@dataclass
class TaskConfig:
    """Options of the ``tracking_triplets`` task (defaults: the paper's settings where it gives them)."""

    region: Literal["tracker", "gt"] = opt(
        "tracker", "tracker: moving region from camera-compensated flow, tracked by median flow (any corpus); gt: "
        "ground-truth boxes of the synthetic corpus (manifest 'gt' column), falling back to the tracker")
    control: Literal["none", "foreign"] = opt(
        "none", "foreign: the positive is another video's patch (shortcut control; the metric must sit at chance)")
    min_delta: int = opt(15, "shortest track in frames at reference_fps (paper: patches tracked for 30 frames)")
    max_delta: int = opt(30, "longest track in frames at reference_fps")
    reference_fps: float = opt(30.0, "fps at which the deltas are counted (scaled to each video); 0 = frame counts")
    patch_size: int = opt(227, "side of the square patch fed to the network (paper: 227)")
    context: float = opt(1.5, "patch side = context x the region's longer side (some surroundings, as a 227 box "
                         "covering the moving points)")
    min_region: float = opt(0.2, "smallest patch side as a share of the frame's shorter side")
    jitter: float = opt(0.1, "each patch's centre and side move by up to this share of its side (independently)")
    hflip: bool = opt(True, "mirror each patch with p=0.5, independently (the Caffe data layer's random mirror)")
    gray: bool = opt(False, "gray patches replicated to 3 channels (the released gray model); removes colour cues")
    color_jitter: float = opt(0.0, "brightness/contrast/saturation/hue jitter per patch, independently; > 0 breaks "
                              "the 'same background colour = same video' shortcut")
    embedding_dim: int = opt(1024, "embedding width (paper: fc7 1024 -> ReLU -> L2 norm)")
    hidden_dim: int = opt(0, "width of an extra fc -> ReLU before the embedding (fc6-like; 0 = none)")
    margin: float = opt(0.5, "M in max(0, D(a,p) - D(a,n) + M), D = 1 - cos (paper 0.5; released code 1.0)")
    symmetric: bool = opt(False, "add max(0, D(p,a) - D(p,n) + M) as the released code does")
    num_negatives: int = opt(4, "negatives per pair, mined in the batch among violating other-video patches")
    hard_ratio: float = opt(0.5, "share of the negatives taken from the most similar ones once mining is on "
                            "(release: 2 hard + 2 random)")
    hard_after_steps: int = opt(0, "training steps with random negatives only before hard mining starts "
                                "(curriculum; the release README advises starting random)")
    min_motion: float = opt(0.3, "residual flow (px/frame) below which a proposed region does not count as moving")
    flow_window: int = opt(5, "Farneback window of the tracker and the proposal (pixels at <= 128 px frames)")


def square_box(box: np.ndarray, side: float, height: int, width: int) -> tuple[int, int, int]:
    """A ``side``-pixel square centred on ``box``, shifted (not cut) to lie inside the frame: ``(top, left, side)``.

    Shifting instead of padding keeps frame borders out of the patch (black padding would tell patches near the
    border apart from the others and could be matched as a shortcut).
    """
    s = round(float(min(max(side, 1.0), height, width)))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left = round(float(np.clip(cx - s / 2, 0, width - s)))
    top = round(float(np.clip(cy - s / 2, 0, height - s)))
    return top, left, s


def foreign_permutation(
    ids: torch.Tensor, generator: torch.Generator | None = None, *, strict: bool = True
) -> torch.Tensor:
    """A random permutation ``perm`` with ``ids[perm[i]] != ids[i]`` for every ``i`` (used by the controls).

    Args:
        ids: ``int64 [B]`` video ids.
        generator: CPU generator (default: torch's global one, which checkpoints capture).
        strict: raise when no such permutation exists; ``False`` returns one with the fewest same-video pairs
            (``2m - B`` for a largest video of ``m > B / 2`` examples), which callers must mask
            (``ids[perm] == ids``), e.g. a small held-out split whose batch is mostly one video.

    Returns:
        ``int64 [B]`` on ``ids.device``.

    Raises:
        ValueError: ``strict`` and a video holds more than half of the batch, so no such permutation exists.
    """
    groups = torch.unique(ids.detach().cpu(), return_inverse=True)[1]
    counts = torch.bincount(groups)
    if strict and counts.max() * 2 > len(groups):
        raise ValueError(f"no foreign partner for every example: one video has {int(counts.max())} of {len(groups)}")
    # Lay the examples out group after group (groups and members in random order); shifting that layout by the
    # largest group size m pairs every slot with a slot of another group, since a group spans at most m slots and
    # the wrap-around distance is at least B - m >= m. When m > B / 2 only the largest group's 2m - B slots that
    # wrap into itself pair with their own video (the minimum possible).
    group_rank = torch.randperm(len(counts), generator=generator)[groups]
    order = torch.randperm(len(groups), generator=generator)
    order = order[torch.sort(group_rank[order], stable=True)[1]]
    perm = torch.empty_like(order)
    perm[order] = order.roll(-int(counts.max()))
    return perm.to(ids.device)


def video_ints(names: Sequence[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """Video ids (strings, as collated) to ``int64 [B]`` labels, numbered in order of first appearance."""
    lookup: dict[str, int] = {}
    return torch.tensor([lookup.setdefault(n, len(lookup)) for n in names], dtype=torch.long, device=device)


class TrackingTriplets(nn.Module):
    """Wang & Gupta's triplet task implementing :class:`vidssl.tasks.base.Task`.

    Args:
        backbone: registry backbone (2D, ``BCHW``); pooled features feed the embedding head.
        options: task options.
        mean: per-channel normalisation mean (RGB in [0, 1]).
        std: per-channel std.
    """

    name = "tracking_triplets"
    uses_other_video = False

    def __init__(self, backbone: nn.Module, options: TaskConfig | None = None, *,
                 mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.25, 0.25, 0.25)) -> None:
        super().__init__()
        self.options = o = options or TaskConfig()
        if getattr(backbone, "input_layout", "BCHW") != "BCHW":
            raise ValueError("tracking_triplets embeds single patches: it needs a 2D (BCHW) backbone")
        self.backbone = backbone
        self.head = EmbeddingHead(backbone.num_features, o.embedding_dim, hidden=o.hidden_dim or None)
        self.mean, self.std = tuple(mean), tuple(std)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # curriculum clock, saved and resumed
        fps = o.reference_fps or None
        self._gt_planner = TrackingPairs(o.min_delta, o.max_delta, fps, num_between=0, use_boxes=True)
        self._flow_planner = TrackingPairs(o.min_delta, o.max_delta, fps, num_between=None, use_boxes=False)
        self._settings = TrackerSettings(window=o.flow_window)
        self._box_cache: dict[str, VideoMeta] = {}  # per process: ground-truth boxes loaded once per video

    # ============ worker side ============
    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """(t, t + Δ) on a ground-truth moving object, else t..t+Δ (every frame) for the tracker."""
        if self.options.region == "gt":
            if "boxes" not in meta.extra:
                if meta.video_id not in self._box_cache:
                    self._box_cache[meta.video_id] = attach_boxes(meta)
                meta = dataclasses.replace(meta, extra=self._box_cache[meta.video_id].extra)
            plan = self._gt_planner(meta, rng)
            if plan.info["region_source"] == "boxes":
                return plan
        return self._flow_planner(meta, rng)

    def regions(self, sample: DecodedSample) -> tuple[np.ndarray, np.ndarray, bool]:
        """Region boxes at ``t`` and ``t + Δ`` and whether the region moves (ground truth, or proposal + tracker)."""
        plan = sample.plan
        if plan.info.get("region_source") == "boxes" and plan.regions is not None:
            return plan.regions[0].astype(np.float64), plan.regions[-1].astype(np.float64), True
        frames = sample.take(plan.indices).permute(0, 2, 3, 1).numpy()  # [T, H, W, 3], consecutive frames
        h, w = frames.shape[1:3]
        side = self.options.min_region * min(h, w)
        prop = propose_moving_region(frames[0], frames[1], min_side=side, min_motion=self.options.min_motion,
                                     settings=self._settings)
        boxes = MedianFlowTracker(self._settings).track(frames, prop.box, first_flow=prop.flow)
        return boxes[0], boxes[-1], prop.moving

    def _patch(self, frame: torch.Tensor, box: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        o = self.options
        h, w = frame.shape[-2:]
        side = max(o.context * max(box[2] - box[0], box[3] - box[1]), o.min_region * min(h, w))
        side *= 1 + rng.uniform(-o.jitter, o.jitter)
        shift = rng.uniform(-o.jitter, o.jitter, size=2) * side
        top, left, s = square_box(box + np.tile(shift, 2), side, h, w)
        patch = resized_crop(frame, top, left, s, s, o.patch_size)
        if o.hflip:
            patch = RandomHorizontalFlip()(patch, rng)
        if o.color_jitter > 0:
            j = o.color_jitter
            patch = ColorJitter(j, j, j, min(j / 2, 0.5), p=0.8)(patch, rng)
        return TF.rgb_to_grayscale(patch, num_output_channels=3) if o.gray else patch

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """Anchor and positive patches ``uint8 [3, S, S]``, the video id and whether the region moved."""
        start, end, moving = self.regions(sample)
        first, last = sample.take(sample.plan.indices[[0, -1]])
        return {
            "anchor": self._patch(first, start, rng).contiguous(),
            "positive": self._patch(last, end, rng).contiguous(),
            "moving": torch.tensor(float(moving)),
            "video_id": sample.meta.video_id,
        }

    # ============ device side ============
    def embed(self, patches: torch.Tensor) -> torch.Tensor:
        """``uint8 [N, 3, S, S] -> [N, embedding_dim]`` L2-normalised embeddings."""
        return self.head(self.backbone(normalize(patches, self.mean, self.std)))

    def current_hard_ratio(self) -> float:
        """0 (random negatives) during the first ``hard_after_steps`` steps, then ``hard_ratio``."""
        return self.options.hard_ratio if int(self.steps) >= self.options.hard_after_steps else 0.0

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Ranking loss with in-batch mining, and the diagnostics listed in the module docstring."""
        o = self.options
        anchor, positive = batch["anchor"], batch["positive"]
        ids = video_ints(batch["video_id"], anchor.device)
        pos_ids = ids
        if o.control == "foreign":
            perm = foreign_permutation(ids, strict=False)
            positive, pos_ids = positive[perm], ids[perm]
        emb = self.embed(torch.cat([anchor, positive]))
        a, p = emb.chunk(2)
        keep = pos_ids != ids if o.control == "foreign" else None
        if keep is not None and not bool(keep.all()):
            # a batch mostly from one video (small held-out splits): pairs left with their own video's positive
            # would leak the real task into the control, so they are dropped
            if int(keep.sum()) < 2:
                return self._empty_output(emb, batch)
            a, p, ids, pos_ids = a[keep], p[keep], ids[keep], pos_ids[keep]
        hard = self.current_hard_ratio()
        sel = mine_negatives(a.detach(), p.detach(), ids, margin=o.margin, num_negatives=o.num_negatives,
                             hard_ratio=hard)
        # A pool entry is a real negative only if its *content* comes from neither the anchor's nor the positive's
        # video (under the control, positives are relabelled copies of other videos' patches).
        pool_src = torch.cat([ids, pos_ids])
        src = pool_src[sel.index]
        sel = dataclasses.replace(sel, valid=sel.valid & (src != ids[:, None]) & (src != pos_ids[:, None]))
        loss = triplet_ranking_loss_from_selection(a, p, sel, margin=o.margin, symmetric=o.symmetric)
        if self.training and torch.is_grad_enabled():
            self.steps += 1
        diag = _diagnostics(a.detach(), p.detach(), ids, pos_ids, o.margin)
        diag.update(loss=float(loss.detach()), hard_ratio=hard, moving_frac=float(batch["moving"].float().mean()),
                    negatives_per_pair=float(sel.valid.float().sum(1).mean()))
        return TaskOutput(loss=loss, diagnostics=diag, counts=int(a.shape[0]))

    def _empty_output(self, emb: torch.Tensor, batch: Mapping[str, Any]) -> TaskOutput:
        """Zero loss (still touching every parameter, for DDP) and NaN diagnostics (skipped by the averages)."""
        keys = ("triplet_acc", "retrieval_acc", "retrieval_chance", "pos_cos", "neg_cos", "violating_frac", "loss",
                "hard_ratio", "moving_frac", "negatives_per_pair")
        return TaskOutput(loss=emb.sum() * 0.0, diagnostics=dict.fromkeys(keys, float("nan")), counts=0)


@torch.no_grad()
def _diagnostics(a: torch.Tensor, p: torch.Tensor, ids: torch.Tensor, pos_ids: torch.Tensor,
                 margin: float) -> dict[str, float]:
    """Triplet accuracy (chance 0.5), in-batch retrieval accuracy (chance given) and similarity statistics."""
    a, p = nn.functional.normalize(a.float(), dim=1), nn.functional.normalize(p.float(), dim=1)
    pool, pool_src = torch.cat([a, p]), torch.cat([ids, pos_ids])
    cos_ap = (a * p).sum(1, keepdim=True)
    sim = a @ pool.T
    neg = (pool_src[None, :] != ids[:, None]) & (pool_src[None, :] != pos_ids[:, None])
    n_neg = neg.sum().clamp(min=1)
    nearest = (a @ p.T).argmax(dim=1)
    same_src = pos_ids[:, None] == pos_ids[None, :]
    return {
        "triplet_acc": float(((cos_ap > sim) & neg).sum() / n_neg),
        "retrieval_acc": float((pos_ids[nearest] == pos_ids).float().mean()),
        "retrieval_chance": float((same_src.float().sum(1) / len(p)).mean()),
        "pos_cos": float(cos_ap.mean()),
        "neg_cos": float((sim * neg).sum() / n_neg),
        "violating_frac": float(((sim - cos_ap + margin > 0) & neg).sum() / n_neg),
    }


def build_task(cfg: Any) -> TrackingTriplets:
    """Build from a resolved recipe (contract: :mod:`vidssl.tasks.registry`)."""
    backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)
    return TrackingTriplets(backbone, cfg.task.options, mean=cfg.data.mean, std=cfg.data.std)
