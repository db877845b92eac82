"""Precision and memory-format paths. CUDA ones are marked gpu (skipped without a GPU, see tests/conftest.py)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vidssl.models import create_backbone
from vidssl.train.precision import resolve_precision, to_channels_last

sys.path.insert(0, str(Path(__file__).parent))
import toy_training

REPO = Path(__file__).resolve().parents[2]


def test_cpu_runs_fp32_and_refuses_half_precision():
    assert resolve_precision("auto", torch.device("cpu")).name == "fp32"
    assert not resolve_precision("auto", torch.device("cpu")).make_scaler().is_enabled()
    with pytest.raises(ValueError, match="needs a CUDA device"):
        resolve_precision("bf16", torch.device("cpu"))


def test_channels_last_converts_2d_and_3d_weights():
    net2 = to_channels_last(create_backbone("tiny_cnn2d", width=8))
    net3 = to_channels_last(create_backbone("tiny_cnn3d", width=8))
    assert net2.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert net3.stem[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    y = net2(torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last))
    assert y.shape == (2, 32)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cuda_autocast_trains_and_checkpoints_the_scaler(tmp_path, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("GPU without bf16")
    out = tmp_path / precision
    result = toy_training.run([f"run.out_dir={out}", "run.epochs=2", "run.device=cuda",
                               f"run.precision={precision}", "optim.clip_grad=1.0"])
    assert result.complete and result.metrics["train"]["loss"] < 1.0
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert bool(state["scaler"]) == (precision == "fp16")  # GradScaler only for fp16
    assert "cuda" in state["rng"][0]


@pytest.mark.gpu
def test_cuda_channels_last_supervised_step():
    from vidssl.tasks.supervised import ActionClassification

    task = ActionClassification(create_backbone("tiny_cnn2d", width=8), num_classes=3, num_frames=4,
                                crop_size=32).cuda()
    to_channels_last(task)
    batch = {"clip": torch.randint(0, 255, (2, 4, 3, 32, 32), dtype=torch.uint8, device="cuda"),
             "label": torch.tensor([0, 2], device="cuda")}
    with resolve_precision("auto", torch.device("cuda")).autocast():
        out = task(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)


@pytest.mark.gpu
def test_nccl_two_processes(tmp_path):
    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 GPUs for nccl")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).with_name("toy_training.py")), f"run.out_dir={tmp_path}", "run.epochs=1",
           "run.device=cuda", "run.dist_backend=nccl"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "rank 1: finished" in out.stdout
