"""Mixed precision and memory format: autocast dtype, GradScaler, channels-last.

* ``bf16`` autocast needs no loss scaling (same exponent range as fp32); ``fp16`` autocast needs a GradScaler to
  keep small gradients from flushing to zero. Both are CUDA features here: CPU runs stay fp32 (CPU autocast is
  slower than fp32 for convolutions on most machines and would make CPU results differ from GPU ones for no gain).
* Channels-last (NHWC / NDHWC) lets cuDNN use tensor-core kernels without transposes; weights of 2D convolutions
  use ``channels_last``, 3D ones ``channels_last_3d``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Precision", "resolve_precision", "to_channels_last"]


@dataclass(frozen=True)
class Precision:
    """What the loop does about numeric precision.

    Attributes:
        name: ``"fp32"``, ``"bf16"`` or ``"fp16"``.
        device_type: ``"cuda"`` or ``"cpu"`` (autocast's device type).
    """

    name: str
    device_type: str

    @property
    def dtype(self) -> torch.dtype | None:
        """Autocast dtype (``None`` for fp32)."""
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.name)

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """The forward-pass context (a no-op for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def make_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler, enabled only for fp16 (its state is checkpointed either way)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.name == "fp16")


def resolve_precision(requested: str, device: torch.device) -> Precision:
    """Turn ``run.precision`` into a :class:`Precision` for ``device``.

    ``auto`` is bf16 on GPUs that support it (Ampere and later), fp16 on older GPUs, fp32 on CPU.

    Raises:
        ValueError: bf16/fp16 requested on CPU, or bf16 on a GPU without bf16 support.
    """
    if device.type != "cuda":
        if requested in ("bf16", "fp16"):
            raise ValueError(f"run.precision={requested} needs a CUDA device; use run.precision=fp32 (or auto) on CPU")
        return Precision("fp32", "cpu")
    if requested == "auto":
        return Precision("bf16" if torch.cuda.is_bf16_supported() else "fp16", "cuda")
    if requested == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU has no bf16 support; use run.precision=fp16")
    return Precision(requested, "cuda")


def to_channels_last(module: nn.Module) -> nn.Module:
    """Convert 4-D weights to ``channels_last`` and 5-D weights to ``channels_last_3d`` (in place)."""
    for m in module.modules():
        for p in m.parameters(recurse=False):
            fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(p.ndim)
            if fmt is not None:
                p.data = p.data.contiguous(memory_format=fmt)
    return module

