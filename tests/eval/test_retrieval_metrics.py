import numpy as np
import pytest
import torch

from vidssl.eval.retrieval import clip_features, retrieval_topk
from vidssl.models import ClipEncoder, create_backbone


def test_any_of_k_hand_computed():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.7, 0.7], [0.0, -1.0]])
    g_labels = np.array([0, 1, 2, 3, 1])
    query = np.array([[2.0, 0.1], [0.1, -3.0], [-1.0, 0.2]])  # cosine ignores the norm
    q_labels = np.array([3, 2, 4])
    # q0 ranks: g0 (cos .998), g3 (.74), g1, g4, g2 -> class 3 first appears at rank 2
    # q1 ranks: g4, g0, g3, g2?, ...: cos(q1,g2) = -0.033 vs cos(q1,g1) = -0.99 -> g4, g0, g2, g3, g1 -> rank 3
    # q2 has a class absent from the gallery -> never found
    out = retrieval_topk(query, q_labels, gallery, g_labels, ks=(1, 2, 3, 10))
    third = pytest.approx(1 / 3)
    assert out == {"top1": 0.0, "top2": third, "top3": pytest.approx(2 / 3), "top10": pytest.approx(2 / 3)}


def test_identical_features_and_ties_follow_gallery_order():
    g = np.ones((3, 4))
    out = retrieval_topk(np.ones((1, 4)), np.array([7]), g, np.array([1, 7, 7]), ks=(1, 2))
    assert out == {"top1": 0.0, "top2": 1.0}


def test_vcop_and_pool_features_shapes():
    torch.manual_seed(0)
    enc = ClipEncoder(create_backbone("tiny_cnn2d", width=8), pooling="mean", num_frames=4).eval()
    clips = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        dense = enc.forward_features(clips)  # [2, 32, 4, 4, 4]
        vcop = clip_features(enc, clips, "vcop")
        pool = clip_features(enc, clips, "pool")
    assert dense.shape == (2, 32, 4, 4, 4)
    assert vcop.shape == (2, 32 * 4 * 2 * 2)  # (1, 2, 2) max pool halves H' and W'
    torch.testing.assert_close(vcop.reshape(2, 32, 4, 2, 2)[:, :, :, 0, 0], dense[:, :, :, :2, :2].amax(dim=(-1, -2)))
    torch.testing.assert_close(pool, dense.mean(dim=(2, 3, 4)))
