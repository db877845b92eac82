"""One registry for every model part: backbones and heads, each entry tagged with its kind.

Modelled on timm's ``register_model`` / ``create_model`` (STYLE.md §5): a decorator records a builder under a
unique name, :meth:`Registry.create` drops ``None`` keyword arguments (so CLI options that default to ``None``
never override a builder's own defaults), :meth:`Registry.list` filters with shell globs, and an unknown name
raises an error that lists the closest registered names.

Registration happens when a model module is imported; ``vidssl/models/__init__.py`` imports every model module
*explicitly* (no star-import magic), and importing any ``vidssl.models.*`` module runs that ``__init__`` first, so
the registry is always complete when it is used.

Example:
    >>> from vidssl.models import MODELS
    >>> net = MODELS.create("tiny_cnn2d", width=16)
    >>> MODELS.list("resnet*", kind="backbone")[:2]
    ['resnet18', 'resnet18_s8']
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

__all__ = [
    "MODELS",
    "ModelKind",
    "Registry",
    "RegistryEntry",
    "UnknownModelError",
    "register_backbone",
    "register_head",
]

ModelKind = Literal["backbone", "head"]
KINDS: tuple[str, ...] = ("backbone", "head")


class UnknownModelError(KeyError):
    """A name that is not registered; the message lists the closest registered names."""

    def __str__(self) -> str:
        # KeyError's default str() is the repr of its argument, which quotes the whole sentence.
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class RegistryEntry:
    """One registered builder.

    Attributes:
        name: unique registry name (``resnet18_s8``).
        kind: ``"backbone"`` or ``"head"``.
        builder: callable returning an ``nn.Module``; keyword arguments only.
        summary: first line of the builder's docstring (shown by ``vidssl list-models``).
        module: the Python module that registered it (for error messages).
    """

    name: str
    kind: str
    builder: Callable[..., nn.Module]
    summary: str
    module: str


class Registry:
    """Name → builder table with kinds, glob listing and helpful errors."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[str, RegistryEntry] = {}

    def register(self, name: str, kind: ModelKind) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
        """Decorator that records ``builder`` under ``name``.

        Args:
            name: unique name; lower-case letters, digits and underscores.
            kind: ``"backbone"`` or ``"head"``.

        Raises:
            ValueError: the name is already registered (timm only warns; a silent override hides bugs), the name
                has characters other than ``[a-z0-9_]``, or the kind is unknown.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
        if not name or not all(c.islower() or c.isdigit() or c == "_" for c in name):
            raise ValueError(f"registry names use lower-case letters, digits and '_', got {name!r}")

        def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
            if name in self._entries:
                other = self._entries[name]
                raise ValueError(
                    f"{self.name} registry: {name!r} is already registered by {other.module}.{other.builder.__name__}"
                )
            doc = (builder.__doc__ or "").strip().splitlines()
            self._entries[name] = RegistryEntry(
                name=name, kind=kind, builder=builder, summary=doc[0] if doc else "", module=builder.__module__
            )
            return builder

        return decorator

    def get(self, name: str) -> RegistryEntry:
        """The entry for ``name``.

        Raises:
            UnknownModelError: (a ``KeyError``) unknown name; the message lists the closest registered names.
        """
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownModelError(self._unknown_message(name)) from None

    def create(self, name: str, *, kind: ModelKind | None = None, **kwargs: Any) -> nn.Module:
        """Build the model registered as ``name``.

        Args:
            name: registry name.
            kind: when given, the entry must be of this kind (``create_backbone`` uses it so a head name passed
                where a backbone is expected fails early with a clear message).
            **kwargs: forwarded to the builder; ``None`` values are dropped so the builder's defaults apply.

        Returns:
            The freshly initialised module (no weights are ever downloaded; see ``vidssl.models.weights``).
        """
        entry = self.get(name)
        if kind is not None and entry.kind != kind:
            raise ValueError(f"{name!r} is a {entry.kind}, not a {kind}; {kind}s: {', '.join(self.list(kind=kind))}")
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            return entry.builder(**kwargs)
        except TypeError as err:
            # Typos in kwargs surface as TypeError deep inside constructors; name the model to make them findable.
            raise TypeError(f"creating {name!r} ({entry.module}): {err}") from err

    def list(self, pattern: str = "*", kind: ModelKind | None = None) -> list[str]:
        """Sorted registered names matching the shell glob ``pattern`` (and ``kind`` when given)."""
        return sorted(
            n for n, e in self._entries.items() if fnmatch.fnmatchcase(n, pattern) and (kind is None or e.kind == kind)
        )

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _unknown_message(self, name: str) -> str:
        names = self.list()
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        close += [n for n in names if name and name in n and n not in close][: 5 - len(close)]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown model {name!r}{hint} (`vidssl list-models` shows all {len(names)} registered names)"


MODELS = Registry("models")


def register_backbone(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a backbone builder under ``name`` (see :meth:`Registry.register`)."""
    return MODELS.register(name, kind="backbone")


def register_head(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a head builder under ``name`` (see :meth:`Registry.register`)."""
    return MODELS.register(name, kind="head")
