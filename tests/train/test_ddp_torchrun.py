"""A real 2-process torchrun (gloo, CPU) against one process with the same global batch."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidssl.train.run_dir import read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
import toy_training

SCRIPT = Path(__file__).with_name("toy_training.py")
REPO = Path(__file__).resolve().parents[2]
ARGS = ["run.epochs=2", "data.batch_size=8", "--examples", "40"]


def _train(cmd: list[str]) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out


def test_two_process_ddp_matches_one_process(tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    toy_training.run([f"run.out_dir={single}", *ARGS[:2]], n=40)  # reference: this process, world size 1
    out = _train([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                  str(SCRIPT), f"run.out_dir={ddp}", *ARGS])
    # both ranks trained to the end
    assert "rank 0: finished at epoch 2" in out.stdout and "rank 1: finished at epoch 2" in out.stdout
    # files written once, by rank 0
    epochs = [r for r in read_jsonl(ddp / "log.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    steps = [r["step"] for r in read_jsonl(ddp / "log.jsonl") if r["kind"] == "step"]
    assert steps == sorted(set(steps))
    assert len(list(ddp.glob("events.out.tfevents.*"))) == 1
    assert not list(ddp.glob(".*.tmp"))
    state = torch.load(ddp / "checkpoint.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    assert json.loads((ddp / "git.json").read_text())["world_size"] == 2
    # same optimisation as one process with the same global batch (40 examples / 8 = 5 steps per epoch)
    ref = torch.load(single / "checkpoint.pt", weights_only=True)
    assert state["step"] == ref["step"] == 10
    m_ddp = json.loads((ddp / "metrics.json").read_text())
    m_one = json.loads((single / "metrics.json").read_text())
    assert m_ddp["train"]["loss"] == pytest.approx(m_one["train"]["loss"], rel=1e-4)
    losses = [(r["loss"]) for r in read_jsonl(ddp / "log.jsonl") if r["kind"] == "step"]
    ref_losses = [(r["loss"]) for r in read_jsonl(single / "log.jsonl") if r["kind"] == "step"]
    assert losses == pytest.approx(ref_losses, rel=1e-4)
    for k, v in ref["model"].items():
        torch.testing.assert_close(state["model"][k], v, rtol=1e-4, atol=1e-5)


def test_global_batch_must_split_over_processes():
    from vidssl.train.loaders import per_rank_batch

    assert per_rank_batch(8, 2) == 4
    with pytest.raises(ValueError, match=r"data\.batch_size=8 or 12"):
        per_rank_batch(10, 4)
