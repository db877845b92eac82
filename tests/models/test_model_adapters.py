"""ClipEncoder / FrameEncoder: layouts, pooling semantics (order sensitivity), 3D-on-frames behaviour."""

from __future__ import annotations

import pytest
import torch

from vidssl.models import ClipEncoder, FrameEncoder, create_backbone


@pytest.fixture
def tiny2d():
    torch.manual_seed(0)
    return create_backbone("tiny_cnn2d", width=8).eval()


def test_clip_encoder_2d_shapes(tiny2d) -> None:
    clip = torch.randn(2, 4, 3, 32, 32)
    enc = ClipEncoder(tiny2d, pooling="mean")
    assert enc.input_layout == "BTCHW" and enc.num_features == 32
    assert enc.forward_features(clip).shape == (2, 32, 4, 4, 4)
    assert enc(clip).shape == (2, 32)
    cat = ClipEncoder(tiny2d, pooling="concat", num_frames=4)
    assert cat.num_features == 4 * 32 and cat(clip).shape == (2, 128)


def test_clip_encoder_matches_per_frame_backbone(tiny2d) -> None:
    clip = torch.randn(2, 3, 3, 32, 32)
    per_frame = torch.stack([tiny2d(clip[:, t]) for t in range(3)], dim=1)  # [B, T, D]
    torch.testing.assert_close(ClipEncoder(tiny2d, pooling="mean")(clip), per_frame.mean(1))
    torch.testing.assert_close(ClipEncoder(tiny2d, pooling="max")(clip), per_frame.amax(1))
    torch.testing.assert_close(ClipEncoder(tiny2d, pooling="concat", num_frames=3)(clip), per_frame.flatten(1))


def test_mean_pooling_is_order_blind_concat_is_not(tiny2d) -> None:
    clip = torch.randn(1, 4, 3, 32, 32)
    reverse = clip.flip(1)
    mean = ClipEncoder(tiny2d, pooling="mean")
    torch.testing.assert_close(mean(clip), mean(reverse))
    cat = ClipEncoder(tiny2d, pooling="concat", num_frames=4)
    assert not torch.allclose(cat(clip), cat(reverse))
    conv = ClipEncoder(tiny2d, pooling="mean", temporal_kernel=3).eval()
    assert not torch.allclose(conv(clip), conv(reverse))


def test_clip_encoder_3d_permutes_once() -> None:
    net = create_backbone("tiny_cnn3d", width=8).eval()
    clip = torch.randn(2, 8, 3, 32, 32)  # BTCHW data layout
    enc = ClipEncoder(net)
    torch.testing.assert_close(enc.forward_features(clip), net.forward_features(clip.transpose(1, 2)))
    torch.testing.assert_close(enc(clip), net(clip.transpose(1, 2)))
    assert ClipEncoder(net, pooling="concat", num_frames=8).num_features == 2 * 32  # T' = 8 / 4


def test_clip_encoder_errors(tiny2d) -> None:
    with pytest.raises(ValueError, match="num_frames"):
        ClipEncoder(tiny2d, pooling="concat")
    with pytest.raises(ValueError, match="T=4"):
        ClipEncoder(tiny2d, pooling="concat", num_frames=4)(torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="BTCHW"):
        ClipEncoder(tiny2d)(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="BCHW or BCTHW"):
        ClipEncoder(create_backbone("l3_audio_tiny"))


def test_frame_encoder_2d_is_identity(tiny2d) -> None:
    frame = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(FrameEncoder(tiny2d)(frame), tiny2d(frame))


def test_frame_encoder_3d_repeat_and_single() -> None:
    net = create_backbone("tiny_cnn3d", width=8).eval()
    frame = torch.randn(2, 3, 32, 32)
    rep = FrameEncoder(net)
    assert rep.num_frames == net.temporal_stride and rep.input_layout == "BCHW"
    static_clip = frame.unsqueeze(2).repeat(1, 1, 4, 1, 1)
    torch.testing.assert_close(rep.forward_features(frame), net.forward_features(static_clip).mean(2))
    single = FrameEncoder(net, mode="single")
    assert single.forward_features(frame).shape == (2, 32, 4, 4)
    assert single(frame).shape == (2, 32)


def test_frame_encoder_single_rejected_for_s3d() -> None:
    s3d = create_backbone("s3d")
    with pytest.raises(ValueError, match="repeat"):
        FrameEncoder(s3d, mode="single")
    assert FrameEncoder(s3d).num_frames == 8
