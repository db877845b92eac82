"""Audio-visual correspondence task: pair semantics, shapes, curriculum, one training step, and the CLI."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import torch

from vidssl.data.planners.audio_visual import KINDS
from vidssl.models import create_backbone
from vidssl.tasks import av_correspondence as avc
from vidssl.tasks.base import DecodedSample
from vidssl.tasks.registry import build_task, task_config_class
from vidssl.train.config import PretrainConfig, load_config
from vidssl.types import FrameBatch, VideoMeta

REPO = Path(__file__).resolve().parents[2]
TINY_RECIPE = REPO / "configs/pretrain/av_correspondence_tiny.yaml"


def _meta(vid: str, n: int = 48) -> VideoMeta:
    return VideoMeta(video_id=vid, path=f"/nonexistent/{vid}.mp4", num_frames=n, fps=16.0, width=64, height=64,
                     has_audio=True, audio_start=0.0, audio_duration=n / 16.0)


def _task(**options) -> avc.AudioVisualCorrespondence:
    opts = avc.TaskConfig(audio_model="l3_audio_tiny", audio_kwargs={"widths": (4, 8, 8, 16)}, fusion_hidden=16,
                          **options)
    return avc.AudioVisualCorrespondence(create_backbone("tiny_cnn2d", width=8), create_backbone(
        opts.audio_model, **opts.audio_kwargs), opts, crop_size=48)


def _decoded(task, meta: VideoMeta, other: VideoMeta, rng: np.random.Generator, samples: int = 16000):
    """Decode a plan without video files: frame pixels hold the frame index, audio is a constant."""
    plan = task.plan(meta, rng, other)
    idx = np.unique(plan.indices)
    data = torch.from_numpy(idx.astype(np.uint8))[:, None, None, None].expand(-1, 3, 64, 64).contiguous()
    frames = FrameBatch(data, torch.from_numpy(idx / meta.fps), torch.from_numpy(idx))
    return DecodedSample(meta, plan, frames, audio=[torch.full((1, samples), 0.1)], other=other)


def test_registry_resolves_and_recipes_validate():
    assert task_config_class("av_correspondence") is avc.TaskConfig
    for preset in ("tiny", "faithful"):
        cfg = load_config(PretrainConfig, REPO / f"configs/pretrain/av_correspondence_{preset}.yaml")
        assert cfg.task.name == "av_correspondence" and cfg.task.options.p_aligned == 0.5
    assert avc.BENCHMARK.metric == "avc_acc" and avc.BENCHMARK.chance == 0.5
    assert avc.BENCHMARK.control.synth_flags == ("--mismatched-audio",)
    assert avc.AudioVisualCorrespondence.uses_other_video


def test_pairs_labels_and_shapes():
    task = _task()
    meta, other = _meta("v"), _meta("o", 40)
    rng = np.random.default_rng(0)
    kinds = collections.Counter()
    n = 300
    for _ in range(n):
        sample = _decoded(task, meta, other, rng)
        (window,) = sample.plan.audio
        ex = task.make_example(sample, rng)
        kind = KINDS[int(ex["kind"])]
        kinds[kind] += 1
        assert ex["frames"].shape == (1, 3, 48, 48) and ex["frames"].dtype == torch.uint8
        assert ex["audio"].shape == (16000,) and ex["audio"].dtype == torch.float32
        assert int(ex["label"]) == int(kind == "aligned")
        frame_mid = (sample.plan.indices[0] + 0.5) / 16.0
        if kind == "aligned":  # the 1-s window centred on the frame, same video
            assert window.video_id is None and abs((window.start_s + window.end_s) / 2 - frame_mid) < 1e-6
        else:  # L3 negatives: another video's audio (no same-video shifts unless asked for)
            assert kind == "other" and window.video_id == "o"
    assert abs(kinds["aligned"] / n - 0.5) < 4 * np.sqrt(0.25 / n)  # balanced 50 / 50


def test_waveform_is_cut_or_padded_to_the_window():
    task = _task()
    rng = np.random.default_rng(1)
    for samples in (15990, 16000, 16010):
        ex = task.make_example(_decoded(task, _meta("v"), _meta("o"), rng, samples), rng)
        assert ex["audio"].shape == (16000,)


def test_hard_negative_curriculum():
    task = _task(p_shifted=0.5, hard_after_steps=3)
    meta, other = _meta("v"), _meta("o")
    rng = np.random.default_rng(2)
    assert task.current_p_shifted() == 0.0
    before = {task.plan(meta, rng, other).info["kind"] for _ in range(200)}
    assert "shifted" not in before  # easy negatives only at first
    task.steps.fill_(3)
    plans = [task.plan(meta, rng, other) for _ in range(300)]
    shifted = [p for p in plans if p.info["kind"] == "shifted"]
    assert 0.35 < len(shifted) / len(plans) < 0.65
    for p in shifted:  # same video, no overlap with the aligned window
        assert p.audio[0].video_id is None and abs(p.info["offset_s"]) >= 1.0 - 1e-9
        assert p.targets["label"] == 0


def test_forward_backward_steps_and_diagnostics():
    torch.manual_seed(0)
    task = _task(p_shifted=0.25, hard_after_steps=1)
    batch = {
        "frames": torch.randint(0, 256, (6, 1, 3, 48, 48), dtype=torch.uint8),
        "audio": torch.randn(6, 16000) * 0.1,
        "label": torch.tensor([1, 0, 1, 0, 1, 0]),
        "kind": torch.tensor([0, 1, 0, 1, 0, 2]),
    }
    out = task(batch)
    assert out.loss.ndim == 0 and out.counts == 6
    assert set(out.diagnostics) >= {"avc_acc", "balanced_acc", "acc_aligned", "acc_other", "acc_shifted",
                                    "p_shifted", "loss"}
    assert out.diagnostics["p_shifted"] == 0.0 and int(task.steps) == 1
    out.loss.backward()
    assert task.backbone.stem[0].weight.grad is not None
    assert next(task.audio_tower.parameters()).grad is not None
    task.eval()
    with torch.no_grad():
        task(batch)
    assert int(task.steps) == 1  # evaluation does not advance the curriculum
    assert task.audio_input(batch["audio"]).shape == (6, 1, 64, 98)  # 64 mel bands x 98 frames per second


def test_logspec_clip_and_bce_variants():
    task = _task(num_frames=4, frame_stride=2, audio_features="logspec", outputs=1)
    assert task.audio_input(torch.randn(2, 16000)).shape == (2, 1, 81, 199)  # L3 framing at 16 kHz
    batch = {"frames": torch.randint(0, 256, (2, 4, 3, 48, 48), dtype=torch.uint8), "audio": torch.randn(2, 16000),
             "label": torch.tensor([1, 0]), "kind": torch.tensor([0, 1])}
    logits, _ = task.predict(batch)
    assert logits.shape == (2, 1)
    task(batch).loss.backward()
    with pytest.raises(ValueError, match="sample_rate"):
        task.predict({**batch, "audio": torch.randn(2, 8000)})


def test_time_pooled_audio_and_distance_fusion():
    task = _task(audio_time_pool=4, audio_pool="time", fusion="distance")
    assert task.audio_input(torch.randn(2, 16000)).shape == (2, 1, 64, 25)  # 98 frames / 4, rounded up
    # time pooling keeps the frequency rows: 64 mel bands / 8 = 8 rows x 16 channels
    assert task.embed_audio(torch.randn(2, 16000)).shape == (2, 8 * 16)
    assert isinstance(task.head, avc.DistanceFusionHead)
    batch = {"frames": torch.randint(0, 256, (2, 1, 3, 48, 48), dtype=torch.uint8), "audio": torch.randn(2, 16000),
             "label": torch.tensor([1, 0]), "kind": torch.tensor([0, 1])}
    logits, _ = task.predict(batch)
    assert logits.shape == (2, 2)
    task(batch).loss.backward()
    assert task.audio_tower.features[0].weight.grad is not None
    with pytest.raises(ValueError, match="fusion"):
        _task(fusion="sum")


def test_build_task_from_recipe():
    cfg = load_config(PretrainConfig, TINY_RECIPE, ["model.kwargs={width: 8}"])
    task = build_task(cfg)
    assert isinstance(task, avc.AudioVisualCorrespondence)
    assert task.backbone.num_features == 32 and task.audio_tower.num_features == 64


# ============ `vidssl pretrain` end to end on a tiny encoded corpus ============


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    synth(out, videos=6, frames=32, seed=4)
    return out / "manifest.csv"


@pytest.mark.slow
def test_pretrain_cli_end_to_end(corpus, tmp_path, tiny_pretrain):
    metrics = tiny_pretrain(TINY_RECIPE, corpus, tmp_path / "run", "task.audio_kwargs={widths: [4, 8, 8, 16]}")
    assert metrics["steps"] == 2
    assert {"avc_acc", "balanced_acc", "acc_aligned"} <= set(metrics["train"])
