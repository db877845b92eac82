"""Colorization propagation: Vondrick et al., "Tracking Emerges by Colorizing Videos" (ECCV 2018; PAPERS.md §3.1).

The network sees only gray frames (Lab lightness); it must colour a target frame by *pointing* at reference pixels
with the same content and copying their colour::

    plan: 3 references + 1 target (skips) ─decode─▶ make_example: crop/flip (one draw per tuple), L only for the
    network, ab averaged per feature cell and quantised to the k-means palette (targets at feature resolution)
    forward: gray → backbone.forward_features (stride 4 or 8) → 1×1 embedding (64-d) → A = softmax over ALL
    reference pixels of f_iᵀf_j / T (T = 1 train, 0.5 eval) → y_j = Σ_i A_ij c_i → cross-entropy with the target

Gray input convention: ``x = L / 100`` (Lab lightness in [0, 1]) replicated to the backbone's input channels and
normalised with ``data.mean`` / ``data.std`` like RGB, i.e. exactly how a gray RGB picture would be fed; so the same
backbone fine-tunes on RGB without changes. ab never reaches the network: the batch holds ``gray`` and quantised
``colors`` only, and the colours enter the loss through the copy (tested by perturbing ab at constant L).

Palette: 16 k-means clusters of cell-averaged ab (OpenCV float Lab) fit on sampled training frames in ``build_task``
(:mod:`vidssl.tasks.color_palette`), or loaded from ``task.palette``; kept as the buffer ``palette`` so
``checkpoint.pt["model"]["palette"]`` carries it.

Diagnostics: ``color_acc`` (argmax of the copied distribution is the target's cluster), ``majority_acc`` (chance:
every target cell given the most frequent colour of *its* references, on the same batch), ``minority_acc`` (accuracy
on target cells whose colour is not that majority colour: 0 for the baseline), ``minority_share``, ``copy_ceiling``
(share of target cells whose colour exists somewhere in the references).

Control (``task.control=foreign``): each target gets the references (features and colours) of another video in the
batch; copying cannot work and ``color_acc`` must sit at that batch's ``majority_acc`` (targets left without a
foreign partner, when one video fills most of a small held-out batch, are dropped). Static videos are *not* a
control here (colour can still be copied from the same place).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from vidssl.data.planners.colorization import ColorizationFrames
from vidssl.data.transforms.lab import rgb_to_lab
from vidssl.data.transforms.quantize import AbQuantizer
from vidssl.data.transforms.spatial import hflip, resize_short_side
from vidssl.losses.colorization import colorization_loss
from vidssl.models import create_backbone
from vidssl.models.heads.colorization import ColorizationHead, copy_labels
from vidssl.tasks.base import ControlSpec, DecodedSample, PretextBenchmarkSpec, TaskOutput
from vidssl.tasks.color_palette import cell_ab, fit_palette
from vidssl.tasks.tracking_triplets import foreign_permutation, video_ints
from vidssl.train.config_schema import ConfigError, opt
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["BENCHMARK", "Colorization", "TaskConfig", "build_task", "color_diagnostics"]

BENCHMARK = PretextBenchmarkSpec(
    metric="color_acc",
    chance="majority_acc",
    control=ControlSpec(
        overrides=("task.control=foreign",),
        description="references from another video: nothing to copy, colour accuracy must sit at the majority "
        "baseline",
    ),
    recipe="configs/pretrain/colorization_tiny.yaml",
)


@dataclass
class TaskConfig:
    """Options of the ``colorization`` task (defaults: Vondrick / the public re-implementation)."""

    control: Literal["none", "foreign"] = opt(
        "none", "foreign: references of another video (shortcut control; colour accuracy must sit at majority_acc)")
    num_refs: int = opt(3, "reference frames per target (Vondrick: 3)")
    min_skip: int = opt(4, "smallest frame distance between consecutive references (re-implementation: 4)")
    max_skip: int = opt(4, "largest distance between references (one draw per tuple)")
    target_skip: int = opt(8, "distance from the last reference to the target (re-implementation: 8); 0 = the skip")
    num_colors: int = opt(16, "k-means clusters of ab (Vondrick: 16)")
    palette: str = opt("", "[K, 2] .npy of ab centroids (python -m vidssl.tasks.color_palette); '' = fit on the "
                       "training split when the task is built")
    palette_videos: int = opt(500, "training videos sampled to fit the palette (4 frames each)")
    embed_dim: int = opt(64, "per-pixel embedding width (Vondrick: 32x32x64)")
    temperature: float = opt(1.0, "pointer softmax temperature in training (Vondrick: 1)")
    test_temperature: float = opt(0.5, "temperature in eval mode, e.g. held-out validation (Vondrick: 0.5)")
    feature_stride: int = opt(0, "run the backbone at this output stride with the SAME weights (tiny_cnn2d / "
                              "ResNet output_stride: 4 gives 16x16 maps at 64 px, as `vidssl track` evaluates); "
                              "0 = the backbone's own stride")
    hflip: bool = opt(True, "mirror the whole tuple with p=0.5")


class _DenseFeatures(nn.Module):
    """``net.forward_features`` as ``forward`` (so ``functional_call`` can run it with another module's weights)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)


class Colorization(nn.Module):
    """Vondrick's colourisation pointer task implementing :class:`vidssl.tasks.base.Task`.

    Args:
        backbone: registry 2D backbone (``BCHW``); saved as ``checkpoint["backbone"]``.
        palette: ``[K, 2]`` ab centroids (OpenCV float Lab).
        options: task options.
        mean: per-channel normalisation mean applied to the gray input.
        std: per-channel std.
        resize: short side before cropping (0 = keep).
        crop_size: square crop (a multiple of the feature stride).
        dense: the backbone rebuilt at ``options.feature_stride`` (same parameter names), run with the backbone's
            weights; ``None`` uses ``backbone.forward_features``.
    """

    name = "colorization"
    uses_other_video = False

    def __init__(self, backbone: nn.Module, palette: torch.Tensor, options: TaskConfig | None = None, *,
                 mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.25, 0.25, 0.25),
                 resize: int = 0, crop_size: int = 64, dense: nn.Module | None = None) -> None:
        super().__init__()
        self.options = o = options or TaskConfig()
        if getattr(backbone, "input_layout", "BCHW") != "BCHW":
            raise ValueError("colorization needs per-frame dense features: a 2D (BCHW) backbone")
        self.backbone = backbone
        self.head = ColorizationHead(backbone.num_features, o.embed_dim, temperature=o.temperature,
                                     test_temperature=o.test_temperature)
        self.register_buffer("palette", palette.detach().float().cpu().clone())
        self.register_load_state_dict_post_hook(lambda module, keys: module._sync_palette())
        self._sync_palette()
        # kept out of the module tree: its own parameters are never used or saved (functional_call swaps them)
        self.__dict__["_dense"] = _DenseFeatures(dense) if dense is not None else None
        self.stride = int(getattr(dense if dense is not None else backbone, "spatial_stride", 8))
        if crop_size % self.stride:
            raise ValueError(f"crop_size {crop_size} must be a multiple of the feature stride {self.stride}")
        first = next((m for m in backbone.modules() if isinstance(m, nn.Conv2d)), None)
        self.in_channels = first.in_channels if first is not None else 3
        self.mean, self.std = tuple(mean), tuple(std)
        self.resize, self.crop_size = resize, crop_size
        self._planner = ColorizationFrames(o.num_refs, o.min_skip, o.max_skip, o.target_skip or None)

    def _sync_palette(self) -> None:
        # Workers quantise with a CPU copy, also when the module itself lives on a GPU (no CUDA in forked workers).
        self.__dict__["_quantizer"] = AbQuantizer(self.palette.detach().cpu().clone())

    # ============ worker side ============
    def plan(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """References then target (:class:`~vidssl.data.planners.colorization.ColorizationFrames`)."""
        return self._planner(meta, rng)

    def make_example(self, sample: DecodedSample, rng: np.random.Generator) -> dict[str, Any]:
        """``gray`` float32 ``[R+1, 1, S, S]`` (Lab L), ``colors`` int64 ``[R+1, S/s, S/s]``, ``video_id``."""
        frames = sample.take(sample.plan.indices)  # [R+1, 3, H, W], references first
        if self.resize:
            frames = resize_short_side(frames, self.resize)
        h, w = frames.shape[-2:]
        c = self.crop_size
        if h < c or w < c:
            raise ValueError(f"{sample.meta.video_id}: frames {h}x{w} are smaller than crop_size {c}")
        top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        frames = frames[..., top : top + c, left : left + c]  # one crop for the whole tuple
        if self.options.hflip and rng.random() < 0.5:
            frames = hflip(frames)
        return {
            "gray": rgb_to_lab(frames)[:, :1].contiguous(),
            "colors": self._quantizer.assign(cell_ab(frames, self.stride)),
            "video_id": sample.meta.video_id,
        }

    # ============ device side ============
    def network_input(self, gray: torch.Tensor) -> torch.Tensor:
        """Lab L ``[N, 1, H, W]`` → ``L/100`` replicated to the input channels and normalised like RGB."""
        x = (gray.float() / 100.0).expand(-1, self.in_channels, -1, -1)
        mean = torch.as_tensor(self.mean[: self.in_channels], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.std[: self.in_channels], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Dense features ``[N, D, H/s, W/s]`` at the task's feature stride."""
        dense = self.__dict__["_dense"]
        if dense is None:
            return self.backbone.forward_features(x)
        dense.train(self.training)  # BatchNorm mode follows the task; statistics update the backbone's buffers
        state = {f"net.{k}": v for k, v in [*self.backbone.named_parameters(), *self.backbone.named_buffers()]}
        return functional_call(dense, state, (x,))

    def forward(self, batch: Mapping[str, Any]) -> TaskOutput:
        """Pointer cross-entropy on the target's quantised colours, with the diagnostics of the module docstring."""
        gray, colors = batch["gray"], batch["colors"]
        b, n = gray.shape[:2]
        r = n - 1
        feats = self.features(self.network_input(gray.flatten(0, 1)))
        feats = feats.unflatten(0, (b, n))  # [B, R+1, D, h, w]
        if feats.shape[-2:] != colors.shape[-2:]:
            raise ValueError(f"features {tuple(feats.shape[-2:])} and colour targets {tuple(colors.shape[-2:])} "
                             "differ: the backbone's stride is not the task's feature stride")
        ref_feats, ref_colors = feats[:, :r], colors[:, :r]
        tgt_feats, tgt_colors = feats[:, r], colors[:, r]
        if self.options.control == "foreign":
            ids = video_ints(batch["video_id"], gray.device)
            perm = foreign_permutation(ids, strict=False)
            ref_feats, ref_colors = ref_feats[perm], ref_colors[perm]
            keep = ids[perm] != ids  # all True unless one video fills most of the batch (tiny held-out splits)
            if not bool(keep.all()):
                if not bool(keep.any()):  # nothing foreign to copy from: no loss, NaN diagnostics (skipped)
                    nan = dict.fromkeys(("color_acc", "majority_acc", "minority_acc", "minority_share",
                                         "copy_ceiling", "loss"), float("nan"))
                    return TaskOutput(loss=feats.sum() * 0.0 + sum(p.sum() * 0.0 for p in self.head.parameters()),
                                      diagnostics=nan, counts=0)
                ref_feats, ref_colors, tgt_feats, tgt_colors = (
                    ref_feats[keep], ref_colors[keep], tgt_feats[keep], tgt_colors[keep])
        logits = self.head(ref_feats, tgt_feats)
        k = self.palette.shape[0]
        loss, _ = colorization_loss(logits, ref_colors, tgt_colors, num_colors=k)
        diag = color_diagnostics(logits.detach(), ref_colors, tgt_colors, k)
        diag["loss"] = float(loss.detach())
        return TaskOutput(loss=loss, diagnostics=diag, counts=int(tgt_colors.shape[0]))


@torch.no_grad()
def color_diagnostics(logits: torch.Tensor, ref_colors: torch.Tensor, target_colors: torch.Tensor,
                      num_colors: int) -> dict[str, float]:
    """Colour accuracy of the pointer and the majority-colour baseline on the same examples.

    Args:
        logits: ``[B, N_target, N_ref]`` pointer logits.
        ref_colors: ``[B, R, h, w]`` reference colour indices.
        target_colors: ``[B, h, w]`` target colour indices.
        num_colors: K.

    Returns:
        ``color_acc``, ``majority_acc``, ``minority_acc``, ``minority_share``, ``copy_ceiling`` (see module docstring).
    """
    ref = ref_colors.flatten(1).long()
    tgt = target_colors.flatten(1).long()
    pred = copy_labels(logits, F.one_hot(ref, num_colors)).argmax(-1)  # [B, Nt]
    correct = pred == tgt
    majority = torch.mode(ref, dim=1).values  # [B]: most frequent reference colour per example
    minority = tgt != majority[:, None]
    present = F.one_hot(ref, num_colors).amax(1).bool()  # [B, K]: colours available in the references
    n_min = minority.sum()
    return {
        "color_acc": float(correct.float().mean()),
        "majority_acc": float((~minority).float().mean()),
        "minority_acc": float((correct & minority).sum() / n_min) if n_min else 0.0,
        "minority_share": float(minority.float().mean()),
        "copy_ceiling": float(present.gather(1, tgt).float().mean()),
    }


def _dense_twin(cfg: Any, backbone: nn.Module, stride: int) -> nn.Module | None:
    if not stride or stride == getattr(backbone, "spatial_stride", None):
        return None
    kwargs = {**cfg.model.kwargs, "output_stride": stride}
    try:
        twin = create_backbone(cfg.model.name, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"task.feature_stride={stride}: {cfg.model.name} cannot be built with output_stride="
                          f"{stride} ({err}); use 0 (the backbone's stride) or a tiny_cnn2d/ResNet backbone") from err
    own, other = backbone.state_dict(), twin.state_dict()
    if own.keys() != other.keys() or any(own[k].shape != other[k].shape for k in own):
        raise ConfigError(f"task.feature_stride={stride}: {cfg.model.name} changes its weights with output_stride; "
                          "the same weights cannot run at both strides")
    return twin


def build_task(cfg: Any) -> Colorization:
    """Build from a resolved recipe; fits the palette on the training split unless ``task.palette`` is given."""
    o: TaskConfig = cfg.task.options
    backbone = create_backbone(cfg.model.name, **cfg.model.kwargs)
    dense = _dense_twin(cfg, backbone, o.feature_stride)
    stride = int(getattr(dense if dense is not None else backbone, "spatial_stride", 8))
    if o.palette:
        palette = AbQuantizer.load(o.palette)
        if palette.num_colors != o.num_colors:
            raise ConfigError(f"task.palette={o.palette} has {palette.num_colors} colours, task.num_colors="
                              f"{o.num_colors}; make them agree")
    else:
        if not cfg.data.manifest:
            raise ConfigError("colorization needs a palette: give data.manifest (fit on its training split) or "
                              "task.palette=FILE.npy (python -m vidssl.tasks.color_palette MANIFEST FILE.npy)")
        from vidssl.train.data import split_videos

        videos = split_videos(cfg.data, cfg.data.train_split)
        palette = fit_palette(videos, num_colors=o.num_colors, cell=stride, max_videos=o.palette_videos,
                              size=cfg.data.resize, crop=cfg.data.crop_size, seed=cfg.run.seed,
                              backend=cfg.data.decode_backend)
    return Colorization(backbone, palette.centroids, o, mean=cfg.data.mean, std=cfg.data.std,
                        resize=cfg.data.resize, crop_size=cfg.data.crop_size, dense=dense)
