"""Feature sources for propagation: Lab pixels, backbones, and rebuilding a backbone from a run's checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidssl.eval.label_propagation import PRESETS, segment_video
from vidssl.eval.propagation_features import (
    BackboneFeatures,
    LabFeatures,
    load_run_backbone,
    random_backbone,
    run_model_name,
)
from vidssl.models import create_backbone


class LocalNet(nn.Module):
    """A small stride-4 conv net standing in for a registry backbone."""

    input_layout = "BCHW"
    spatial_stride = 4
    num_features = 16

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 16, 3, 2, 1))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def frames(n: int = 2, h: int = 32, w: int = 48) -> torch.Tensor:
    return torch.randint(0, 255, (n, 3, h, w), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)


def test_lab_features_are_cell_means_in_scaled_lab():
    x = torch.zeros(1, 3, 16, 16, dtype=torch.uint8)
    x[..., :8, :8] = 255  # white top-left cell: L = 100, a = b = 0
    f = LabFeatures(stride=8, scale=10.0)(x)
    assert f.shape == (1, 3, 2, 2) and LabFeatures.similarity == "euclidean"
    torch.testing.assert_close(f[0, :, 0, 0], torch.tensor([10.0, 0.0, 0.0]), atol=1e-3, rtol=0)
    torch.testing.assert_close(f[0, :, 1, 1], torch.zeros(3), atol=1e-3, rtol=0)


def test_backbone_features_shape_and_eval_mode():
    net = LocalNet().train()
    ext = BackboneFeatures(net, name="local")
    assert ext.stride == 4 and ext.similarity == "cosine" and not net.training
    assert ext(frames()).shape == (2, 16, 8, 12)


def test_3d_backbones_are_refused_with_a_reason():
    net = create_backbone("tiny_cnn3d")
    with pytest.raises(ValueError, match="2D frame backbone"):
        BackboneFeatures(net)


def test_gray_backbones_get_the_lightness_channel():
    net = create_backbone("tiny_cnn2d", width=8, in_channels=1)
    ext = BackboneFeatures(net)
    assert ext.grayscale and ext(frames()).shape == (2, 32, 4, 6)


def test_random_backbone_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = random_backbone("tiny_cnn2d", seed=3, width=8)
    after = torch.rand(1)
    b = random_backbone("tiny_cnn2d", seed=3, width=8)
    assert torch.equal(before, after)
    torch.testing.assert_close(a(frames()), b(frames()))
    assert a.name == "random-tiny_cnn2d"


def save_run(path, name="tiny_cnn2d", kwargs=None, **extra):
    net = create_backbone(name, **(kwargs or {}))
    for p in net.parameters():
        nn.init.normal_(p, std=0.1)
    config = {"model": {"name": name, "kwargs": kwargs or {}}, "data": {"mean": [0.5, 0.5, 0.5], "std": [0.2] * 3}}
    path.mkdir(parents=True, exist_ok=True)
    torch.save({"backbone": net.state_dict(), "config": config, "model": {}, **extra}, path / "checkpoint.pt")
    return net


def test_load_run_backbone_restores_weights_and_normalisation(tmp_path):
    net = save_run(tmp_path / "run", kwargs={"width": 8})
    run = load_run_backbone(tmp_path / "run")
    assert run_model_name(tmp_path / "run") == "tiny_cnn2d"
    assert run.name == "tiny_cnn2d" and dict(run.kwargs) == {"width": 8}
    assert run.mean == (0.5, 0.5, 0.5) and run.std == (0.2, 0.2, 0.2)
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(run.backbone.forward_features(x), net.eval().forward_features(x))
    ext = run.features()
    torch.testing.assert_close(ext.mean.flatten(), torch.full((3,), 0.5))


def test_colorization_runs_are_fed_gray_frames_as_in_training(tmp_path):
    """A colourisation backbone only ever saw Lab lightness (L/100 replicated, normalised like RGB): same at test."""
    from vidssl.data.transforms.lab import rgb_to_lab

    net = save_run(tmp_path / "color", kwargs={"width": 8})
    ckpt = torch.load(tmp_path / "color" / "checkpoint.pt", weights_only=True)
    ckpt["config"]["task"] = {"name": "colorization"}
    torch.save(ckpt, tmp_path / "color" / "checkpoint.pt")
    run = load_run_backbone(tmp_path / "color")
    ext = run.features()
    assert run.grayscale and ext.grayscale and ext.gray_like_rgb
    x = frames()
    gray = (rgb_to_lab(x)[:, :1] / 100.0).expand(-1, 3, -1, -1)
    expected = net.eval().forward_features((gray - 0.5) / 0.2)
    torch.testing.assert_close(ext(x), expected)
    save_run(tmp_path / "rgb", kwargs={"width": 8})  # any other task keeps colour input
    assert not load_run_backbone(tmp_path / "rgb").features().grayscale


def test_load_run_backbone_stride_override_keeps_weights(tmp_path):
    save_run(tmp_path / "run", kwargs={"width": 8})
    dense = load_run_backbone(tmp_path / "run" / "checkpoint.pt", output_stride=4)
    assert dense.backbone.spatial_stride == 4
    assert dense.features()(frames()).shape == (2, 32, 8, 12)


def test_load_run_backbone_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_run_backbone(tmp_path)
    torch.save({"state_dict": {}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="'backbone' and 'config'"):
        load_run_backbone(tmp_path)
    torch.save({"backbone": {}, "config": {"model": {}}}, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match=r"model\.name"):
        load_run_backbone(tmp_path)
    save_run(tmp_path / "bad", kwargs={"width": 8})
    state = torch.load(tmp_path / "bad" / "checkpoint.pt", weights_only=True)
    state["config"]["model"]["kwargs"] = {"width": 16}
    torch.save(state, tmp_path / "bad" / "checkpoint.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_run_backbone(tmp_path / "bad")


def test_segment_video_with_a_backbone_runs_end_to_end():
    x = frames(4)
    mask = torch.zeros(32, 48, dtype=torch.uint8)
    mask[8:20, 8:24] = 1
    out = segment_video(x, mask, [1], BackboneFeatures(LocalNet()), PRESETS["tiny"])
    assert out.shape == (4, 32, 48) and set(out.unique().tolist()) <= {0, 1}
