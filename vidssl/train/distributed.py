"""Multi-process training through ``torchrun``: process group, device choice, reductions and the epoch sampler.

Launch (DDP; gloo on CPU, nccl on GPU; multi-node with torchrun's usual ``--nnodes/--node_rank/--rdzv_*`` flags)::

    torchrun --nproc_per_node 4 -m vidssl pretrain --config configs/pretrain/supervised_tiny.yaml
    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 -m vidssl pretrain ...

Without torchrun (no ``WORLD_SIZE`` in the environment) everything runs in one process and the helpers below are
no-ops, so the same code path serves both.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

__all__ = [
    "DistInfo",
    "ShardedSampler",
    "all_gather_objects",
    "barrier",
    "cleanup_distributed",
    "init_distributed",
    "is_distributed",
    "reduce_sums",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits.

    Attributes:
        rank: global rank (0 writes files and logs).
        world_size: number of processes.
        local_rank: rank on this node (selects the GPU).
        device: the device this process trains on.
        backend: ``"gloo"``, ``"nccl"`` or ``""`` when not distributed.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str = ""

    @property
    def is_main(self) -> bool:
        """Whether this process writes run files (rank 0)."""
        return self.rank == 0


def is_distributed() -> bool:
    """Whether a process group is initialised with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init_distributed(device: str = "auto", backend: str = "auto", timeout_min: float = 30.0) -> DistInfo:
    """Read torchrun's environment and start the process group when there is more than one process.

    Args:
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        backend: ``"auto"`` (nccl on CUDA, gloo on CPU), ``"gloo"`` or ``"nccl"``.
        timeout_min: collective timeout; long evaluations on rank 0 alone must finish within it.

    Raises:
        RuntimeError: ``device="cuda"`` without a GPU, or nccl requested for CPU training.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("run.device=cuda but no CUDA device is visible; use run.device=cpu or auto")
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    if world <= 1:
        return DistInfo(device=dev)
    chosen = ("nccl" if use_cuda else "gloo") if backend == "auto" else backend
    if chosen == "nccl" and not use_cuda:
        raise RuntimeError("nccl needs GPUs; use run.dist_backend=gloo (or auto) for CPU training")
    if not dist.is_initialized():
        dist.init_process_group(
            chosen,
            timeout=datetime.timedelta(minutes=timeout_min),
            device_id=dev if use_cuda else None,
        )
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=dev, backend=chosen)


def cleanup_distributed() -> None:
    """Destroy the process group if this process started one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def reduce_sums(values: Mapping[str, float], device: torch.device | None = None) -> dict[str, float]:
    """Sum floats over processes (one all-reduce for the whole dict; keys must match on every rank)."""
    if not is_distributed() or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device or _collective_device())
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (``[obj]`` when not distributed)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


class ShardedSampler(Sampler[int]):
    """Deterministic, epoch-seeded split of a map-style dataset over processes (DistributedSampler semantics).

    Epoch ``e`` shuffles ``range(n)`` with a generator seeded by ``seed + e`` (identical on every rank), then rank
    ``r`` takes positions ``r, r + W, r + 2W, ...``. Consecutive local batches of size ``B / W`` therefore form the
    same global batches as one process with batch ``B`` would see, which keeps single- and multi-process runs
    comparable.

    Args:
        length: dataset length (examples per epoch).
        num_replicas: world size.
        rank: this process's rank.
        shuffle: shuffle each epoch (training) or keep order (evaluation).
        seed: run seed.
        pad: repeat the first indices so every rank gets the same count (training: all ranks must step together);
            ``False`` gives uneven shards with no duplicates (evaluation, then gather the results).
    """

    def __init__(
        self,
        length: int,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        pad: bool = True,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.length, self.num_replicas, self.rank = length, num_replicas, rank
        self.shuffle, self.seed, self.pad = shuffle, seed, pad
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's permutation (call before iterating)."""
        self.epoch = epoch

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.length, generator=g).tolist()
        else:
            order = list(range(self.length))
        if self.pad and self.length and self.length % self.num_replicas:
            extra = self.num_replicas - self.length % self.num_replicas
            order += (order * (extra // len(order) + 1))[:extra]
        return order[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        if self.pad:
            return -(-self.length // self.num_replicas)
        return len(range(self.rank, self.length, self.num_replicas))
