import math
import sys
from pathlib import Path

import pytest

from vidssl.tasks.base import TaskOutput
from vidssl.train.logging.metric_logger import MetricLogger
from vidssl.train.loop import NonFiniteLossError
from vidssl.train.run_dir import read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
import toy_training


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "run"
    result = toy_training.run([f"run.out_dir={out}", "run.epochs=2", "run.log_every=1"])
    return out, result


def test_run_folder_contents(toy_run):
    out, result = toy_run
    assert result.complete
    for name in ("config.yaml", "git.json", "log.jsonl", "metrics.json", "checkpoint.pt", "loss_curves.png"):
        assert (out / name).is_file(), name
    assert (out / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = read_jsonl(out / "log.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 13))  # log_every=1: one line per step
    assert {"loss", "lr", "wd", "clips_per_s", "data_wait", "accuracy"} <= set(steps[0])
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [1, 2]
    assert 0.0 <= steps[-1]["data_wait"] <= 1.0
    assert set(result.metrics) >= {"train", "val", "timing", "epochs", "steps"}


def test_tensorboard_events_are_readable(toy_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, _ = toy_run
    acc = EventAccumulator(str(out))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "val/accuracy", "epoch/loss"} <= set(tags)
    losses = acc.Scalars("train/loss")
    assert [e.step for e in losses][:3] == [1, 2, 3]
    logged = [r["loss"] for r in read_jsonl(out / "log.jsonl") if r["kind"] == "step"]
    assert [e.value for e in losses[:12]] == pytest.approx(logged, rel=1e-6)


def test_metric_logger_counts_and_averages():
    meters = MetricLogger(total=4, enabled=False)
    for i, batch in enumerate(meters.iterate(range(4))):
        meters.update(clips=10, loss=float(batch))
        assert i == batch
    s = meters.summary()
    assert meters.iterations == 4 and meters.clips == 40
    assert s["loss"] == pytest.approx(1.5) and s["clips_per_s"] > 0 and 0 <= s["data_wait"] <= 1


class _NaNTask(toy_training.ToyTask):
    def forward(self, batch):
        out = super().forward(batch)
        return TaskOutput(out.loss * math.nan, out.diagnostics, out.counts)


def test_non_finite_loss_stops_with_advice(tmp_path):
    from vidssl.train.config import PretrainConfig, load_config
    from vidssl.train.engine import fit, setup_process

    cfg = load_config(PretrainConfig, None, [f"run.out_dir={tmp_path}", "run.epochs=1", "data.batch_size=8",
                                             "data.num_workers=0", "run.progress=false"])
    with pytest.raises(NonFiniteLossError, match=r"lower optim\.lr"):
        fit(cfg, _NaNTask(), toy_training.ToyDataset(16), dist_info=setup_process(cfg))
    assert not (tmp_path / "checkpoint.pt").exists()
