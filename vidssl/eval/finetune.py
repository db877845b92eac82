"""What a fine-tuning run trains: linear probe, full fine-tune, ULMFiT gradual unfreezing and discriminative lrs.

* **Linear probe** (PAPERS.md §6.2): everything but the classifier (``task.head``) is frozen *and kept in eval
  mode*, so BatchNorm running statistics do not drift on the new data; at the end every frozen tensor (weights and
  buffers) is compared with its value at the start, MoCo's ``sanity_check``. A mismatch is a bug and raises.
* **Full fine-tune**: everything trains.
* **Gradual unfreezing** (ULMFiT, Howard & Ruder 2018): the backbone is cut into ``layer_groups`` contiguous groups of
  its top-level children (stem, stages...); epoch 1 trains the head only, and every ``unfreeze_every`` epochs one
  more group from the top joins. Frozen groups stay in eval mode.
* **Discriminative learning rates**: the head gets ``lr``, the top backbone group ``lr * lr_decay``, the next
  ``lr * lr_decay**2``... (ULMFiT: ``lr_decay = 1/2.6``). Combine with ``optim.schedule=one_cycle`` (slanted
  triangular learning rates in ULMFiT).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

__all__ = ["BackboneChangedError", "FinetunePolicy", "layer_groups"]


class BackboneChangedError(AssertionError):
    """A frozen tensor changed during a linear probe (a parameter was trained, or BN statistics were updated)."""


def layer_groups(backbone: nn.Module, n: int) -> list[list[str]]:
    """Split ``backbone``'s top-level children that have parameters into ``n`` contiguous groups, bottom first.

    Returns:
        For each group, the child names it holds (``[["stem", "layer1"], ["layer2"], ...]``); fewer than ``n`` groups
        when the backbone has fewer children.
    """
    children = [name for name, child in backbone.named_children() if any(True for _ in child.parameters())]
    if not children:
        raise ValueError(f"{type(backbone).__name__} has no child modules with parameters to group")
    n = max(1, min(n, len(children)))
    return [list(chunk) for chunk in np.array_split(np.array(children, dtype=object), n)]


class FinetunePolicy:
    """Implements :class:`vidssl.train.engine.TrainablePolicy` for a task with ``backbone`` and ``head``.

    Args:
        task: the task (``ActionClassification``); its ``backbone`` is grouped, its ``head`` always trains.
        mode: ``"full"`` or ``"linear"``.
        unfreeze: ``"all"`` or ``"gradual"`` (full mode only).
        unfreeze_every: epochs between unfreezing steps.
        num_groups: backbone layer groups.
        lr_decay: lr multiplier per group below the head (1 = same lr everywhere).
    """

    def __init__(
        self,
        task: nn.Module,
        *,
        mode: Literal["full", "linear"] = "full",
        unfreeze: Literal["all", "gradual"] = "all",
        unfreeze_every: int = 1,
        num_groups: int = 4,
        lr_decay: float = 1.0,
    ) -> None:
        if mode == "linear" and unfreeze == "gradual":
            raise ValueError("finetune.unfreeze=gradual needs finetune.mode=full (a linear probe never unfreezes)")
        self.task, self.mode, self.unfreeze = task, mode, unfreeze
        self.unfreeze_every, self.lr_decay = max(1, unfreeze_every), lr_decay
        self.groups = layer_groups(task.backbone, num_groups)
        self._prefix = self._backbone_prefix(task)
        self._active: int | None = None  # backbone groups trainable now (from the top)
        self.snapshot: dict[str, torch.Tensor] = {}
        if mode == "linear":
            # Everything except the classifier is frozen; remember it to prove it at the end.
            self.snapshot = {k: v.detach().clone() for k, v in task.state_dict().items() if not k.startswith("head.")}

    @staticmethod
    def _backbone_prefix(task: nn.Module) -> str:
        for name, module in task.named_modules():
            if module is task.backbone:
                return f"{name}." if name else ""
        raise ValueError("task.backbone is not a sub-module of the task")

    def _group_of(self, name: str) -> int | None:
        """Backbone group index of parameter ``name`` (0 = bottom), ``None`` outside the backbone."""
        if not name.startswith(self._prefix):
            return None
        child = name[len(self._prefix):].split(".", 1)[0]
        for g, members in enumerate(self.groups):
            if child in members:
                return g
        return None

    def lr_scale_of(self, name: str) -> float:
        """``lr_decay ** (distance below the head)`` for backbone parameters, 1 elsewhere."""
        g = self._group_of(name)
        return 1.0 if g is None else float(self.lr_decay ** (len(self.groups) - g))

    def trainable_groups(self, epoch: int) -> int:
        """How many backbone groups (from the top) train in ``epoch`` (1-based)."""
        if self.mode == "linear":
            return 0
        if self.unfreeze == "all":
            return len(self.groups)
        return min(len(self.groups), (epoch - 1) // self.unfreeze_every)

    def on_epoch_start(self, epoch: int) -> bool:
        """Set ``requires_grad`` for ``epoch``; True when the trainable set changed."""
        active = self.trainable_groups(epoch)
        if active == self._active:
            return False
        self._active = active
        first_trained = len(self.groups) - active
        for name, p in self.task.named_parameters():
            if self.mode == "linear":
                p.requires_grad_(name.startswith("head."))
            else:
                g = self._group_of(name)
                p.requires_grad_(g is None or g >= first_trained)
        return True

    def set_train_mode(self, model: nn.Module) -> None:
        """Put frozen modules back in eval mode after ``model.train()``."""
        if self.mode == "linear":
            for name, child in self.task.named_children():
                if name != "head":
                    child.eval()
            return
        first_trained = len(self.groups) - (self._active or 0)
        for g, members in enumerate(self.groups):
            if g < first_trained:
                for child in members:
                    getattr(self.task.backbone, child).eval()

    def after_training(self, model: nn.Module) -> Mapping[str, Any]:
        """Linear probe: verify every frozen tensor is unchanged (raises :class:`BackboneChangedError`)."""
        trainable = sum(p.numel() for p in self.task.parameters() if p.requires_grad)
        facts: dict[str, Any] = {"mode": self.mode, "unfreeze": self.unfreeze, "layer_groups": self.groups,
                                 "trainable_parameters": trainable}
        if self.mode != "linear":
            return facts
        state = self.task.state_dict()
        changed = [k for k, v in self.snapshot.items() if not torch.equal(state[k].to(v.device), v)]
        if changed:
            raise BackboneChangedError(
                f"linear probe changed {len(changed)} frozen tensors (e.g. {', '.join(changed[:5])}); "
                "BatchNorm left in train mode or a parameter left trainable"
            )
        facts["frozen_tensors_checked"] = len(self.snapshot)
        facts["backbone_unchanged"] = True
        return facts
