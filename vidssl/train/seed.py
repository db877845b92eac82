"""Seeding and RNG state capture, so a resumed run continues with exactly the random numbers it would have drawn.

Sample-level randomness (which clip, which crop) does not live here: datasets draw it from
``vidssl.data.seeding.sample_rng(seed, epoch, index)``, independent of workers and ranks. What remains is the
process-global state (weight init, dropout, the DataLoader's base seed), saved in every checkpoint.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything", "set_deterministic"]


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed python, numpy and torch (all devices) with ``seed + rank``.

    Ranks get different seeds for their global RNGs (dropout differs per rank, as with independent GPUs); model
    weights must be identical across ranks, which DDP guarantees by broadcasting rank 0's parameters.
    """
    s = int(seed) + int(rank)
    random.seed(s)
    np.random.seed(s % 2**32)  # noqa: NPY002 (the legacy global RNG is what third-party code draws from)
    torch.manual_seed(s)  # seeds every CUDA device too


def set_deterministic(enabled: bool) -> None:
    """Ask for deterministic kernels (cuDNN, cuBLAS, scatter/index ops) or release the request.

    On CPU the kernels we use are deterministic already; on GPU this costs speed (no cuDNN autotuning).
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled and torch.cuda.is_available()


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG state of this process (python, numpy, torch CPU, each CUDA device).

    Returns:
        A dict that ``torch.save`` can store and ``torch.load(weights_only=True)`` can read back: numpy's state is
        kept as plain lists and ints, python's as a tuple of ints.
    """
    np_state = np.random.get_state()  # noqa: NPY002 (saving the legacy global RNG for resume)
    state: dict[str, Any] = {
        "python": _python_state_to_plain(random.getstate()),
        "numpy": {
            "key": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`; a missing ``cuda`` entry (CPU checkpoint) is ignored."""
    random.setstate(_python_state_from_plain(state["python"]))
    np_state = state["numpy"]
    key = np_state["key"].numpy().astype(np.uint32)
    legacy = ("MT19937", key, np_state["pos"], np_state["has_gauss"], np_state["cached_gaussian"])
    np.random.set_state(legacy)  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


def _python_state_to_plain(state: tuple[Any, ...]) -> dict[str, Any]:
    version, internal, gauss = state
    return {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss}


def _python_state_from_plain(plain: dict[str, Any]) -> tuple[Any, ...]:
    return plain["version"], tuple(int(x) for x in plain["internal"].tolist()), plain["gauss"]
