"""Colorization propagation (Vondrick et al. 2018): palette, gray input, pointer loss, diagnostics, control, CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vidssl.data.collate import collate_examples
from vidssl.data.transforms.lab import lab_to_rgb, rgb_to_lab
from vidssl.data.transforms.quantize import AbQuantizer
from vidssl.models import create_backbone
from vidssl.tasks import color_palette as cp
from vidssl.tasks import colorization as co
from vidssl.tasks.base import DecodedSample
from vidssl.types import FrameBatch, VideoMeta

REPO = Path(__file__).resolve().parents[2]
# Four isoluminant colours (L = 60): gray cannot tell them apart, only copying can.
AB = torch.tensor([[40.0, 20.0], [-30.0, 30.0], [10.0, -40.0], [-20.0, -20.0]])


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine, two threads per test process are many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def isoluminant(ab_map: torch.Tensor, light: float = 60.0) -> torch.Tensor:
    """``uint8 [..., 3, H, W]`` RGB of Lab ``(light, a, b)`` with ``ab_map`` float ``[..., 2, H, W]``."""
    lab = torch.cat([torch.full_like(ab_map[..., :1, :, :], light), ab_map], dim=-3)
    return (lab_to_rgb(lab) * 255).round().to(torch.uint8)


def color_video(seed: int, num_frames=24, size=64) -> torch.Tensor:
    """Background colour + a moving square of another colour, all at the same lightness: ``uint8 [T, 3, H, W]``."""
    g = torch.Generator().manual_seed(seed)
    bg, fg = torch.randperm(4, generator=g)[:2]
    frames = []
    for t in range(num_frames):
        idx = torch.full((size, size), int(bg))
        x, y = 4 + t, 10 + t // 2
        idx[y : y + 16, x : x + 16] = int(fg)
        frames.append(AB[idx].permute(2, 0, 1))
    return isoluminant(torch.stack(frames))


def tiny_task(**kw) -> co.Colorization:
    opts = co.TaskConfig(**{"num_colors": 4, "min_skip": 2, "max_skip": 3, "target_skip": 0, "embed_dim": 16, **kw})
    backbone = create_backbone("tiny_cnn2d", width=8)
    dense = create_backbone("tiny_cnn2d", width=8, output_stride=4)
    return co.Colorization(backbone, AB.clone(), opts, crop_size=64, dense=dense)


def example(task, seed):
    frames = color_video(seed)
    meta = VideoMeta(f"v{seed}", f"/none/v{seed}.mp4", num_frames=frames.shape[0], fps=16.0, width=64, height=64)
    rng = np.random.default_rng(seed)
    plan = task.plan(meta, rng)
    idx = plan.unique_indices()
    fb = FrameBatch(frames[torch.from_numpy(idx)], torch.from_numpy(idx / 16.0), torch.from_numpy(idx))
    return task.make_example(DecodedSample(meta, plan, fb), rng)


def test_defaults_are_vondricks():
    o = co.TaskConfig()
    assert (o.num_refs, o.num_colors, o.embed_dim, o.temperature, o.test_temperature) == (3, 16, 64, 1.0, 0.5)
    assert co.BENCHMARK.metric == "color_acc" and co.BENCHMARK.chance == "majority_acc"
    assert "task.control=foreign" in co.BENCHMARK.control.overrides and not co.BENCHMARK.control.synth_flags
    assert (REPO / co.BENCHMARK.recipe).is_file()


def test_cell_ab_averages_rgb_per_cell():
    frames = color_video(0)[:2]
    ab = cp.cell_ab(frames, 4)
    assert ab.shape == (2, 2, 16, 16)
    # a cell fully inside the background has exactly the background colour (up to uint8 rounding)
    lab = rgb_to_lab(frames[:, :, -4:, -4:])[:, 1:].mean(dim=(-1, -2))
    torch.testing.assert_close(ab[:, :, -1, -1], lab, atol=0.5, rtol=0)
    assert cp.cell_ab(frames, 1).shape == (2, 2, 64, 64)
    with pytest.raises(ValueError, match="multiple"):
        cp.cell_ab(frames[..., :30], 8)


def test_palette_fit_save_load_roundtrip(tmp_path, monkeypatch):
    frames = torch.cat([color_video(s)[::6] for s in range(6)])  # 24 frames, 4 colours
    monkeypatch.setattr(cp, "sample_frames", lambda *a, **k: frames)
    palette = cp.fit_palette([], num_colors=4, cell=4, num_pixels=5000, seed=0)
    assert palette.centroids.shape == (4, 2)
    # every true colour is within a few ab units of a centroid (cells on object borders mix, the centres win)
    dist = torch.cdist(AB, palette.centroids).min(dim=1).values
    assert dist.max() < 6, dist
    path = tmp_path / "palette.npy"
    palette.save(path)
    assert np.load(path).dtype == np.float32
    torch.testing.assert_close(AbQuantizer.load(path).centroids, palette.centroids)
    again = cp.fit_palette([], num_colors=4, cell=4, num_pixels=5000, seed=0)
    torch.testing.assert_close(again.centroids, palette.centroids)  # seeded: reproducible


def test_palette_travels_with_the_model_state():
    task = tiny_task()
    other = tiny_task()
    other.palette.mul_(0)  # a different palette, as another run would have
    other.load_state_dict(task.state_dict())
    torch.testing.assert_close(other.palette, AB)
    # the workers' quantiser follows the loaded palette (load_state_dict post hook)
    torch.testing.assert_close(other._quantizer.centroids, AB)


def test_plan_and_example_shapes_and_gray_only_input():
    task = tiny_task()
    ex = example(task, 0)
    assert ex["gray"].shape == (4, 1, 64, 64) and ex["gray"].dtype == torch.float32
    assert ex["colors"].shape == (4, 16, 16) and ex["colors"].dtype == torch.int64
    assert set(ex) == {"gray", "colors", "video_id"}  # no ab channel reaches the batch
    assert 0 <= float(ex["gray"].min()) and float(ex["gray"].max()) <= 100
    # isoluminant colours: gray is (nearly) flat although the frames hold two colours
    assert float(ex["gray"].std()) < 1.0 and len(ex["colors"].unique()) >= 2


def test_network_input_ignores_ab_at_constant_lightness():
    task = tiny_task().eval()
    a, b = color_video(1)[:4], color_video(2)[:4]  # same L everywhere, different colours
    ga, gb = rgb_to_lab(a)[:, :1], rgb_to_lab(b)[:, :1]
    torch.testing.assert_close(ga, gb, atol=0.6, rtol=0)  # uint8 rounding of the isoluminant RGB
    assert task.network_input(ga).shape == (4, 3, 64, 64)


def batch_of(task, seeds):
    return collate_examples([example(task, s) for s in seeds])


def test_forward_backward_and_diagnostics():
    torch.manual_seed(0)
    task = tiny_task()
    task.train()
    bn = task.backbone.stem[1]
    before = bn.running_mean.clone()
    out = task(batch_of(task, range(4)))
    assert out.loss.ndim == 0 and torch.isfinite(out.loss) and out.counts == 4
    out.loss.backward()
    assert task.backbone.stem[0].weight.grad.abs().sum() > 0  # the backbone's own weights get the gradient
    assert task.head.embed.weight.grad.abs().sum() > 0
    assert not torch.equal(before, bn.running_mean)  # stride-4 twin updates the backbone's BN statistics
    d = out.diagnostics
    for k in ("color_acc", "majority_acc", "minority_acc", "minority_share", "copy_ceiling", "loss"):
        assert k in d and 0 <= d[k] <= max(1.0, d["loss"]), k
    assert d["majority_acc"] + d["minority_share"] == pytest.approx(1.0)


def test_temperature_one_in_training_half_at_test():
    task = tiny_task()
    task.train()
    assert task.head.current_temperature() == 1.0
    task.eval()
    assert task.head.current_temperature() == 0.5


def test_diagnostics_of_an_oracle_pointer_and_the_majority_baseline():
    ref = torch.tensor([[[[0, 0], [0, 1]]]])  # [B=1, R=1, 2, 2]: majority colour 0
    tgt = torch.tensor([[[0, 1], [0, 0]]])  # target pixel 1 has colour 1, which sits at reference pixel 3
    logits = torch.full((1, 4, 4), -50.0)
    logits[0, 0, 0] = logits[0, 1, 3] = logits[0, 2, 1] = logits[0, 3, 2] = 50.0
    d = co.color_diagnostics(logits, ref, tgt, 2)
    assert d["color_acc"] == 1.0 and d["majority_acc"] == 0.75 and d["minority_acc"] == 1.0
    assert d["minority_share"] == 0.25 and d["copy_ceiling"] == 1.0
    d = co.color_diagnostics(torch.zeros(1, 4, 4), ref, tgt, 2)  # uniform pointer = majority vote
    assert d["color_acc"] == d["majority_acc"] == 0.75 and d["minority_acc"] == 0.0


def test_control_takes_references_from_another_video():
    """Every video uses its own colour: copying works within a video and cannot work across videos."""
    task, ctrl = tiny_task(), tiny_task(control="foreign")
    ctrl.load_state_dict(task.state_dict())
    task.eval(), ctrl.eval()
    frames = {s: isoluminant(AB[s].view(1, 2, 1, 1).expand(24, 2, 64, 64)) for s in range(4)}
    examples = []
    for s in range(4):
        meta = VideoMeta(f"v{s}", "/none", num_frames=24, fps=16.0, width=64, height=64)
        rng = np.random.default_rng(s)
        plan = task.plan(meta, rng)
        idx = plan.unique_indices()
        fb = FrameBatch(frames[s][torch.from_numpy(idx)], torch.from_numpy(idx / 16.0), torch.from_numpy(idx))
        examples.append(task.make_example(DecodedSample(meta, plan, fb), rng))
    batch = collate_examples(examples)
    d = task(batch).diagnostics
    assert d["color_acc"] == d["copy_ceiling"] == 1.0
    d = ctrl(batch).diagnostics
    assert d["copy_ceiling"] == 0.0 and d["color_acc"] == d["majority_acc"] == 0.0


def test_crop_size_must_fit_the_stride():
    with pytest.raises(ValueError, match="multiple"):
        co.Colorization(create_backbone("tiny_cnn2d", width=8), AB, co.TaskConfig(num_colors=4), crop_size=60)


@pytest.mark.slow
def test_pretrain_cli_end_to_end_fits_saves_and_reuses_the_palette(tmp_path, synth):
    corpus = tmp_path / "corpus"
    synth(corpus, videos=6, frames=24, seed=3)
    from vidssl.cli.main import main

    common = [f"data.manifest={corpus}/manifest.csv", "data.batch_size=4", "data.num_workers=0", "run.epochs=1",
              "run.max_steps_per_epoch=2", "run.progress=false", "run.threads=1", "model.kwargs={width: 8}"]
    run = tmp_path / "run"
    assert main(["pretrain", "-c", "configs/pretrain/colorization_tiny.yaml", f"run.out_dir={run}", *common]) == 0
    steps = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert any("color_acc" in s and "majority_acc" in s for s in steps)
    palette = torch.load(run / "checkpoint.pt", weights_only=True)["model"]["palette"]
    assert palette.shape == (16, 2)
    # a palette file made by the module's CLI is used as is
    path = tmp_path / "palette.npy"
    assert cp.main([f"{corpus}/manifest.csv", str(path), "--cell", "4", "--size", "64", "--crop", "64"]) == 0
    run2 = tmp_path / "run2"
    assert main(["pretrain", "-c", "configs/pretrain/colorization_tiny.yaml", f"run.out_dir={run2}",
                 f"task.palette={path}", "task.control=foreign", *common]) == 0
    saved = torch.load(run2 / "checkpoint.pt", weights_only=True)["model"]["palette"]
    torch.testing.assert_close(saved, torch.from_numpy(np.load(path)))


def test_presets_parse_and_the_faithful_one_builds_with_a_palette_file(tmp_path):
    from vidssl.tasks.registry import build_task
    from vidssl.train.config import PretrainConfig, load_config

    tiny = load_config(PretrainConfig, REPO / "configs/pretrain/colorization_tiny.yaml")
    assert tiny.task.options.feature_stride == 4 and tiny.task.options.num_colors == 16
    path = tmp_path / "palette.npy"
    AbQuantizer(torch.randn(16, 2) * 30).save(path)
    cfg = load_config(PretrainConfig, REPO / "configs/pretrain/colorization_faithful.yaml", [f"task.palette={path}"])
    assert (cfg.data.crop_size, cfg.task.options.num_refs, cfg.task.options.embed_dim) == (256, 3, 64)
    task = build_task(cfg)
    assert task.stride == 8 and task.palette.shape == (16, 2)  # 32x32x64 embeddings at 256 px
    torch.testing.assert_close(task.palette, torch.from_numpy(np.load(path)))
    with pytest.raises(Exception, match="colours"):
        build_task(load_config(PretrainConfig, REPO / "configs/pretrain/colorization_faithful.yaml",
                               [f"task.palette={path}", "task.num_colors=8"]))


def test_control_on_batches_mostly_from_one_video():
    ctrl = tiny_task(control="foreign").eval()
    batch = batch_of(ctrl, [0, 0, 0, 1])  # one video holds 3 of 4: the own-video target is dropped
    batch["video_id"] = ["v0", "v0", "v0", "v1"]
    out = ctrl(batch)
    assert out.counts == 2 and np.isfinite(out.diagnostics["color_acc"])
    batch["video_id"] = ["v0"] * 4
    out = ctrl(batch)
    assert out.counts == 0 and np.isnan(out.diagnostics["color_acc"]) and float(out.loss.detach()) == 0.0
