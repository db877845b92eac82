"""Head shapes and the structural claims their docstrings make."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vidssl.models import create_head
from vidssl.models.heads import ProjectionHead, clip_order_permutations, projection_mlp


def test_classification_head_pooled_and_dense() -> None:
    head = create_head("classification", in_features=16, num_classes=5, dropout=0.5).eval()
    assert head(torch.randn(3, 16)).shape == (3, 5)
    dense = torch.randn(3, 16, 2, 4, 4)
    torch.testing.assert_close(head(dense), head(dense.mean(dim=(2, 3, 4))))


@pytest.mark.parametrize("frame_hidden", [None, 8])
def test_order_head_concatenates_in_order(frame_hidden) -> None:
    torch.manual_seed(0)
    head = create_head("order", in_features=6, num_frames=3, frame_hidden=frame_hidden).eval()
    x = torch.randn(4, 3, 6)
    assert head(x).shape == (4, 2)
    assert not torch.allclose(head(x), head(x[:, [2, 1, 0]]))  # order matters: concatenation, not pooling
    assert head.fc.in_features == 3 * (frame_hidden or 6)
    with pytest.raises(ValueError, match=r"\[B, 3, D\]"):
        head(torch.randn(4, 2, 6))


@pytest.mark.parametrize("num_clips", [3, 4])
def test_vcop_head_pairs_and_classes(num_clips: int) -> None:
    head = create_head("vcop", in_features=8, num_clips=num_clips, hidden=5).eval()
    assert head(torch.randn(2, num_clips, 8)).shape == (2, math.factorial(num_clips))
    assert head.pairs == [(i, j) for i in range(num_clips) for j in range(i + 1, num_clips)]
    assert head.fc.in_features == len(head.pairs) * 5


def test_vcop_head_matches_reference_loop() -> None:
    torch.manual_seed(0)
    head = create_head("vcop", in_features=4, num_clips=3, hidden=6).eval()
    x = torch.randn(2, 3, 4)
    pair_feats = [torch.relu(head.pair_fc(torch.cat([x[:, i], x[:, j]], 1))) for i in range(3) for j in range(i + 1, 3)]
    torch.testing.assert_close(head(x), head.fc(torch.cat(pair_feats, 1)))


def test_clip_order_permutations() -> None:
    perms = clip_order_permutations(3)
    assert len(perms) == 6 and perms[0] == (0, 1, 2) and len(set(perms)) == 6


def test_projection_heads() -> None:
    mlp = create_head("projection_mlp", in_features=8, hidden_features=16, out_features=4, num_layers=3)
    assert mlp(torch.randn(5, 8)).shape == (5, 4)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in mlp.modules()) == 2
    custom = ProjectionHead([(8, 8, None, nn.ReLU()), (8, 3, None, None)])
    assert custom(torch.randn(2, 8)).shape == (2, 3)
    assert projection_mlp(8, 16, 4, num_layers=1)(torch.randn(2, 8)).shape == (2, 4)


def test_embedding_head_normalised_pooled_and_dense() -> None:
    head = create_head("embedding", in_features=8, dim=6)
    out = head(torch.randn(4, 8))
    assert out.shape == (4, 6)
    nonzero = out.norm(dim=1) > 0
    torch.testing.assert_close(out.norm(dim=1)[nonzero], torch.ones(int(nonzero.sum())))
    crw = create_head("embedding", in_features=8, dim=5, relu=False)
    dense = crw(torch.randn(2, 8, 3, 3))
    assert dense.shape == (2, 5, 3, 3)
    torch.testing.assert_close(dense.norm(dim=1), torch.ones(2, 3, 3))


def test_av_fusion_head() -> None:
    head = create_head("av_fusion")
    assert head(torch.randn(3, 512), torch.randn(3, 512)).shape == (3, 2)
    assert head.fc1.in_features == 1024 and head.fc1.out_features == 128
    with pytest.raises(ValueError, match="batch sizes"):
        head(torch.randn(3, 512), torch.randn(2, 512))
