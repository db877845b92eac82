"""Lab conversion against OpenCV's float convention, and k-means ab quantisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from vidssl.data.transforms import AbQuantizer, fit_kmeans, lab_to_rgb, nearest_centroid, rgb_to_lab, sample_ab_pixels


def _cv_lab(rgb01: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb01.astype(np.float32), cv2.COLOR_RGB2Lab)


def test_lab_matches_opencv_float_convention():
    rng = np.random.default_rng(0)
    img = rng.random((32, 32, 3)).astype(np.float32)
    img[0, :8] = rng.random((8, 3)) * 0.02  # dark pixels exercise the linear toe
    ours = rgb_to_lab(torch.from_numpy(img).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    ref = _cv_lab(img)
    err = np.abs(ours - ref)
    assert err.max() < 0.5  # OpenCV uses lookup tables; ours is the exact formula
    assert err.mean() < 0.1


def test_lab_from_uint8_every_gray_and_primaries():
    values = np.arange(256, dtype=np.uint8)
    img = np.stack([values, values, values], axis=-1)[None]  # [1, 256, 3]
    rgb = torch.from_numpy(img).permute(2, 0, 1)
    ours = rgb_to_lab(rgb).permute(1, 2, 0).numpy()
    ref = _cv_lab(img / 255.0)
    assert np.abs(ours - ref).max() < 0.5
    assert np.abs(ours[..., 1:]).max() < 1e-3  # grays have no chroma
    prim = np.array([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]], np.float32)
    lab = rgb_to_lab(torch.from_numpy(prim).permute(2, 0, 1)).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(lab, _cv_lab(prim), atol=0.1)
    assert abs(lab[0, 3, 0] - 100.0) < 1e-3 and lab[..., 1:].min() > -128 and lab[..., 1:].max() < 128


def test_lab_round_trip_and_batch_dims():
    x = torch.rand(2, 3, 3, 8, 8, dtype=torch.float64)
    lab = rgb_to_lab(x)
    assert lab.shape == x.shape and lab.dtype == torch.float64
    torch.testing.assert_close(lab_to_rgb(lab), x, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="3 channels"):
        rgb_to_lab(torch.rand(4, 8, 8))


def test_kmeans_recovers_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-60.0, 40.0], [0.0, 0.0], [50.0, -70.0]])
    pts = torch.cat([c + torch.randn(300, 2, generator=g) for c in centres])
    found = fit_kmeans(pts, 3, generator=torch.Generator().manual_seed(1))
    d = torch.cdist(centres, found)
    assert d.min(dim=1).values.max() < 0.5


def test_nearest_centroid_matches_brute_force():
    g = torch.Generator().manual_seed(2)
    pts, cents = torch.randn(1000, 2, generator=g), torch.randn(16, 2, generator=g)
    brute = ((pts[:, None] - cents[None]) ** 2).sum(-1).argmin(1)
    assert torch.equal(nearest_centroid(pts, cents, chunk=97), brute)


def test_quantizer_fit_assign_decode_save(tmp_path):
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (6, 3, 40, 40), dtype=torch.uint8, generator=g)
    ab = sample_ab_pixels(frames, 4000, generator=g)
    assert ab.shape == (4000, 2)
    q = AbQuantizer.fit(ab, k=16, generator=g)
    assert q.num_colors == 16
    lab = rgb_to_lab(frames)
    labels = q.assign(lab[:, 1:])
    assert labels.shape == (6, 40, 40) and labels.dtype == torch.long and labels.max() < 16
    decoded = q.decode(labels)
    assert decoded.shape == (6, 2, 40, 40)
    # every pixel's centroid is at least as close as any other centroid
    dist_assigned = (decoded - lab[:, 1:]).norm(dim=1)
    dist_any = torch.cdist(lab[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2), q.centroids).min(1).values
    torch.testing.assert_close(dist_assigned.reshape(-1), dist_any, atol=2e-3, rtol=0)
    q.save(tmp_path / "c.npy")
    torch.testing.assert_close(AbQuantizer.load(tmp_path / "c.npy").centroids, q.centroids)
    np.save(tmp_path / "bad.npy", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="ab centroids"):
        AbQuantizer.load(tmp_path / "bad.npy")
