"""Kill + resume == uninterrupted (CPU): same metrics.json, same weights, same per-epoch log."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vidssl.train.engine import ResumeMismatchError
from vidssl.train.run_dir import read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
import toy_training

SCRIPT = Path(__file__).with_name("toy_training.py")
REPO = Path(__file__).resolve().parents[2]
DROPOUT = 0.3
COMMON_OVERRIDES = ["run.epochs=4", "optim.name=adamw", "optim.lr=0.01", "optim.warmup_epochs=1"]
COMMON = [*COMMON_OVERRIDES, "--dropout", str(DROPOUT)]


def _comparable(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("timing")
    for section in metrics.values():
        if isinstance(section, dict):
            for k in ("clips_per_s", "data_wait", "time_s"):
                section.pop(k, None)
    return metrics


def _epoch_losses(run_dir: Path) -> list[tuple[int, float, float]]:
    records = read_jsonl(run_dir / "log.jsonl")
    return [(r["epoch"], r["loss"], r["val/accuracy"]) for r in records if r["kind"] == "epoch"]


def _assert_same_run(a: Path, b: Path) -> None:
    assert _comparable(a) == _comparable(b)
    assert _epoch_losses(a) == _epoch_losses(b)
    wa = torch.load(a / "checkpoint.pt", weights_only=True)
    wb = torch.load(b / "checkpoint.pt", weights_only=True)
    assert wa["step"] == wb["step"]
    for k, v in wa["model"].items():
        assert torch.equal(v, wb["model"][k]), k
    for k, v in wa["optimizer"]["state"].items():
        assert torch.equal(v["exp_avg"], wb["optimizer"]["state"][k]["exp_avg"])


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "run"
    toy_training.run([f"run.out_dir={out}", *COMMON_OVERRIDES], dropout=DROPOUT)
    return out


def test_stop_after_epochs_then_resume_matches_uninterrupted(full_run, tmp_path, capsys):
    part = tmp_path / "part"
    first = toy_training.run([f"run.out_dir={part}", *COMMON_OVERRIDES, "run.stop_after_epochs=1"], dropout=DROPOUT)
    assert not first.complete and first.epochs_done == 1
    assert "rerun the same command to continue from epoch 2" in capsys.readouterr().err
    assert not (part / "metrics.json").exists()
    assert torch.load(part / "checkpoint.pt", weights_only=True)["epoch"] == 1
    torch.manual_seed(12345)  # the global RNG state must not matter: resume restores it from the checkpoint
    second = toy_training.run([f"run.out_dir={part}", *COMMON_OVERRIDES], dropout=DROPOUT)
    assert second.complete and "after epoch 1" in capsys.readouterr().err
    _assert_same_run(full_run, part)
    toy_training.run([f"run.out_dir={part}", *COMMON_OVERRIDES], dropout=DROPOUT)  # finished: not retrained
    assert "already trained for 4 epochs" in capsys.readouterr().err


def test_sigkill_mid_run_then_resume_matches_uninterrupted(full_run, tmp_path, capsys):
    killed = tmp_path / "killed"
    # A real process, killed with SIGKILL once its first checkpoint exists; slow examples (their values never
    # change) make the kill land inside a later epoch.
    proc = subprocess.Popen([sys.executable, str(SCRIPT), f"run.out_dir={killed}", *COMMON, "--delay", "0.02"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (killed / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert not (killed / "metrics.json").exists(), "the run finished before it could be killed"
    assert not list(killed.glob(".*.tmp")), "a temporary file was left behind"
    resumed = toy_training.run([f"run.out_dir={killed}", *COMMON_OVERRIDES], dropout=DROPOUT)
    assert resumed.complete and "resuming" in capsys.readouterr().err
    _assert_same_run(full_run, killed)


def test_resuming_with_a_different_recipe_is_refused(tmp_path):
    out = tmp_path / "run"
    toy_training.run([f"run.out_dir={out}", "run.epochs=2", "run.stop_after_epochs=1"])
    with pytest.raises(ResumeMismatchError, match=r"different recipe \(optim.lr: 0.1 -> 0.5\)"):
        toy_training.run([f"run.out_dir={out}", "run.epochs=2", "optim.lr=0.5"])
    fresh = toy_training.run([f"run.out_dir={out}", "run.epochs=2", "optim.lr=0.5", "run.resume=never"])
    assert fresh.complete
    assert [r["epoch"] for r in read_jsonl(out / "log.jsonl") if r["kind"] == "epoch"] == [1, 2]
