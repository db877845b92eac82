"""DataLoaders for training and evaluation, split over processes.

Map-style datasets get a :class:`~vidssl.train.distributed.ShardedSampler` (epoch-seeded, identical permutation on
every rank); iterable datasets (WebDataset shards) split themselves by rank and worker and are used as they are.
The global batch of the recipe is divided by the world size here, so one recipe means the same optimisation on
one process or many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch.utils.data import DataLoader, Dataset, IterableDataset, default_collate

from vidssl.train.distributed import DistInfo, ShardedSampler

__all__ = ["LoaderBundle", "default_collate_fn", "make_loader", "per_rank_batch", "set_epoch"]


def default_collate_fn() -> Callable[[list[Any]], Any]:
    """The data package's collate (handles skip records and ragged fields) when present, else torch's."""
    try:
        from vidssl.data.collate import collate_examples
    except ImportError:
        return default_collate
    return collate_examples


def per_rank_batch(global_batch: int, world_size: int) -> int:
    """``global_batch / world_size``.

    Raises:
        ValueError: the global batch does not split evenly (the message proposes valid sizes).
    """
    if global_batch % world_size:
        lo = global_batch - global_batch % world_size
        raise ValueError(
            f"data.batch_size={global_batch} is the global batch and must divide by the {world_size} processes; "
            f"use data.batch_size={max(lo, world_size)} or {lo + world_size}"
        )
    return global_batch // world_size


@dataclass
class LoaderBundle:
    """A DataLoader with the sampler that must be told the epoch.

    Attributes:
        loader: the DataLoader.
        sampler: the sharded sampler (``None`` for iterable datasets).
        dataset: the dataset (``set_epoch`` is forwarded to it too).
    """

    loader: DataLoader
    sampler: ShardedSampler | None
    dataset: Dataset | IterableDataset

    def set_epoch(self, epoch: int) -> None:
        """Reseed the sampler's permutation and the dataset's per-sample draws for ``epoch``."""
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)
        set_epoch(self.dataset, epoch)


def set_epoch(dataset: object, epoch: int) -> None:
    """Call ``dataset.set_epoch(epoch)`` when the dataset has it."""
    fn = getattr(dataset, "set_epoch", None)
    if callable(fn):
        fn(epoch)


def make_loader(
    dataset: Dataset | IterableDataset,
    *,
    global_batch: int,
    dist_info: DistInfo,
    train: bool,
    seed: int = 0,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
) -> LoaderBundle:
    """Build the loader for this process.

    Training shuffles, pads the last shard so every rank steps together and drops the last partial batch (a tiny
    final batch gives noisy BatchNorm statistics); evaluation keeps order and every example exactly once.

    Workers are not persistent: each epoch forks them from the dataset after ``set_epoch``, so they see the epoch.
    """
    bs = per_rank_batch(global_batch, dist_info.world_size) if train else max(global_batch // dist_info.world_size, 1)
    sampler = None
    if not isinstance(dataset, IterableDataset):
        sampler = ShardedSampler(
            len(dataset), num_replicas=dist_info.world_size, rank=dist_info.rank, shuffle=train, seed=seed, pad=train
        )
    drop_last = train and sampler is not None and len(sampler) >= bs
    loader = DataLoader(
        dataset,
        batch_size=bs,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_fn or default_collate_fn(),
        pin_memory=dist_info.device.type == "cuda",
        drop_last=drop_last,
        persistent_workers=False,
    )
    return LoaderBundle(loader=loader, sampler=sampler, dataset=dataset)
