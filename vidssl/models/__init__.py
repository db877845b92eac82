"""Backbones, heads, the model registry, input adapters and weight loading.

Usage:
    >>> import torch
    >>> from vidssl.models import ClipEncoder, create_backbone, create_head, list_models
    >>> list_models("tiny*")
    ['tiny_cnn2d', 'tiny_cnn3d']
    >>> trunk = create_backbone("tiny_cnn2d")                      # BCHW, 128-d, stride 8
    >>> clip_net = ClipEncoder(trunk, pooling="concat", num_frames=4)  # BTCHW, 4 * 128-d, order-preserving
    >>> head = create_head("classification", in_features=clip_net.num_features, num_classes=10)
    >>> head(clip_net(torch.randn(2, 4, 3, 64, 64))).shape
    torch.Size([2, 10])

Every model module is imported explicitly below; importing it registers its builders (no star imports).
"""

from torch import nn

from vidssl.models import backbones, heads  # noqa: F401  (explicit imports fill the registry)
from vidssl.models.adapters import ClipEncoder, FrameEncoder
from vidssl.models.backbones.base import Backbone, global_pool
from vidssl.models.cards import ModelCard, count_parameters, describe
from vidssl.models.ema import frozen_copy, update_momentum
from vidssl.models.registry import MODELS, ModelKind, Registry, register_backbone, register_head
from vidssl.models.weights import LoadReport, WeightsMismatchError, load_weights, save_weights

__all__ = [
    "MODELS",
    "Backbone",
    "ClipEncoder",
    "FrameEncoder",
    "LoadReport",
    "ModelCard",
    "ModelKind",
    "Registry",
    "WeightsMismatchError",
    "count_parameters",
    "create_backbone",
    "create_head",
    "create_model",
    "describe",
    "frozen_copy",
    "global_pool",
    "list_models",
    "load_weights",
    "register_backbone",
    "register_head",
    "save_weights",
    "update_momentum",
]


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build any registered model by name (``None`` kwargs dropped); see :meth:`Registry.create`."""
    return MODELS.create(name, **kwargs)


def create_backbone(name: str, **kwargs: object) -> Backbone:
    """Build a registered backbone; a head name raises ``ValueError``."""
    model = MODELS.create(name, kind="backbone", **kwargs)
    assert isinstance(model, Backbone)
    return model


def create_head(name: str, **kwargs: object) -> nn.Module:
    """Build a registered head; a backbone name raises ``ValueError``."""
    return MODELS.create(name, kind="head", **kwargs)


def list_models(pattern: str = "*", kind: ModelKind | None = None) -> list[str]:
    """Registered names matching the glob ``pattern`` (optionally only ``"backbone"`` or ``"head"``)."""
    return MODELS.list(pattern, kind=kind)
