"""Iterable (streaming) training sets: steps per epoch come from num_samples(), capped; every rank stops together."""

import sys
from pathlib import Path

import pytest
from torch.utils.data import IterableDataset

from vidssl.train.config import PretrainConfig, load_config
from vidssl.train.engine import fit, setup_process
from vidssl.train.run_dir import read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
import toy_training


class ToyStream(IterableDataset):
    """Yields ``length`` toy examples per epoch (more than num_samples claims, like an uneven shard)."""

    def __init__(self, claimed: int | None, length: int) -> None:
        self.claimed, self.length, self.inner = claimed, length, toy_training.ToyDataset(n=length)

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def num_samples(self) -> int | None:
        return self.claimed

    def __iter__(self):
        return (self.inner[i] for i in range(self.length))


def _cfg(tmp_path, *extra):
    return load_config(PretrainConfig, None, [f"run.out_dir={tmp_path}", "run.epochs=2", "data.batch_size=8",
                                              "data.num_workers=0", "run.progress=false", "run.log_every=1", *extra])


def test_stream_length_from_num_samples(tmp_path):
    cfg = _cfg(tmp_path)
    result = fit(cfg, toy_training.ToyTask(), ToyStream(claimed=24, length=40), dist_info=setup_process(cfg))
    assert result.metrics["steps"] == 6  # 24 // 8 = 3 per epoch, although the stream could give 5
    steps = [r["step"] for r in read_jsonl(tmp_path / "log.jsonl") if r["kind"] == "step"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_stream_without_count_needs_a_step_cap(tmp_path):
    cfg = _cfg(tmp_path)
    with pytest.raises(ValueError, match=r"run\.max_steps_per_epoch"):
        fit(cfg, toy_training.ToyTask(), ToyStream(claimed=None, length=40), dist_info=setup_process(cfg))
    cfg = _cfg(tmp_path / "capped", "run.max_steps_per_epoch=2")
    result = fit(cfg, toy_training.ToyTask(), ToyStream(claimed=None, length=40), dist_info=setup_process(cfg))
    assert result.metrics["steps"] == 4
