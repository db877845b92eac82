"""Load and save local weight files safely. Nothing is ever downloaded.

``load_weights`` reads with ``torch.load(weights_only=True)`` (no arbitrary pickles: DESIGN.md "Errors and bad
input"), accepts a raw state dict or a checkpoint dict holding one under ``"backbone"``, ``"model"`` or
``"state_dict"`` (nested once, e.g. ``{"model": {"state_dict": ...}}``), strips the ``module.`` prefix DDP adds and
the ``_orig_mod.`` prefix ``torch.compile`` adds, optionally selects a sub-module by ``prefix`` (``"backbone."`` to
take a backbone out of a whole-task checkpoint), and reports missing, unexpected and shape-mismatched keys.

Example:
    >>> import os, tempfile
    >>> from vidssl.models import create_backbone, load_weights, save_weights
    >>> net = create_backbone("tiny_cnn2d")
    >>> path = save_weights(net, os.path.join(tempfile.mkdtemp(), "tiny.pt"))
    >>> load_weights(create_backbone("tiny_cnn2d"), path).ok
    True
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

__all__ = ["CONTAINER_KEYS", "LoadReport", "WeightsMismatchError", "extract_state_dict", "load_weights", "save_weights"]

CONTAINER_KEYS: tuple[str, ...] = ("backbone", "model", "state_dict")
_WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_SHOW = 10  # keys listed per category in error messages


class WeightsMismatchError(ValueError):
    """The file's keys or shapes do not match the model (raised by ``load_weights(strict=True)``)."""


@dataclass(frozen=True)
class LoadReport:
    """What ``load_weights`` did.

    Attributes:
        path: the file read.
        source_key: the container key the state dict came from (``"model"``, ``"model/state_dict"``) or ``None``.
        loaded: keys copied into the model.
        missing: model keys absent from the file (left at their current values).
        unexpected: file keys the model does not have (ignored).
        mismatched: ``(key, file shape, model shape)`` for keys present in both with different shapes (skipped).
    """

    path: str
    source_key: str | None
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every model key was loaded and nothing was left over."""
        return not (self.missing or self.unexpected or self.mismatched)

    def summary(self) -> str:
        """Multi-line human-readable account of the load."""
        origin = f" from [{self.source_key!r}]" if self.source_key else ""
        lines = [f"{self.path}: loaded {len(self.loaded)} tensors{origin}"]
        for label, keys in (("missing in file", self.missing), ("unexpected in file", self.unexpected)):
            if keys:
                more = f" ... (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
                lines.append(f"  {len(keys)} {label}: {', '.join(keys[:_SHOW])}{more}")
        for key, got, want in self.mismatched[:_SHOW]:
            lines.append(f"  shape mismatch {key}: file {list(got)} vs model {list(want)}")
        return "\n".join(lines)


def extract_state_dict(obj: object, key: str | None = None) -> tuple[dict[str, torch.Tensor], str | None]:
    """Find the state dict inside a loaded file.

    Args:
        obj: what ``torch.load`` returned.
        key: container key to use; default: the first of :data:`CONTAINER_KEYS` present, else ``obj`` itself.

    Returns:
        ``(state_dict, source_key)`` with wrapper prefixes (``module.``, ``_orig_mod.``) stripped.

    Raises:
        ValueError: no mapping of tensors could be found.
    """
    source: list[str] = []
    for _ in range(2):  # a container may hold another (``{"model": {"state_dict": ...}}``)
        if not isinstance(obj, Mapping):
            break
        want = [key] if key is not None and not source else CONTAINER_KEYS
        found = next((k for k in want if k in obj and isinstance(obj[k], Mapping)), None)
        if found is None:
            if key is not None and not source:
                raise ValueError(f"key {key!r} not found; the file has keys {sorted(map(str, obj))[:_SHOW]}")
            break
        obj, source = obj[found], [*source, found]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            "no state dict found: expected a mapping of tensors, or a dict with one under "
            f"{', '.join(repr(k) for k in CONTAINER_KEYS)}"
        )
    state = {_strip_wrappers(str(k)): v for k, v in obj.items()}
    return state, "/".join(source) or None


def load_weights(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    prefix: str | None = None,
    strict: bool = True,
) -> LoadReport:
    """Load a local weight file into ``model``.

    Args:
        model: the module to fill.
        path: a ``.pt``/``.pth`` file written by ``torch.save``.
        key: container key holding the state dict (default: auto, see :func:`extract_state_dict`).
        prefix: keep only keys starting with ``prefix`` and strip it (``"backbone."`` loads a backbone from a whole
            task's state dict).
        strict: raise :class:`WeightsMismatchError` unless every key matches in name and shape; with
            ``strict=False`` matching tensors are loaded, the rest are reported.

    Returns:
        A :class:`LoadReport`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file cannot be read with ``weights_only=True`` or holds no state dict.
        WeightsMismatchError: ``strict`` and the keys or shapes differ.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise ValueError(
            f"{path}: cannot be loaded with weights_only=True (corrupt, or it pickles Python objects, which is "
            f"refused for safety; re-save just the state dict): {err}"
        ) from err
    state, source = extract_state_dict(obj, key)
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = [
        (k, tuple(v.shape), tuple(own[k].shape)) for k, v in state.items() if k in own and v.shape != own[k].shape
    ]
    bad = {k for k, _, _ in mismatched}
    usable = {k: v for k, v in state.items() if k in own and k not in bad}
    report = LoadReport(str(path), source, sorted(usable), missing, unexpected, mismatched)
    if strict and not report.ok:
        hint = ""
        if not usable and state:
            firsts = sorted({k.split(".", 1)[0] + "." for k in state})
            hint = f"\n  no key matches; file keys start with {firsts[:_SHOW]} (pass prefix=... to select a sub-module)"
        raise WeightsMismatchError(f"weights do not match {type(model).__name__}:\n{report.summary()}{hint}")
    model.load_state_dict(usable, strict=False)
    return report


def save_weights(model: nn.Module, path: str | os.PathLike[str], *, key: str = "backbone") -> Path:
    """Write ``{key: model.state_dict()}`` atomically (temp file + rename); readable by :func:`load_weights`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({key: state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _strip_wrappers(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in _WRAPPER_PREFIXES:
            if name.startswith(p):
                name, changed = name[len(p) :], True
    return name
