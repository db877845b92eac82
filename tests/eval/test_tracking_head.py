"""SiamFC tracking head: crop geometry, box metrics, corpus loading, and learning on rendered moving squares."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from vidssl.eval.box_tracking_metrics import OTB_THRESHOLDS, box_iou, evaluate_tracks, static_tracker, success_curve
from vidssl.eval.tracking_data import BoxTrack, load_synth_tracks
from vidssl.eval.tracking_head import HeadConfig, crop_and_resize, evaluate_tracking, train_tracking_head
from vidssl.models import create_backbone


def render_track(seed: int, frames: int = 12, size: int = 64) -> BoxTrack:
    """A textured square bouncing over a smooth, weakly textured background (the object is what moves)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    bg = np.stack([60 + 80 * xx / size, 60 + 80 * yy / size, np.full_like(xx, 100.0)], -1)
    bg += rng.normal(0, 6, bg.shape)
    side = int(rng.integers(12, 19))
    tex = rng.uniform(0, 255, (side // 3 + 1, side // 3 + 1, 3)).repeat(3, 0).repeat(3, 1)[:side, :side]
    pos, vel = rng.uniform(4, size - side - 4, 2), rng.uniform(-3, 3, 2)
    out, boxes = [], []
    for _ in range(frames):
        f = bg.copy()
        x, y = pos.round().astype(int)
        f[y : y + side, x : x + side] = tex
        out.append(f.clip(0, 255).astype(np.uint8))
        boxes.append([x, y, x + side, y + side])
        pos += vel
        for d in range(2):
            if not 0 <= pos[d] <= size - side:
                vel[d] *= -1
                pos[d] = np.clip(pos[d], 0, size - side)
    return BoxTrack(f"sq{seed}", np.stack(out), np.array(boxes, np.float32))


def test_box_iou_and_success_curve_hand_computed():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(box_iou(a, b), [1.0, 50 / 150, 0.0])
    assert np.isnan(box_iou(np.array([np.nan] * 4), a[0]))
    curve = success_curve(np.array([1.0, 1 / 3, 0.0, np.nan]))
    assert curve[0] == pytest.approx(2 / 3)  # IoU > 0: two of three scored frames
    assert curve[-1] == 0.0 and len(curve) == len(OTB_THRESHOLDS) == 21


def test_evaluate_tracks_skips_the_first_and_hidden_frames():
    gt = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [np.nan] * 4, [4, 0, 14, 10]], float)
    scores = evaluate_tracks({"a": static_tracker(4, gt[0])}, {"a": gt})
    assert scores.num_frames == 2
    assert scores.mean_iou == pytest.approx((80 / 120 + 60 / 140) / 2)
    assert scores.auc == pytest.approx(success_curve(np.array([80 / 120, 60 / 140])).mean())


def test_crop_and_resize_centres_on_the_requested_point():
    img = torch.zeros(1, 1, 40, 60)
    img[..., 20:24, 30:34] = 1.0  # a 4x4 blob centred at (32, 22)
    crop = crop_and_resize(img, torch.tensor([[32.0, 22.0]]), torch.tensor([8.0]), 8)[0, 0]
    torch.testing.assert_close(crop[2:6, 2:6], torch.ones(4, 4))  # 1:1 scale, blob in the middle
    assert float(crop.sum()) == pytest.approx(16)
    out = crop_and_resize(img, torch.tensor([[-50.0, -50.0]]), torch.tensor([8.0]), 8)
    assert out.abs().sum() == 0  # outside the image: zeros (the mean after normalisation)


@pytest.fixture(autouse=True)
def one_thread():
    """Small convolutions run faster on one thread, and much faster when the machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def squares() -> tuple[list[BoxTrack], list[BoxTrack]]:
    return [render_track(i) for i in range(40)], [render_track(1000 + i) for i in range(8)]


def test_training_lowers_the_loss_and_beats_the_static_baseline(squares):
    train, test = squares
    torch.manual_seed(0)
    backbone = create_backbone("tiny_cnn2d", width=8, output_stride=4)
    cfg = HeadConfig(steps=160, batch_size=16, finetune_backbone=True, seed=0)
    trained = train_tracking_head(backbone, train, cfg)
    losses = np.array(trained.losses)
    assert losses[-20:].mean() < 0.6 * losses[:20].mean()
    scores, boxes = evaluate_tracking(trained.model, test, cfg)
    static = evaluate_tracks({t.name: static_tracker(len(t.frames), t.boxes[0]) for t in test},
                             {t.name: t.boxes for t in test})  # fmt: skip
    assert set(boxes) == {t.name for t in test}
    assert scores.auc > static.auc + 0.3 and scores.mean_iou > static.mean_iou + 0.3


def test_frozen_backbone_does_not_change(squares):
    train, _ = squares
    backbone = create_backbone("tiny_cnn2d", width=8, output_stride=4)
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    trained = train_tracking_head(backbone, train[:4], HeadConfig(steps=3, batch_size=4))
    after = trained.model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN running statistics
    assert any(p.requires_grad for p in trained.model.adapter.parameters())


def test_load_synth_tracks_reads_boxes_frames_and_splits(tmp_path):
    track = render_track(7, frames=5)
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "test.txt").write_text("v1\n")
    (tmp_path / "gt").mkdir()
    boxes = [None, *track.boxes[1:].tolist()]  # hidden in frame 0
    objects = [{"id": 1, "role": "main", "boxes": boxes}, {"id": 2, "role": "distractor", "boxes": boxes}]
    record = {"objects": objects, "files": {"frames": "davis/JPEGImages/v1"}}
    (tmp_path / "gt" / "v1.json").write_text(json.dumps(record))
    folder = tmp_path / "davis" / "JPEGImages" / "v1"
    folder.mkdir(parents=True)
    for t, f in enumerate(track.frames):
        Image.fromarray(f).save(folder / f"{t:05d}.jpg", quality=95)
    (got,) = load_synth_tracks(tmp_path, "test")
    assert got.name == "v1_1" and got.frames.shape == (4, 64, 64, 3)  # starts at the first visible frame
    np.testing.assert_allclose(got.boxes, track.boxes[1:])
    assert len(load_synth_tracks(tmp_path, "test", roles=("main", "distractor"))) == 2
    with pytest.raises(FileNotFoundError, match="no split list"):
        load_synth_tracks(tmp_path, "train")
