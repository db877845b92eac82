"""A tiny in-memory task and dataset for training-stack tests, runnable as a script (also under torchrun).

    python tests/train/toy_training.py run.out_dir=/tmp/r run.epochs=3 [key=value ...] [--dropout 0.2]

The dataset is deterministic from (seed, epoch, index) like the real ones (noise drawn per epoch), the task is a
small MLP classifier with an optional dropout (to exercise RNG-state restore). No BatchNorm, so a 2-process DDP run
matches a 1-process run with the same global batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from vidssl.data.seeding import sample_rng
from vidssl.losses.classification import cross_entropy_with_diagnostics
from vidssl.tasks.base import TaskOutput
from vidssl.train.config import PretrainConfig, load_config
from vidssl.train.engine import fit, setup_process

DIM, CLASSES = 8, 3


class ToyDataset(Dataset):
    """Gaussian blobs, one per class; each epoch redraws the noise from sample_rng(seed, epoch, index)."""

    def __init__(self, n: int = 48, seed: int = 0, delay: float = 0.0) -> None:
        self.n, self.seed, self.epoch, self.delay = n, seed, 0, delay
        centers = np.random.default_rng(1234).normal(size=(CLASSES, DIM)) * 2
        self.centers = torch.tensor(centers, dtype=torch.float32)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.delay:
            time.sleep(self.delay)  # lets a test kill the process mid-epoch; never changes the values
        rng = sample_rng(self.seed, self.epoch, index)
        label = index % CLASSES
        x = self.centers[label] + torch.tensor(rng.normal(size=DIM), dtype=torch.float32)
        return {"x": x, "label": torch.tensor(label)}


class ToyTask(nn.Module):
    """MLP backbone + linear head, cross-entropy; satisfies the Task contract."""

    name = "toy"
    uses_other_video = False

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(DIM, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(16, CLASSES)

    def plan(self, meta: Any, rng: np.random.Generator, other: Any = None) -> Any:
        raise NotImplementedError("in-memory toy: the dataset builds examples itself")

    def make_example(self, sample: Any, rng: np.random.Generator) -> Any:
        raise NotImplementedError("in-memory toy: the dataset builds examples itself")

    def forward(self, batch: dict[str, torch.Tensor]) -> TaskOutput:
        logits = self.head(self.drop(self.backbone(batch["x"])))
        loss, diag = cross_entropy_with_diagnostics(logits, batch["label"])
        return TaskOutput(loss, diag, counts=len(logits))


def accuracy(task: nn.Module, data: ToyDataset) -> float:
    """Accuracy on a fixed epoch of ``data`` (eval mode, no grad)."""
    was = task.training
    task.eval()
    data.set_epoch(10_000)
    batch = torch.utils.data.default_collate([data[i] for i in range(len(data))])
    with torch.no_grad():
        acc = (task.head(task.backbone(batch["x"])).argmax(1) == batch["label"]).float().mean().item()
    task.train(was)
    return acc


def run(overrides: list[str], dropout: float = 0.0, n: int = 48, delay: float = 0.0) -> Any:
    """Train the toy task with PretrainConfig defaults + ``overrides`` (small, CPU)."""
    base = ["data.batch_size=8", "data.num_workers=0", "optim.lr=0.1", "optim.name=sgd", "run.progress=false",
            "run.log_every=2", "run.threads=1"]
    cfg: PretrainConfig = load_config(PretrainConfig, None, base + overrides)
    info = setup_process(cfg)
    task = ToyTask(dropout)
    val = ToyDataset(n=24, seed=99)
    result = fit(cfg, task, ToyDataset(n=n, seed=cfg.run.seed, delay=delay), dist_info=info,
                 evaluate=lambda t, e: {"accuracy": accuracy(t, val)})
    print(f"rank {info.rank}: finished at epoch {result.epochs_done} complete={result.complete}", flush=True)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--delay", type=float, default=0.0)
    args, rest = parser.parse_known_args()
    run(rest, args.dropout, args.examples, args.delay)
    from vidssl.train.distributed import cleanup_distributed

    cleanup_distributed()
    sys.exit(0)
