"""Held-out pretext validation: exact count-weighted averages, eval mode, fixed draws, and the wiring in pretrain."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vidssl.tasks import supervised
from vidssl.tasks.base import TaskOutput
from vidssl.tasks.registry import TASKS, TaskEntry
from vidssl.train.distributed import DistInfo
from vidssl.train.loop import DiagnosticSums, evaluate_task
from vidssl.train.precision import resolve_precision

REPO = Path(__file__).resolve().parents[2]
CPU = DistInfo()


class Recorder(nn.Module):
    """Reports per-batch diagnostics given in the batch, plus what mode it ran in and a random draw."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(1, 1)
        self.seen: list[tuple[bool, bool]] = []
        self.draws: list[float] = []

    def forward(self, batch: dict[str, torch.Tensor]) -> TaskOutput:
        self.seen.append((self.training, torch.is_grad_enabled()))
        self.draws.append(float(torch.rand(())))
        n = int(batch["x"].shape[0])
        loss = self.lin(batch["x"]).mean() * 0 + batch["loss"][0]
        return TaskOutput(loss, {"acc": float(batch["acc"][0]), "loss": 123.0, "maybe": float(batch["maybe"][0])}, n)


def _batches() -> list[dict[str, torch.Tensor]]:
    rows = [(4, 1.0, 0.5, 2.0), (2, 0.0, 1.0, math.nan)]  # n, acc, loss, maybe
    return [{"x": torch.zeros(n, 1), "acc": torch.tensor([a]), "loss": torch.tensor([lo]), "maybe": torch.tensor([m])}
            for n, a, lo, m in rows]


def test_diagnostic_sums_weight_by_counts_and_skip_nan():
    sums = DiagnosticSums()
    sums.add({"acc": 1.0, "loss": 9.0, "x": math.nan}, 3)
    sums.add({"acc": 0.0, "x": 2.0}, 1)
    avg, counts = sums.reduce(CPU)
    assert avg == {"acc": pytest.approx(0.75), "x": pytest.approx(2.0)}
    assert counts == {"acc": 4.0, "x": 1.0}
    empty = DiagnosticSums()
    empty.add({"y": math.nan}, 5)
    assert math.isnan(empty.averages(CPU)["y"])


def test_evaluate_task_is_eval_mode_no_grad_count_weighted_and_leaves_rng_alone():
    model = Recorder()
    model.train()
    precision = resolve_precision("fp32", torch.device("cpu"))
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    expected_next = (torch.rand(3), np.random.rand(), random.random())  # noqa: NPY002
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    out = evaluate_task(model, _batches(), dist_info=CPU, precision=precision, seed=7)
    assert model.training, "the previous mode is restored"
    assert model.seen == [(False, False), (False, False)]
    assert out["acc"] == pytest.approx(4 / 6)
    assert out["loss"] == pytest.approx((4 * 0.5 + 2 * 1.0) / 6), "val loss is TaskOutput.loss, not diagnostics"
    assert out["maybe"] == pytest.approx(2.0), "a nan batch value is left out of that key's average"
    assert out["examples"] == 6
    after = (torch.rand(3), np.random.rand(), random.random())  # noqa: NPY002
    assert torch.equal(after[0], expected_next[0]) and after[1:] == expected_next[1:]
    first = list(model.draws)
    evaluate_task(model, _batches(), dist_info=CPU, precision=precision, seed=7)
    assert model.draws[2:] == first, "random draws inside forward are fixed by the seed"


# ============ through `vidssl pretrain` on a tiny encoded corpus ============

FAKE = "vidssl_test_fake_pretext"


@pytest.fixture()
def fake_pretext(monkeypatch):
    """The supervised classifier registered as a *pretext* task (labels as a stand-in for a pretext target)."""
    module = types.ModuleType(FAKE)
    module.TaskConfig = supervised.TaskConfig
    module.build_task = supervised.build_task
    monkeypatch.setitem(sys.modules, FAKE, module)
    monkeypatch.setitem(TASKS, "fake_pretext", TaskEntry("fake_pretext", FAKE, "test stand-in", "pretext"))
    return "fake_pretext"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    synth(out, videos=20, frames=24, seed=1)
    return out / "manifest.csv"


TINY = ["data.num_frames=4", "data.frame_stride=2", "data.batch_size=4", "data.num_workers=0", "data.crop_size=48",
        "data.num_classes=10", "model.kwargs={width: 8}", "eval.clips_per_video=3", "run.epochs=2",
        "run.progress=false", "run.threads=1", "task.name=fake_pretext"]


def _cfg(corpus: Path, out: Path, *extra: str):
    from vidssl.train.config import PretrainConfig, load_config

    return load_config(PretrainConfig, REPO / "configs/pretrain/supervised_tiny.yaml",
                       [f"data.manifest={corpus}", f"run.out_dir={out}", *TINY, *extra])


def test_pretrain_validates_a_pretext_task_on_the_held_out_split(fake_pretext, corpus, tmp_path):
    from vidssl.train.commands import pretrain

    result = pretrain(_cfg(corpus, tmp_path / "run"))
    assert result.complete
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    val = metrics["val"]
    assert {"loss", "accuracy", "balanced_accuracy", "examples"} <= set(val)
    # 2 val videos x 3 draws = 6, rounded up to whole global batches of 4.
    assert val["examples"] == 8
    assert 0.0 <= val["accuracy"] <= 1.0
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(epochs) == 2 and all("val/accuracy" in r and "val/loss" in r for r in epochs)
    assert epochs[-1]["val/accuracy"] == val["accuracy"]
    assert "test" not in metrics, "pretext runs are not classification-tested"


def test_held_out_metric_is_reproducible_from_the_checkpoint(fake_pretext, corpus, tmp_path):
    from vidssl.tasks.registry import build_task
    from vidssl.train.checkpoint import load_checkpoint
    from vidssl.train.commands import pretrain
    from vidssl.train.evaluation import evaluate_pretext

    cfg = _cfg(corpus, tmp_path / "run", "run.epochs=1", "run.eval_every=0")
    pretrain(cfg)
    val = json.loads((tmp_path / "run" / "metrics.json").read_text())["val"]
    task = build_task(cfg)
    task.load_state_dict(load_checkpoint(tmp_path / "run" / "checkpoint.pt")["model"])
    again = evaluate_pretext(cfg, task, "val", CPU)
    assert again["accuracy"] == pytest.approx(val["accuracy"]) and again["loss"] == pytest.approx(val["loss"])
    assert again == evaluate_pretext(cfg, task, "val", CPU), "same examples and draws on every call"


def test_no_val_split_skips_validation_with_a_message(fake_pretext, corpus, tmp_path, capsys):
    from vidssl.train.commands import pretrain
    from vidssl.train.evaluation import has_split

    cfg = _cfg(corpus, tmp_path / "run", "data.val_split=nosuch", "run.epochs=1")
    assert not has_split(cfg, "nosuch") and has_split(cfg, "val")
    pretrain(cfg)
    assert "no held-out pretext validation" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["val"] == {}


def test_a_task_that_pairs_videos_skips_validation_on_a_one_video_split(fake_pretext, corpus, tmp_path, capsys,
                                                                        monkeypatch):
    """A pretext task drawing from other videos (AVC, colorization controls) cannot be validated on one video."""
    import pandas as pd

    from vidssl.train.commands import pretrain
    from vidssl.train.evaluation import split_size

    df = pd.read_csv(corpus)
    one = df["video_id"][df["split"] == "val"].iloc[0]
    df.loc[(df["split"] == "val") & (df["video_id"] != one), "split"] = "unused"
    manifest = corpus.parent / f"one_val_{tmp_path.name}.csv"  # next to the videos: paths stay relative
    df.to_csv(manifest, index=False)

    def build_pairing_task(cfg):
        task = supervised.build_task(cfg)
        task.uses_other_video = True
        return task

    monkeypatch.setattr(sys.modules[FAKE], "build_task", build_pairing_task)
    cfg = _cfg(manifest, tmp_path / "run", "run.epochs=1", "run.max_steps_per_epoch=1")
    assert split_size(cfg, "val") == 1
    pretrain(cfg)  # trains, does not crash at the end
    assert "has 1 usable video(s) and task fake_pretext needs 2" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["val"] == {}


DDP_SCRIPT = """
import json
import torch
from torch import nn
from torch.utils.data import Dataset
from vidssl.tasks.base import TaskOutput
from vidssl.train.distributed import cleanup_distributed, init_distributed
from vidssl.train.loaders import make_loader
from vidssl.train.loop import evaluate_task
from vidssl.train.precision import resolve_precision


class Numbers(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": torch.tensor([float(i)])}


class Mean(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, batch):
        x = batch["x"].flatten()
        return TaskOutput(x.mean() + self.w, {"mean_x": float(x.mean()), "big": float((x > 2).float().mean())}, len(x))


info = init_distributed("cpu", "gloo")
precision = resolve_precision("fp32", info.device)
out = {}
for n in (5, 1):
    loader = make_loader(Numbers(n), global_batch=2, dist_info=info, train=False).loader
    out[n] = evaluate_task(Mean(), loader, dist_info=info, precision=precision)
if info.is_main:
    print("RESULT " + json.dumps(out))
cleanup_distributed()
"""


def test_held_out_averages_are_exact_over_two_processes_with_uneven_shards(tmp_path):
    script = tmp_path / "ddp_eval.py"
    script.write_text(DDP_SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    # 5 examples: rank 0 gets 0, 2, 4 and rank 1 gets 1, 3 (batches of 1 per rank); averages as over one process.
    assert out["5"]["mean_x"] == pytest.approx(2.0) and out["5"]["loss"] == pytest.approx(2.0)
    assert out["5"]["big"] == pytest.approx(2 / 5) and out["5"]["examples"] == 5
    # 1 example: rank 1 sees no batch at all and still joins the reduction.
    assert out["1"]["mean_x"] == pytest.approx(0.0) and out["1"]["examples"] == 1
