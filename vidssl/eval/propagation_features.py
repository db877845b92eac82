"""Dense per-frame features for label propagation: raw Lab pixels, a registry backbone, or a run's checkpoint.

Every extractor maps ``uint8 [N, 3, H, W]`` RGB frames to ``float [N, D, H/s, W/s]`` (``s = stride``, ``H`` and
``W`` multiples of ``s``) and says which similarity its features are meant for:

* :class:`LabFeatures`: the "raw pixels" baseline (PAPERS.md §7.2: "raw-RGB features"): CIE Lab averaged over each
  ``s × s`` cell, compared by negative squared distance (colour distance; cosine would discard lightness).
* :class:`BackboneFeatures`: ``backbone.forward_features`` of any 2D (``"BCHW"``) registry backbone in eval mode,
  compared by cosine (CRW L2-normalises per location, PAPERS.md §3.4 step 1).

:func:`load_run_backbone` rebuilds a pretrained backbone from a training run folder (layout in its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from vidssl.data.transforms.color import IMAGENET_MEAN, IMAGENET_STD
from vidssl.data.transforms.lab import rgb_to_lab

__all__ = [
    "BackboneFeatures",
    "FeatureExtractor",
    "LabFeatures",
    "RunBackbone",
    "load_run_backbone",
    "random_backbone",
    "run_model_name",
]

Similarity = Literal["cosine", "euclidean"]
# Pretext tasks whose backbone only ever sees gray frames (Lab lightness): their features are computed on gray input.
GRAY_INPUT_TASKS = frozenset({"colorization"})


class FeatureExtractor(Protocol):
    """What label propagation needs from a feature source.

    Attributes:
        name: short label for tables (``lab``, ``random-resnet18_s8``, ``checkpoint``).
        stride: input pixels per feature cell.
        similarity: ``"cosine"`` or ``"euclidean"`` (see :func:`vidssl.eval.label_propagation.propagate_labels`).
    """

    name: str
    stride: int
    similarity: Similarity

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [N, 3, H, W] -> float [N, D, H/stride, W/stride]``."""
        ...


@dataclass
class LabFeatures:
    """CIE Lab colour averaged over ``stride × stride`` cells, divided by ``scale``.

    Args:
        stride: cell size in pixels; use the stride of the backbones it is compared with (8).
        scale: Lab units per feature unit. With τ = 0.05, colours 10 Lab units apart differ by 10 in logits,
            so the softmax is sharp; raise it for noisier videos.
        device: where to compute.
    """

    stride: int = 8
    scale: float = 10.0
    device: str = "cpu"
    name: str = "lab"
    similarity: Similarity = "euclidean"

    @torch.no_grad()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [N, 3, H, W] -> float [N, 3, H/s, W/s]`` (L, a, b in units of ``scale``)."""
        lab = rgb_to_lab(frames.to(self.device))
        return F.avg_pool2d(lab, self.stride) / self.scale


class BackboneFeatures:
    """``forward_features`` of a 2D backbone on normalised frames.

    Args:
        backbone: a registry backbone with ``input_layout == "BCHW"`` (put in eval mode here).
        name: label for tables.
        mean: per-channel mean of RGB in [0, 1] used when the backbone was trained (ImageNet by default, as
            CRW's test script).
        std: per-channel std.
        device: where to run.
        grayscale: feed the Lab lightness only, ``(L - 50) / 50`` as one channel (colourisation backbones trained on
            gray input; chosen automatically when the first convolution has one input channel).
        gray_like_rgb: with ``grayscale``, feed ``L / 100`` replicated to the first convolution's input channels and
            normalised with ``mean`` / ``std`` instead: the input convention of
            :meth:`vidssl.tasks.colorization.Colorization.network_input`, so a colourisation checkpoint sees at test
            time exactly what it was trained on (Vondrick et al. track on gray frames; colour input would be a
            domain shift for features that never saw chroma).
    """

    similarity: Similarity = "cosine"

    def __init__(
        self,
        backbone: nn.Module,
        *,
        name: str = "backbone",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        device: str | torch.device = "cpu",
        grayscale: bool | None = None,
        gray_like_rgb: bool = False,
    ) -> None:
        layout = getattr(backbone, "input_layout", "BCHW")
        if layout != "BCHW":
            raise ValueError(
                f"{name}: label propagation needs a 2D frame backbone (input_layout 'BCHW'), got {layout!r}; "
                "3D backbones give one feature map per clip, not per frame"
            )
        self.backbone = backbone.to(device).eval()
        self.name = name
        self.stride = int(getattr(backbone, "spatial_stride", 8))
        self.device = torch.device(device)
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        first = next((m for m in backbone.modules() if isinstance(m, nn.Conv2d)), None)
        self.in_channels = first.in_channels if first is not None else 3
        if grayscale is None:
            grayscale = self.in_channels == 1
        self.grayscale, self.gray_like_rgb = grayscale, gray_like_rgb

    @torch.no_grad()
    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """``uint8 [N, 3, H, W] -> float [N, D, H/s, W/s]``."""
        x = frames.to(self.device)
        if self.grayscale and self.gray_like_rgb:
            c = self.in_channels
            x = ((rgb_to_lab(x)[:, :1] / 100.0).expand(-1, c, -1, -1) - self.mean[:, :c]) / self.std[:, :c]
        elif self.grayscale:
            x = (rgb_to_lab(x)[:, :1] - 50.0) / 50.0
        else:
            x = (x.float() / 255.0 - self.mean) / self.std
        return self.backbone.forward_features(x).float()


def random_backbone(name: str, *, seed: int = 0, device: str = "cpu", **kwargs: Any) -> BackboneFeatures:
    """A randomly initialised registry backbone (the "random init" baseline), seeded for reproducibility.

    Args:
        name: registry name (``resnet18_s8``, ``tiny_cnn2d``; ``vidssl list-models --kind backbone``).
        seed: initialisation seed.
        device: where to run.
        **kwargs: builder options (``drop_layer4=True`` gives CRW's stride-8 res3 test encoder).
    """
    from vidssl.models import create_backbone

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = create_backbone(name, **kwargs)
    return BackboneFeatures(net, name=f"random-{name}", device=device)


@dataclass(frozen=True)
class RunBackbone:
    """A backbone rebuilt from a run folder.

    Attributes:
        backbone: the module, weights loaded, eval mode.
        name: registry name.
        kwargs: builder options.
        mean: normalisation mean from the run's ``data.mean`` (ImageNet when absent).
        std: normalisation std from ``data.std``.
        path: the checkpoint file read.
        grayscale: the run trained the backbone on gray frames (``task.name`` colorization): features are computed
            on gray input with the task's convention.
    """

    backbone: nn.Module
    name: str
    kwargs: Mapping[str, Any]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    path: Path
    grayscale: bool = False

    def features(self, device: str = "cpu", label: str = "checkpoint") -> BackboneFeatures:
        """A :class:`BackboneFeatures` with the run's normalisation (gray input if the run trained on gray)."""
        return BackboneFeatures(self.backbone, name=label, mean=self.mean, std=self.std, device=device,
                                grayscale=self.grayscale or None, gray_like_rgb=self.grayscale)


def _read_checkpoint(run: str | Path) -> tuple[Path, Mapping[str, Any]]:
    path = Path(run)
    path = path / "checkpoint.pt" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; pass a run folder holding checkpoint.pt")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping) or "backbone" not in state or "config" not in state:
        keys = sorted(state)[:10] if isinstance(state, Mapping) else type(state).__name__
        raise ValueError(f"{path}: expected a vidssl checkpoint with 'backbone' and 'config' entries, got {keys}")
    if "name" not in (state["config"].get("model") or {}):
        raise ValueError(f"{path}: config has no model.name; cannot tell which backbone to build")
    return path, state


def run_model_name(run: str | Path) -> str:
    """The registry name of a run's backbone (``config["model"]["name"]``)."""
    return str(_read_checkpoint(run)[1]["config"]["model"]["name"])


def load_run_backbone(run: str | Path, *, res3_if_resnet: bool = False, **override_kwargs: Any) -> RunBackbone:
    """Rebuild the pretrained backbone of a training run.

    Reads ``RUN_DIR/checkpoint.pt`` (or the file itself) with ``torch.load(weights_only=True)`` and expects the
    layout written by ``vidssl.train.checkpoint``: ``"backbone"`` = the backbone's state dict, ``"config"`` = the
    resolved recipe with ``config["model"] = {"name": registry name, "kwargs": builder options}`` and, optionally,
    ``config["data"]["mean"/"std"]`` (RGB in [0, 1]).

    Args:
        run: run folder or checkpoint file.
        res3_if_resnet: for ResNet backbones, drop layer4 (CRW's test-time encoder: stride-8 res3 features).
        **override_kwargs: builder options to change (e.g. ``drop_layer4=True`` to evaluate res3 features of a
            ResNet trained with layer4; the unused layer4 weights are then ignored).

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: the file lacks ``backbone`` or ``config.model.name``, or the weights do not fit.
    """
    from vidssl.models import create_backbone

    path, state = _read_checkpoint(run)
    config = state["config"]
    model = config["model"]
    if res3_if_resnet and str(model["name"]).startswith("resnet"):
        override_kwargs = {"drop_layer4": True, **override_kwargs}
    kwargs = {**dict(model.get("kwargs") or {}), **override_kwargs}
    net = create_backbone(model["name"], **kwargs)
    weights = dict(state["backbone"])
    if override_kwargs:  # options like drop_layer4 remove modules: keep only the keys the rebuilt net has
        own = net.state_dict()
        weights = {k: v for k, v in weights.items() if k in own}
    try:
        net.load_state_dict(weights)
    except RuntimeError as err:
        raise ValueError(f"{path}: backbone weights do not fit {model['name']} with {kwargs}: {err}") from err
    data = config.get("data") or {}
    mean = tuple(float(x) for x in data.get("mean", IMAGENET_MEAN))
    std = tuple(float(x) for x in data.get("std", IMAGENET_STD))
    gray = str((config.get("task") or {}).get("name", "")) in GRAY_INPUT_TASKS
    return RunBackbone(net.eval(), model["name"], kwargs, mean, std, path, grayscale=gray)
