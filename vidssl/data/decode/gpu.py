"""GPU decoding outside DataLoader workers: workers plan on the CPU, one decode thread decodes on the device.

CUDA decoders cannot live in forked DataLoader workers (torchcodec #566, torchvision #8072, decord #76): a CUDA
context does not survive ``fork``. :class:`GpuClipLoader` keeps the cheap part (planning, probing) in the workers and
moves decoding into a background thread of the training process, a few batches ahead of the training loop::

    plans = DataLoader(PlanDataset(videos, task.plan, ...), batch_size=32, num_workers=4, collate_fn=collate_plans)
    for batch in GpuClipLoader(plans, device="cuda", make_example=task.make_example):
        ...                                       # frames already on the GPU

The decode thread releases the GIL inside FFmpeg/NVDEC, so the training step and decoding overlap. On small videos
CPU decoding in workers is often faster (PEERS.md §4): measure both with benchmarks/loader.py.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

__all__ = ["GpuClipLoader", "check_not_in_worker"]

_END = object()


def check_not_in_worker(device: str) -> None:
    """Raise if a CUDA decoder is about to be created inside a DataLoader worker process.

    Raises:
        RuntimeError: called from a DataLoader worker with a non-CPU ``device``.
    """
    if device == "cpu":
        return
    from torch.utils.data import get_worker_info

    if get_worker_info() is not None:
        raise RuntimeError(
            f"GPU decoding (device={device!r}) cannot run inside a DataLoader worker: CUDA does not survive fork "
            "(torchcodec #566, decord #76). Plan in the workers and decode with vidssl.data.decode.gpu.GpuClipLoader "
            "in the training process, or decode on the CPU in the workers.")


def _default_decode(device: str, backend: str, make_example: Any) -> Callable[[Any], Any]:
    from vidssl.data.datasets.decoding import ReaderCache
    from vidssl.data.datasets.plans import decode_plan_batch

    readers = ReaderCache(0, backend, device)
    return lambda batch: decode_plan_batch(batch, make_example, device=device, backend=backend, readers=readers)


class GpuClipLoader:
    """Iterate decoded batches on ``device`` from an iterable of plan batches (e.g. a plan-only DataLoader).

    Args:
        plans: yields plan batches (``PlanBatch`` from ``collate_plans``).
        device: the decode device (``cuda`` or ``cuda:i``; ``cpu`` works too, for testing the pipeline).
        backend: reader backend (``auto`` picks torchcodec on CUDA).
        make_example: the task's example builder (default: frames, labels, targets).
        decode: replaces the default ``decode_plan_batch`` call, ``decode(plan_batch) -> batch``.
        prefetch: batches decoded ahead of the consumer.

    Raises:
        RuntimeError: constructed inside a DataLoader worker with a CUDA device.
        BackendUnavailableError: no backend can decode on ``device``.
    """

    def __init__(self, plans: Iterable[Any], device: str = "cuda", *, backend: str = "auto",
                 make_example: Any = None, decode: Callable[[Any], Any] | None = None, prefetch: int = 2) -> None:
        check_not_in_worker(device)
        if decode is None:
            from vidssl.data.decode.api import resolve_backend

            backend = resolve_backend(backend, device)  # fail now, not in the thread
            decode = _default_decode(device, backend, make_example)
        self.plans, self.device, self.decode, self.prefetch = plans, device, decode, max(1, prefetch)

    def __len__(self) -> int:
        return len(self.plans)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        out: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def work() -> None:
            try:
                if self.device != "cpu":
                    torch.cuda.set_device(torch.device(self.device))
                for batch in self.plans:
                    if stop.is_set():
                        return
                    out.put(self.decode(batch))
                out.put(_END)
            except BaseException as exc:  # handed to the consumer, which re-raises it
                out.put(exc)

        thread = threading.Thread(target=work, name="vidssl-gpu-decode", daemon=True)
        thread.start()
        try:
            while True:
                item = out.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                try:
                    out.get(timeout=0.1)
                except queue.Empty:
                    pass
            thread.join()
