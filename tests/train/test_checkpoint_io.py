import random

import numpy as np
import pytest
import torch

from vidssl.models import create_backbone
from vidssl.train.checkpoint import CheckpointError, load_backbone, load_checkpoint, save_checkpoint
from vidssl.train.config import PretrainConfig, load_config
from vidssl.train.config_schema import to_dict
from vidssl.train.run_dir import atomic_write, atomic_write_text, config_differences, git_revision
from vidssl.train.seed import capture_rng_state, restore_rng_state


class _Holder(torch.nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.head = torch.nn.Linear(backbone.num_features, 3)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")

    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind


def test_rng_state_round_trip_through_a_weights_only_file(tmp_path):
    state = capture_rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    torch.save({"rng": [state]}, tmp_path / "s.pt")
    random.random(), np.random.rand(), torch.rand(5)  # noqa: NPY002 (advance everything)
    restore_rng_state(torch.load(tmp_path / "s.pt", weights_only=True)["rng"][0])
    got = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert got[0] == expected[0] and got[1] == expected[1] and torch.equal(got[2], expected[2])


def test_checkpoint_layout_and_load_backbone(tmp_path):
    cfg = load_config(PretrainConfig, None, ["model.name=tiny_cnn2d", "model.kwargs={width: 8}"])
    torch.manual_seed(0)
    task = _Holder(create_backbone("tiny_cnn2d", width=8))
    opt = torch.optim.SGD(task.parameters(), lr=0.1, momentum=0.9)
    path = save_checkpoint(tmp_path / "checkpoint.pt", task=task, optimizer=opt, scaler=None,
                           schedules={"lr": np.ones(4), "wd": np.zeros(4)}, rng=[capture_rng_state()], epoch=2,
                           step=8, config=to_dict(cfg))
    state = load_checkpoint(tmp_path)  # a run folder works as well as the file
    assert {"model", "backbone", "optimizer", "scheduler", "scaler", "rng", "epoch", "step", "config"} <= set(state)
    assert state["epoch"] == 2 and state["step"] == 8 and state["config"]["model"]["kwargs"] == {"width": 8}
    net = load_backbone(tmp_path)
    assert not net.training
    for k, v in task.backbone.state_dict().items():
        assert torch.equal(net.state_dict()[k], v), k
    x = torch.randn(2, 3, 32, 32)
    task.backbone.eval()
    torch.testing.assert_close(net(x), task.backbone(x))
    assert path.stat().st_mode & 0o044  # readable by others like any file open() creates (umask permitting)


def test_bad_checkpoints_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="finished at least one epoch"):
        load_checkpoint(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path)
    torch.save({"weights": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match=r"model\.weights="):
        load_checkpoint(tmp_path)


def test_config_differences_ignore_resume_safe_keys():
    a = to_dict(load_config(PretrainConfig, None, ["run.out_dir=a"]))
    b = to_dict(load_config(PretrainConfig, None, ["run.out_dir=b", "run.stop_after_epochs=1", "optim.lr=0.5"]))
    assert config_differences(a, b) == ["optim.lr: 0.01 -> 0.5"]


def test_git_revision_in_this_checkout():
    info = git_revision()
    assert set(info) == {"commit", "dirty", "branch"}
    if info["commit"] is not None:
        assert len(info["commit"]) == 40 and isinstance(info["dirty"], bool)
