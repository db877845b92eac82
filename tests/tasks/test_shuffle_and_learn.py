"""Shuffle and Learn task: tuple semantics, shapes, one training step, and `vidssl pretrain` through the CLI."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import torch

from vidssl.models import create_backbone
from vidssl.tasks import shuffle_and_learn as sal
from vidssl.tasks.base import DecodedSample
from vidssl.tasks.registry import build_task, task_config_class
from vidssl.train.config import PretrainConfig, load_config
from vidssl.types import FrameBatch, VideoMeta

REPO = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO / "configs/pretrain/shuffle_and_learn_tiny.yaml"


def _meta(n: int = 48, motion: np.ndarray | None = None) -> VideoMeta:
    return VideoMeta(video_id="v", path="/nonexistent/v.mp4", num_frames=n, fps=16.0, width=64, height=64,
                     motion=motion)


def _decoded(meta: VideoMeta, plan) -> DecodedSample:
    """Frames whose every pixel holds the frame index: what make_example outputs tells which frame it took."""
    idx = np.unique(plan.indices)
    data = torch.from_numpy(idx.astype(np.uint8))[:, None, None, None].expand(-1, 3, 32, 32).contiguous()
    return DecodedSample(meta, plan, FrameBatch(data, torch.from_numpy(idx / meta.fps), torch.from_numpy(idx)))


def _task(**options) -> sal.ShuffleAndLearnTask:
    opts = sal.TaskConfig(tau_max=12, tau_min=3, reference_fps=0.0, motion_estimate=False, frame_hidden=16,
                          **options)
    return sal.ShuffleAndLearnTask(create_backbone("tiny_cnn2d", width=8), opts, resize=0, crop_size=24)


def test_registry_resolves_and_recipes_validate():
    assert task_config_class("shuffle_and_learn") is sal.TaskConfig
    for preset in ("tiny", "faithful"):
        cfg = load_config(PretrainConfig, REPO / f"configs/pretrain/shuffle_and_learn_{preset}.yaml")
        assert cfg.task.name == "shuffle_and_learn"
    faithful = load_config(PretrainConfig, REPO / "configs/pretrain/shuffle_and_learn_faithful.yaml").task.options
    assert (faithful.tau_max, faithful.tau_min, faithful.neg_ratio) == (60, 15, 0.75)
    assert sal.BENCHMARK.metric == "balanced_acc" and sal.BENCHMARK.chance == 0.5
    assert sal.BENCHMARK.control.synth_flags == ("--static",)
    assert (REPO / sal.BENCHMARK.recipe).is_file()


def test_examples_follow_the_paper_tuples():
    """Positives (b,c,d)/(d,c,b), negatives (b,a,d)/(b,e,d): same endpoints, only the middle frame swapped."""
    task = _task()
    meta = _meta()
    rng = np.random.default_rng(0)
    kinds = collections.Counter()
    n = 400
    for _ in range(n):
        plan = task.plan(meta, rng)
        ex = task.make_example(_decoded(meta, plan), rng)
        assert ex["frames"].shape == (3, 3, 24, 24) and ex["frames"].dtype == torch.uint8
        shown = ex["frames"][:, 0, 0, 0].tolist()  # the frame index each tuple slot shows
        a, b, c, d, e = plan.info["abcde"]
        kind = sal.KINDS[int(ex["kind"])]
        kinds[kind] += 1
        assert shown == {"bcd": [b, c, d], "dcb": [d, c, b], "bad": [b, a, d], "bed": [b, e, d]}[kind]
        assert int(ex["label"]) == int(kind in ("bcd", "dcb"))
        assert b - a >= 3 and e - d >= 3 and d - b <= 12
    assert set(kinds) == {"bcd", "dcb", "bad", "bed"}
    negatives = kinds["bad"] + kinds["bed"]
    assert abs(negatives / n - 0.75) < 4 * np.sqrt(0.75 * 0.25 / n)  # the paper's 25 : 75 ratio


def test_one_crop_for_the_whole_tuple():
    task = _task()
    meta = _meta()
    rng = np.random.default_rng(1)
    plan = task.plan(meta, rng)
    sample = _decoded(meta, plan)
    gradient = torch.arange(32, dtype=torch.uint8).expand(32, 32)  # column index: reveals the crop's left edge
    sample.frames.data[:] = gradient
    ex = task.make_example(sample, rng)
    lefts = ex["frames"][:, :, 0, 0]
    assert (lefts == lefts[0, 0]).all() and ex["frames"].shape[-1] == 24


def test_high_motion_windows_are_used():
    motion = np.zeros(96, np.float32)
    motion[60:90] = 3.0
    task = _task(motion_quantile=0.9)
    rng = np.random.default_rng(2)
    for _ in range(50):
        plan = task.plan(_meta(96, motion), rng)
        a, *_, e = plan.info["abcde"]
        assert plan.info["motion_source"] == "motion" and e >= 60 and a < 90


def test_forward_backward_and_diagnostics():
    torch.manual_seed(0)
    task = _task()
    frames = torch.randint(0, 256, (8, 3, 3, 32, 32), dtype=torch.uint8)
    label = torch.tensor([1, 0, 0, 0, 1, 0, 0, 0])
    out = task({"frames": frames, "label": label, "motion_guided": torch.ones(8)})
    assert out.loss.ndim == 0 and out.counts == 8
    assert {"order_acc", "balanced_acc", "pos_recall", "neg_recall", "pos_frac", "motion_guided", "loss"} <= set(
        out.diagnostics)
    assert out.diagnostics["pos_frac"] == pytest.approx(0.25)
    out.loss.backward()
    assert task.backbone.stem[0].weight.grad is not None  # the shared trunk is trained through all three frames
    logits = task.logits(frames)
    assert logits.shape == (8, 2)
    # order matters: the head sees the concatenation, so reversing a shuffled tuple changes the logits
    task.eval()
    assert not torch.allclose(task.logits(frames), task.logits(frames[:, [2, 0, 1]]))


def test_pairwise_fusion_compares_frames():
    torch.manual_seed(0)
    task = _task(fusion="pairwise", concat_hidden=8)
    assert isinstance(task.head[0], sal.PairwiseOrderHead)
    task.eval()
    frames = torch.randint(0, 256, (4, 3, 3, 32, 32), dtype=torch.uint8)
    # the slots are |f0 - f1|, |f1 - f2|, |f0 - f2|: a reversed tuple swaps the first two, a static tuple is all zeros
    assert not torch.allclose(task.logits(frames), task.logits(frames[:, [1, 0, 2]]))
    static = frames[:, [0, 0, 0]]
    assert torch.allclose(task.logits(static), task.logits(frames[:, [1, 1, 1]]), atol=1e-5)
    task.train()
    out = task({"frames": frames, "label": torch.tensor([1, 0, 1, 0]), "motion_guided": torch.ones(4)})
    out.loss.backward()
    assert task.backbone.stem[0].weight.grad is not None
    with pytest.raises(ValueError, match="fusion"):
        _task(fusion="sum")


def test_order_diagnostics_balanced_accuracy():
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # predicts 1, 0, 0, 0
    d = sal.order_diagnostics(logits, torch.tensor([0, 0, 0, 1]))
    assert d["order_acc"] == pytest.approx(0.5) and d["balanced_acc"] == pytest.approx(1 / 3)
    assert d["pos_recall"] == 0.0 and d["neg_recall"] == pytest.approx(2 / 3)


def test_build_task_from_recipe_uses_registry_backbone():
    cfg = load_config(PretrainConfig, TINY_RECIPE, ["model.kwargs={width: 8}"])
    task = build_task(cfg)
    assert isinstance(task, sal.ShuffleAndLearnTask)
    assert type(task.backbone) is type(create_backbone("tiny_cnn2d"))
    assert task.crop_size == cfg.data.crop_size


# ============ `vidssl pretrain` end to end on a tiny encoded corpus ============


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    synth(out, videos=6, frames=24, seed=3)
    return out / "manifest.csv"


@pytest.mark.slow
def test_pretrain_cli_end_to_end(corpus, tmp_path, tiny_pretrain):
    metrics = tiny_pretrain(TINY_RECIPE, corpus, tmp_path / "run", "task.frame_hidden=16")
    assert metrics["steps"] == 2
    assert {"balanced_acc", "order_acc", "pos_frac"} <= set(metrics["train"])
