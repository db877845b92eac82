"""Backbone options: dense strides, dropping layer4, grayscale inputs, tiny widths, audio layouts."""

from __future__ import annotations

import pytest
import torch

from vidssl.models import count_parameters, create_backbone
from vidssl.models.backbones import ResNet2d


@pytest.mark.parametrize(
    ("arch", "output_stride", "dilate", "drop_layer4", "stride", "features"),
    [
        ("resnet18", 32, False, False, 32, 512),
        ("resnet18", 16, False, False, 16, 512),
        ("resnet18", 8, False, False, 8, 512),
        ("resnet18", 8, True, False, 8, 512),
        ("resnet18", 8, False, True, 8, 256),  # CRW test-time encoder: stride-8 res3
        ("resnet18", 32, False, True, 16, 256),
        ("resnet50", 8, True, False, 8, 2048),
        ("resnet50", 16, False, True, 16, 1024),
    ],
)
def test_resnet2d_dense_options(arch, output_stride, dilate, drop_layer4, stride, features) -> None:
    net = ResNet2d(arch, output_stride=output_stride, dilate=dilate, drop_layer4=drop_layer4)
    assert net.spatial_stride == stride and net.num_features == features
    out = net.forward_features(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, features, 64 // stride, 64 // stride)


def test_resnet18_dilation_applied_only_when_asked() -> None:
    plain = ResNet2d("resnet18", output_stride=8)
    dilated = ResNet2d("resnet18", output_stride=8, dilate=True)
    assert plain.layer4[1].conv1.dilation == (1, 1)
    assert dilated.layer3[0].conv1.dilation == (1, 1)  # first block keeps the previous dilation (torchvision)
    assert dilated.layer3[1].conv1.dilation == (2, 2)
    assert dilated.layer4[1].conv2.dilation == (4, 4)
    assert count_parameters(plain) == count_parameters(dilated)


def test_resnet_grayscale_input() -> None:
    net = create_backbone("resnet18_s8", in_channels=1, drop_layer4=True)
    assert net.forward_features(torch.randn(1, 1, 32, 32)).shape == (1, 256, 4, 4)


@pytest.mark.parametrize(("output_stride", "cells"), [(4, 16), (8, 8), (16, 4)])
def test_tiny_cnn2d_strides_at_64(output_stride: int, cells: int) -> None:
    net = create_backbone("tiny_cnn2d", output_stride=output_stride)
    assert net.forward_features(torch.randn(1, 3, 64, 64)).shape == (1, 128, cells, cells)


def test_tiny_nets_are_tiny_and_width_configurable() -> None:
    for name in ("tiny_cnn2d", "tiny_cnn3d", "l3_audio_tiny"):
        n = count_parameters(create_backbone(name))
        assert 1e5 <= n <= 5e5, (name, n)
    narrow = create_backbone("tiny_cnn2d", width=8)
    assert narrow.num_features == 32 and count_parameters(narrow) < 3e4


@pytest.mark.parametrize("temporal_stride", [1, 2, 4])
def test_tiny_cnn3d_temporal_stride(temporal_stride: int) -> None:
    net = create_backbone("tiny_cnn3d", temporal_stride=temporal_stride)
    out = net.forward_features(torch.randn(1, 3, 8, 32, 32))
    assert out.shape == (1, 64, 8 // temporal_stride, 4, 4)


def test_l3_audio_accepts_bft_and_faithful_spectrogram_size() -> None:
    net = create_backbone("l3_audio_tiny").eval()
    spec = torch.randn(2, 257, 199)  # L3: 1 s at 48 kHz -> 257 x 199
    feats = net.forward_features(spec)
    assert feats.shape == (2, 128, 32, 24)  # the paper's "audio 32×24" map
    torch.testing.assert_close(net(spec), feats.amax(dim=(2, 3)))  # global max-pool
    torch.testing.assert_close(net(spec), net(spec.unsqueeze(1)))


def test_s3d_rejects_too_few_frames() -> None:
    net = create_backbone("s3d")
    with pytest.raises(ValueError, match="at least 5 frames"):
        net.forward_features(torch.randn(1, 3, 4, 64, 64))


def test_vcop_style_10_layer_r3d() -> None:
    r10 = create_backbone("r3d_18", layers=(1, 1, 1, 1))
    assert count_parameters(r10) < count_parameters(create_backbone("r3d_18"))
    assert r10(torch.randn(1, 3, 8, 32, 32)).shape == (1, 512)
