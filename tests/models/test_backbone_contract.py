"""Contract tests over every registered backbone (timm-style: new registrations are covered automatically)."""

from __future__ import annotations

import math

import pytest
import torch

from vidssl.models import Backbone, create_backbone, list_models

BACKBONES = list_models(kind="backbone")
LAYOUT_DIMS = {"BCHW": 4, "BCTHW": 5, "B1FT": 4}


def _example_input(model: Backbone) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Smallest input giving two output cells per axis, and the expected feature shape."""
    s, t = model.spatial_stride, model.temporal_stride
    size = 2 * s
    if model.input_layout == "BCHW":
        return torch.randn(2, 3, size, size), (2, model.num_features, 2, 2)
    if model.input_layout == "BCTHW":
        frames = max(2 * t, model.min_frames)
        return torch.randn(2, 3, frames, size, size), (2, model.num_features, math.ceil(frames / t), 2, 2)
    if model.input_layout == "B1FT":
        return torch.randn(2, 1, size, 2 * t), (2, model.num_features, 2, 2)
    raise AssertionError(f"unexpected layout {model.input_layout}")


def test_registry_has_required_backbones() -> None:
    required = {"resnet18", "resnet50", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "tiny_cnn2d", "tiny_cnn3d"}
    assert required <= set(BACKBONES)
    assert {"l3_audio", "l3_audio_tiny"} <= set(BACKBONES)


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_contract(name: str) -> None:
    torch.manual_seed(0)
    model = create_backbone(name)
    assert isinstance(model, Backbone)
    assert model.input_layout in LAYOUT_DIMS
    assert isinstance(model.num_features, int) and model.num_features > 0
    assert model.spatial_stride >= 1 and model.temporal_stride >= 1
    if model.input_layout == "BCHW":
        assert model.temporal_stride == 1

    x, want = _example_input(model)
    assert x.ndim == LAYOUT_DIMS[model.input_layout]
    feats = model.forward_features(x)
    # Strides must describe the real output size, not a nominal one.
    assert tuple(feats.shape) == want, f"{name}: {tuple(feats.shape)} != {want}"
    pooled = model(x)
    assert pooled.shape == (2, model.num_features)
    pooled.pow(2).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads), f"{name}: some parameters got no gradient"
    assert all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_rejects_wrong_layout(name: str) -> None:
    model = create_backbone(name)
    bad = torch.randn(2, 3, 4, 4, 4, 4)  # 6-D: no layout has it
    with pytest.raises(ValueError, match=model.input_layout):
        model.forward_features(bad)
