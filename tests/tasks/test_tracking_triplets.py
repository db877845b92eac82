"""Tracking triplets (Wang & Gupta 2015): planning, patches, loss/mining wiring, control, and the CLI end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vidssl.data.collate import collate_examples
from vidssl.models import create_backbone
from vidssl.tasks import tracking_triplets as tt
from vidssl.tasks.base import DecodedSample
from vidssl.types import FrameBatch, VideoMeta

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine, two threads per test process are many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def textured_video(num_frames=16, size=64, seed=0, velocity=(2, 1)):
    """``uint8 [T, 3, H, W]`` frames of a textured 14-px square moving over a textured background, and its boxes."""
    rng = np.random.default_rng(seed)
    bg = (rng.random((size, size, 3)) * 60 + 80).astype(np.uint8)
    tex = (rng.random((14, 14, 3)) * 255).astype(np.uint8)
    frames, boxes = [], []
    for t in range(num_frames):
        f = bg.copy()
        x, y = 8 + velocity[0] * t, 12 + velocity[1] * t
        f[y : y + 14, x : x + 14] = tex
        frames.append(f)
        boxes.append([x, y, x + 14, y + 14])
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous(), np.asarray(boxes, np.float32)


def meta_for(name, frames, boxes=None):
    extra = {"boxes": {"0": boxes}} if boxes is not None else {}
    return VideoMeta(name, f"/none/{name}.mp4", num_frames=frames.shape[0], fps=16.0, width=64, height=64,
                     extra=extra)


def decoded(meta, plan, frames):
    idx = plan.unique_indices()
    fb = FrameBatch(frames[torch.from_numpy(idx)], torch.from_numpy(idx / 16.0), torch.from_numpy(idx))
    return DecodedSample(meta, plan, fb)


def tiny_task(**kw):
    opts = {"min_delta": 4, "max_delta": 8, "reference_fps": 0.0, "patch_size": 32, "embedding_dim": 16,
            "min_region": 0.25, **kw}
    return tt.TrackingTriplets(create_backbone("tiny_cnn2d", width=8), tt.TaskConfig(**opts))


def test_defaults_are_the_papers():
    o = tt.TaskConfig()
    assert (o.margin, o.symmetric, o.num_negatives, o.hard_ratio) == (0.5, False, 4, 0.5)
    assert (o.patch_size, o.embedding_dim, o.min_delta, o.max_delta) == (227, 1024, 15, 30)
    assert tt.BENCHMARK.metric == "triplet_acc" and tt.BENCHMARK.chance == 0.5
    assert "task.control=foreign" in tt.BENCHMARK.control.overrides
    assert (REPO / tt.BENCHMARK.recipe).is_file()


def test_gt_plan_and_example_follow_the_box():
    frames, boxes = textured_video()
    task = tiny_task(region="gt", hflip=False, jitter=0.0, context=1.0)
    meta = meta_for("a", frames, boxes)
    plan = task.plan(meta, np.random.default_rng(0))
    assert plan.info["region_source"] == "boxes" and plan.indices.shape == (2,)
    assert 4 <= plan.indices[1] - plan.indices[0] <= 8
    ex = task.make_example(decoded(meta, plan, frames), np.random.default_rng(0))
    assert ex["anchor"].shape == ex["positive"].shape == (3, 32, 32) and ex["anchor"].dtype == torch.uint8
    assert float(ex["moving"]) == 1.0 and ex["video_id"] == "a"
    # context 1, no jitter: both patches are (resized) crops of the same textured square
    diff = (ex["anchor"].float() - ex["positive"].float()).abs().mean()
    assert diff < 10, diff


def test_tracker_plan_decodes_every_frame_and_tracks_the_region():
    frames, boxes = textured_video(seed=2)
    task = tiny_task(region="tracker")
    meta = meta_for("b", frames)  # no boxes: proposal + median-flow tracker
    plan = task.plan(meta, np.random.default_rng(1))
    assert plan.info["region_source"] == "task"
    np.testing.assert_array_equal(plan.indices, np.arange(plan.indices[0], plan.indices[-1] + 1))
    start, end, moving = task.regions(decoded(meta, plan, frames))
    t0, t1 = plan.indices[0], plan.indices[-1]
    centre = lambda b: (np.asarray(b[:2]) + np.asarray(b[2:])) / 2  # noqa: E731
    assert moving
    # the proposal lies on the square and the tracked box moved with it
    assert np.abs(centre(start) - centre(boxes[t0])).max() < 7
    assert np.abs((centre(end) - centre(start)) - (centre(boxes[t1]) - centre(boxes[t0]))).max() < 2.5


def test_gt_option_falls_back_to_the_tracker_without_boxes():
    frames, _ = textured_video()
    task = tiny_task(region="gt")
    plan = task.plan(meta_for("c", frames), np.random.default_rng(0))
    assert plan.info["region_source"] == "task" and len(plan.indices) >= 5


def test_square_box_stays_inside_the_frame():
    top, left, s = tt.square_box(np.array([55.0, -4, 70, 8]), 20, 64, 64)
    assert (top, left, s) == (0, 44, 20)
    assert tt.square_box(np.array([0.0, 0, 10, 10]), 100, 64, 48) == (0, 0, 48)


@pytest.mark.parametrize("ids", [[0, 1, 2, 3], [0, 0, 1, 1, 2, 2], [5, 5, 5, 1, 2, 3], [0, 1]])
def test_foreign_permutation_never_pairs_a_video_with_itself(ids):
    ids = torch.tensor(ids)
    for seed in range(5):
        perm = tt.foreign_permutation(ids, torch.Generator().manual_seed(seed))
        assert sorted(perm.tolist()) == list(range(len(ids)))
        assert (ids[perm] != ids).all()
    with pytest.raises(ValueError):
        tt.foreign_permutation(torch.tensor([0, 0, 0, 1]))


def random_batch(b=8, size=32, same_video=False):
    g = torch.Generator().manual_seed(0)
    anchor = torch.randint(0, 256, (b, 3, size, size), dtype=torch.uint8, generator=g)
    positive = (anchor.int() + torch.randint(-10, 10, anchor.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    names = [f"v{i // 2 if same_video else i}" for i in range(b)]
    return {"anchor": anchor, "positive": positive, "moving": torch.ones(b), "video_id": names}


def test_forward_backward_and_diagnostics():
    torch.manual_seed(0)
    task = tiny_task()
    task.train()
    out = task(random_batch())
    assert out.loss.ndim == 0 and torch.isfinite(out.loss) and out.counts == 8
    out.loss.backward()
    assert task.backbone.stem[0].weight.grad.abs().sum() > 0
    assert task.head.layers[0].weight.grad.abs().sum() > 0
    d = out.diagnostics
    for k in ("triplet_acc", "retrieval_acc", "retrieval_chance", "pos_cos", "neg_cos", "violating_frac",
              "hard_ratio", "moving_frac", "negatives_per_pair", "loss"):
        assert k in d and np.isfinite(d[k]), k
    assert 0 <= d["triplet_acc"] <= 1 and d["retrieval_chance"] == pytest.approx(1 / 8)
    assert int(task.steps) == 1


def test_embeddings_are_unit_norm_and_loss_bounded_by_margin_plus_one():
    task = tiny_task().eval()
    emb = task.embed(random_batch()["anchor"])
    assert torch.allclose(emb.norm(dim=1), torch.ones(8), atol=1e-5)
    out = task(random_batch())
    # D = 1 - cos with non-negative (ReLU) embeddings: each hinge is at most 1 + M
    assert 0 <= float(out.loss.detach()) <= 1.5 + 1e-6


def test_curriculum_random_then_hard():
    task = tiny_task(hard_after_steps=2, hard_ratio=0.5)
    task.train()
    seen = []
    for _ in range(3):
        out = task(random_batch())
        seen.append(out.diagnostics["hard_ratio"])
    assert seen == [0.0, 0.0, 0.5]
    with torch.no_grad():
        task(random_batch())  # evaluation does not advance the clock
    assert int(task.steps) == 3


def test_negatives_never_come_from_the_anchor_video():
    task = tiny_task(num_negatives=8)
    batch = random_batch(same_video=True)  # two pairs per video
    ids = tt.video_ints(batch["video_id"])
    assert ids.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    out = task(batch)
    assert np.isfinite(out.diagnostics["triplet_acc"])


def test_perfect_embedding_scores_one_and_control_scores_chance():
    """With an embedding that identifies the video, triplet_acc is 1; under the control it is 0.5 exactly."""
    from vidssl.tasks.tracking_triplets import _diagnostics

    ids = torch.arange(16)
    emb = torch.nn.functional.one_hot(ids, 16).float()
    d = _diagnostics(emb, emb, ids, ids, 0.5)
    assert d["triplet_acc"] == 1.0 and d["retrieval_acc"] == 1.0
    perm = tt.foreign_permutation(ids, torch.Generator().manual_seed(0))
    d = _diagnostics(emb, emb[perm], ids, ids[perm], 0.5)
    # the positive is another video's patch: it ties with every true negative (all cos 0), so it never wins
    assert d["triplet_acc"] == 0.0 and d["pos_cos"] == 0.0


def test_control_mode_pairs_anchors_with_other_videos():
    task = tiny_task(control="foreign")
    batch = random_batch()
    out = task(batch)
    assert np.isfinite(float(out.loss.detach()))
    # the control's positive shares nothing with its anchor, so matching anchors to "positives" is chance:
    # compare with the normal mode on the same batch, where positives are near-copies of the anchors
    normal = tiny_task()
    normal.load_state_dict(task.state_dict())
    task.eval(), normal.eval()
    assert normal(batch).diagnostics["pos_cos"] > task(batch).diagnostics["pos_cos"]


def test_real_patches_through_the_dataset_collate():
    task = tiny_task(region="gt")
    examples = []
    for i in range(4):
        f, b = textured_video(seed=i)
        meta = meta_for(f"v{i}", f, b)
        rng = np.random.default_rng(i)
        plan = task.plan(meta, rng)
        examples.append(task.make_example(decoded(meta, plan, f), rng))
    batch = collate_examples(examples)
    assert batch["anchor"].shape == (4, 3, 32, 32) and batch["video_id"] == ["v0", "v1", "v2", "v3"]
    assert torch.isfinite(task(batch).loss)


@pytest.mark.slow
def test_pretrain_cli_end_to_end(tmp_path, synth):
    corpus = tmp_path / "corpus"
    synth(corpus, videos=6, frames=24, seed=2)
    from vidssl.cli.main import main

    for region in ("tracker", "gt"):
        run = tmp_path / f"run_{region}"
        rc = main(["pretrain", "-c", "configs/pretrain/tracking_triplets_tiny.yaml",
                   f"data.manifest={corpus}/manifest.csv", f"run.out_dir={run}", f"task.region={region}",
                   "data.batch_size=4", "data.clips_per_video=2", "data.num_workers=0", "run.epochs=1",
                   "run.max_steps_per_epoch=2", "run.progress=false", "run.threads=1", "model.kwargs={width: 8}"])
        assert rc == 0
        steps = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
        assert any("triplet_acc" in s for s in steps)
        ck = torch.load(run / "checkpoint.pt", weights_only=True)
        assert "steps" in ck["model"] and int(ck["model"]["steps"]) == 2
    rc = main(["pretrain", "-c", "configs/pretrain/tracking_triplets_tiny.yaml", f"data.manifest={corpus}/manifest.csv",
               f"run.out_dir={tmp_path}/ctrl", "task.control=foreign", "data.batch_size=4", "data.num_workers=0",
               "run.epochs=1", "run.max_steps_per_epoch=1", "run.progress=false", "model.kwargs={width: 8}"])
    assert rc == 0


def test_presets_parse_and_the_faithful_one_builds_the_papers_head():
    from vidssl.tasks.registry import build_task
    from vidssl.train.config import PretrainConfig, load_config

    tiny = load_config(PretrainConfig, REPO / "configs/pretrain/tracking_triplets_tiny.yaml")
    assert tiny.task.name == "tracking_triplets" and tiny.task.options.margin == 0.5
    cfg = load_config(PretrainConfig, REPO / "configs/pretrain/tracking_triplets_faithful.yaml")
    o = cfg.task.options
    assert (o.margin, o.symmetric, o.patch_size, o.min_delta, o.max_delta, cfg.data.batch_size) == (
        0.5, False, 227, 30, 30, 50)
    task = build_task(cfg)
    fc6, fc7 = task.head.layers[0], task.head.layers[2]
    assert (fc6.out_features, fc7.out_features) == (4096, 1024)


def test_foreign_permutation_best_effort_and_control_on_a_one_video_batch():
    ids = torch.tensor([0, 0, 0, 1, 2])  # video 0 holds 3 of 5: one same-video pair is unavoidable
    perm = tt.foreign_permutation(ids, torch.Generator().manual_seed(0), strict=False)
    assert sorted(perm.tolist()) == list(range(5)) and int((ids[perm] == ids).sum()) == 1
    task = tiny_task(control="foreign").eval()
    batch = random_batch(b=6)
    batch["video_id"] = ["a", "a", "a", "a", "b", "c"]  # e.g. a small held-out split
    out = task(batch)
    assert np.isfinite(out.diagnostics["triplet_acc"]) and out.counts == 4  # the 2 own-video pairs are dropped
    batch["video_id"] = ["a"] * 6
    out = task(batch)  # nothing foreign at all: zero loss, NaN diagnostics (skipped by the averages)
    assert float(out.loss.detach()) == 0.0 and np.isnan(out.diagnostics["triplet_acc"]) and out.counts == 0
    out.loss.backward()
