"""Task name → module, imported lazily so a missing or broken task only fails when it is used.

Every task module (``vidssl/tasks/<name>.py``) exposes two names:

* ``TaskConfig``: a dataclass holding the task's own options (the ``task:`` section of a recipe minus ``name``), each
  field with a default and ``metadata={"help": ...}`` (``vidssl.train.config_schema.opt``). The config loader
  validates the section against it, so a typo in a task option fails with a suggestion.
* ``build_task(cfg) -> Task``: builds the task (an ``nn.Module`` implementing :class:`vidssl.tasks.base.Task`) from the
  resolved recipe ``cfg`` (``vidssl.train.config.PretrainConfig`` or ``FinetuneConfig``): ``cfg.task.options`` is the
  validated ``TaskConfig``, ``cfg.model`` names the backbone (``create_backbone(cfg.model.name,
  **cfg.model.kwargs)``) and ``cfg.data`` gives the clip geometry (``num_frames``, ``crop_size``, ``mean``/``std``,
  ``num_classes``). ``task.backbone`` must be exactly that registry backbone (adapters such as ``ClipEncoder`` live
  in other attributes) so that ``checkpoint.pt["backbone"]`` loads into ``create_backbone(...)`` for tracking and
  fine-tuning.

Example:
    >>> from vidssl.tasks.registry import list_tasks
    >>> "supervised" in list_tasks()
    True
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from dataclasses import dataclass, is_dataclass
from types import ModuleType
from typing import Any, Literal

from torch import nn

__all__ = ["TASKS", "TaskEntry", "build_task", "list_tasks", "register_task", "task_config_class", "task_module"]


@dataclass(frozen=True)
class TaskEntry:
    """One registered task.

    Attributes:
        name: registry name used in recipes (``task.name``).
        module: import path of the module exposing ``TaskConfig`` and ``build_task``.
        summary: one line for ``--help`` and error messages.
        kind: ``"pretext"`` (labels unused) or ``"supervised"``.
    """

    name: str
    module: str
    summary: str
    kind: Literal["pretext", "supervised"] = "pretext"


TASKS: dict[str, TaskEntry] = {}


def register_task(name: str, module: str, summary: str, kind: Literal["pretext", "supervised"] = "pretext") -> None:
    """Add a task; the module is imported only when the task is used.

    Raises:
        ValueError: ``name`` is already registered for another module.
    """
    if name in TASKS and TASKS[name].module != module:
        raise ValueError(f"task {name!r} is already registered by {TASKS[name].module}")
    TASKS[name] = TaskEntry(name, module, summary, kind)


register_task("supervised", "vidssl.tasks.supervised", "action classification with labels", "supervised")
register_task(
    "shuffle_and_learn", "vidssl.tasks.shuffle_and_learn", "frame-order verification (Misra et al. 2016)"
)
register_task(
    "tracking_triplets", "vidssl.tasks.tracking_triplets", "patch tracking triplet ranking (Wang & Gupta 2015)"
)
register_task("colorization", "vidssl.tasks.colorization", "colour propagation from reference frames (Vondrick 2018)")
register_task("av_correspondence", "vidssl.tasks.av_correspondence", "audio-visual correspondence (L3, 2017)")


def list_tasks() -> list[str]:
    """Registered task names (importable or not)."""
    return sorted(TASKS)


def _entry(name: str) -> TaskEntry:
    if name not in TASKS:
        close = difflib.get_close_matches(name, list(TASKS), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"unknown task {name!r}{hint} (registered: {', '.join(list_tasks())})")
    return TASKS[name]


def task_module(name: str) -> ModuleType:
    """Import the module of task ``name``.

    Raises:
        KeyError: unknown name (with suggestions).
        ImportError: the module is missing or fails to import; the message names it.
    """
    entry = _entry(name)
    try:
        return importlib.import_module(entry.module)
    except ModuleNotFoundError as err:
        if err.name == entry.module:
            raise ImportError(
                f"task {name!r} is registered but its module {entry.module} does not exist yet; "
                f"available now: {', '.join(n for n in list_tasks() if _importable(n))}"
            ) from err
        raise


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(TASKS[name].module) is not None
    except (ImportError, ValueError):
        return False


def task_config_class(name: str) -> type:
    """The ``TaskConfig`` dataclass of task ``name`` (validates the recipe's ``task:`` section)."""
    module = task_module(name)
    cls = getattr(module, "TaskConfig", None)
    if cls is None or not is_dataclass(cls):
        raise TypeError(f"{module.__name__} must define a dataclass TaskConfig (see vidssl.tasks.registry)")
    return cls


def build_task(cfg: Any) -> nn.Module:
    """Build ``cfg.task.name`` from a resolved recipe and check it satisfies the Task contract.

    Args:
        cfg: ``PretrainConfig`` or ``FinetuneConfig`` (``cfg.task.options`` already validated).

    Returns:
        The task module (on CPU, freshly initialised).
    """
    module = task_module(cfg.task.name)
    task = module.build_task(cfg)
    missing = [a for a in ("name", "backbone", "uses_other_video", "plan", "make_example") if not hasattr(task, a)]
    if not isinstance(task, nn.Module) or missing:
        raise TypeError(f"{module.__name__}.build_task must return an nn.Module Task; missing {missing}")
    return task
