"""The run folder: everything needed to reproduce, resume and inspect a run, written atomically.

Layout (written by rank 0)::

    RUN_DIR/
      config.yaml      resolved recipe, every value with its help line (reload with --config RUN_DIR/config.yaml)
      git.json         code revision: commit, dirty flag, branch; plus torch/python versions and world size
      log.jsonl        one JSON object per logging step ("kind": "step") and per epoch ("kind": "epoch")
      events.out.tfevents.*   TensorBoard scalars (tensorboard --logdir RUN_DIR)
      checkpoint.pt    latest state (see vidssl.train.checkpoint)
      metrics.json     final metrics (written at the end; compared by the resume test)
      loss_curves.png  training curves from log.jsonl

Every file is written to a temporary name in the same folder and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "RESUME_SAFE_KEYS",
    "RunDir",
    "atomic_write",
    "atomic_write_text",
    "config_differences",
    "git_revision",
    "read_jsonl",
]

# Keys that may change between an interrupted run and its resumption without changing its results.
RESUME_SAFE_KEYS: tuple[str, ...] = (
    "run.out_dir", "run.resume", "run.stop_after_epochs", "run.progress", "run.threads", "run.log_every",
    "data.num_workers", "data.decode_backend", "run.dist_backend",
)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``; the temp file is removed on error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the permissions open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def git_revision(source: str | Path | None = None) -> dict[str, Any]:
    """Commit, dirty flag and branch of the git checkout holding ``source`` (default: the vidssl package).

    Returns:
        ``{"commit": sha or None, "dirty": bool or None, "branch": str or None}`` (``None`` outside a checkout).
    """
    where = Path(source) if source else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "commit": commit,
        "dirty": None if status is None else bool(status),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD") if commit else None,
    }


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Records of a ``log.jsonl`` (a torn last line from a crash is ignored)."""
    records = []
    path = Path(path)
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and not (prefix == "model." and k == "kwargs"):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_differences(
    old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str] = RESUME_SAFE_KEYS
) -> list[str]:
    """``"key: old -> new"`` for every resolved value that differs, except ``ignore`` keys."""
    a, b = _flatten(old), _flatten(new)
    skip = set(ignore)
    keys = [k for k in sorted(set(a) | set(b)) if k not in skip and a.get(k) != b.get(k)]
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys]


class RunDir:
    """Paths and writers of one run folder; only rank 0 writes (other ranks' calls are no-ops).

    Args:
        path: the folder (created on :meth:`prepare`).
        is_main: whether this process writes.
    """

    def __init__(self, path: str | Path, *, is_main: bool = True) -> None:
        self.path = Path(path)
        self.is_main = is_main

    config = property(lambda self: self.path / "config.yaml")
    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    log = property(lambda self: self.path / "log.jsonl")
    metrics = property(lambda self: self.path / "metrics.json")

    def prepare(self, config_yaml: str, *, world_size: int = 1) -> None:
        """Create the folder and write ``config.yaml`` and ``git.json``."""
        if not self.is_main:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config, config_yaml)
        info = {
            **git_revision(),
            "command": sys.argv,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda if torch.cuda.is_available() else None,
            "world_size": world_size,
            "host": platform.node(),
        }
        self.write_json("git.json", info)

    def write_json(self, name: str, data: Any) -> None:
        """Write ``RUN_DIR/name`` as indented JSON, atomically."""
        if self.is_main:
            atomic_write_text(self.path / name, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")

    def append_log(self, record: Mapping[str, Any]) -> None:
        """Append one line to ``log.jsonl`` (flushed, so ``tail -f`` and a crash both see complete lines)."""
        if not self.is_main:
            return
        with open(self.log, "a") as f:
            f.write(json.dumps(record, default=_jsonable) + "\n")
            f.flush()

    def truncate_log(self, last_epoch: int) -> int:
        """Drop log records of epochs after ``last_epoch`` (written after the checkpoint a resume starts from).

        Returns:
            Number of records removed.
        """
        if not self.is_main or not self.log.exists():
            return 0
        records = read_jsonl(self.log)
        keep = [r for r in records if int(r.get("epoch", 0)) <= last_epoch]
        if len(keep) != len(records):
            atomic_write_text(self.log, "".join(json.dumps(r) + "\n" for r in keep))
        return len(records) - len(keep)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
