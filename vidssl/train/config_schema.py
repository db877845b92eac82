"""Typed configuration from YAML recipes plus ``key.sub=value`` overrides (nanoGPT's rules without ``exec``).

A config is a tree of dataclasses whose fields carry their default *and* a help line (``opt(default, "...")``), so
``--print-config`` can show every value with its meaning. Loading is strict:

* an unknown key raises :class:`ConfigError` naming the closest valid keys (``optim.lrr`` → ``optim.lr``; a bare
  ``lr`` → ``optim.lr``);
* a value of the wrong type raises, naming the expected type and where the value came from (recipe or override);
* overrides are parsed against the *target* field's type, so ``run.out_dir=001`` stays the string ``"001"`` and
  ``optim.lr=1e-3`` is a float (YAML 1.1 would read ``1e-3`` as a string).

A field whose type has ``from_config_dict(data, where)`` / ``to_config_dict()`` validates itself (the task section,
whose schema depends on the task name).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

__all__ = [
    "ConfigError",
    "RawValue",
    "apply_overrides",
    "dump_yaml",
    "field_help",
    "from_dict",
    "iter_keys",
    "load_yaml",
    "opt",
    "to_dict",
]

T = TypeVar("T")
_NONE_WORDS = ("null", "none", "None", "~")
_TRUE_WORDS = ("true", "True", "yes", "1", "on")
_FALSE_WORDS = ("false", "False", "no", "0", "off")


class ConfigError(ValueError):
    """A recipe or override that does not fit the schema; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class RawValue:
    """An override's text, kept raw until the target field's type is known."""

    text: str
    source: str

    def parsed(self) -> Any:
        """The text read as YAML (for list, dict and untyped fields)."""
        try:
            return yaml.safe_load(self.text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{self.source}: cannot parse {self.text!r} as YAML ({err})") from None


def opt(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with a help line (shown by ``--print-config`` and in error messages).

    Args:
        default: the default value (immutable); use ``factory`` for lists and dicts.
        help: one line saying what the value does and when to change it.
        factory: zero-argument callable building the default.
    """
    return dataclasses.field(default=default, default_factory=factory, metadata={"help": help})


def field_help(cls: type, name: str) -> str:
    """The help line of field ``name`` of dataclass ``cls`` ("" when none)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    return ""


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _suggest(key: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def iter_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted leaf key of a config class (sections recursed), for suggestions and ``--help``."""
    keys: list[str] = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp) and not hasattr(tp, "from_config_dict"):
            keys += iter_keys(tp, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def from_dict(cls: type[T], data: Mapping[str, Any] | None, *, where: str = "", all_keys: Sequence[str] = ()) -> T:
    """Build dataclass ``cls`` from nested mappings, checking keys and types.

    Args:
        cls: a dataclass type whose fields have type hints.
        data: values to set (missing fields keep their defaults); ``RawValue`` leaves are coerced to the field type.
        where: dotted location for messages (``"optim"``).
        all_keys: every dotted key of the whole config, to suggest ``optim.lr`` for a misplaced ``lr``.

    Raises:
        ConfigError: unknown key, wrong type, or a required field without a value.
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'} is a section; set one of its keys ({where}.KEY=value), got {data!r}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    all_keys = list(all_keys) or iter_keys(cls)
    for key in data:
        if key not in names:
            path = f"{where}.{key}" if where else str(key)
            close = [f"{where}.{c}" if where else c for c in difflib.get_close_matches(str(key), names, 3, 0.6)]
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            if not hint:  # maybe it belongs to another section
                elsewhere = [k for k in all_keys if k.rsplit(".", 1)[-1] == key]
                hint = f"; did you mean {' or '.join(repr(k) for k in elsewhere)}?" if elsewhere else ""
            valid = ", ".join(names)
            raise ConfigError(f"unknown config key {path!r}{hint} (valid keys here: {valid})")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        path = f"{where}.{f.name}" if where else f.name
        if f.name in data:
            kwargs[f.name] = check_value(hints[f.name], data[f.name], path, all_keys)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"config key {path!r} is required: {f.metadata.get('help', '')}")
        elif dataclasses.is_dataclass(hints[f.name]) and f.default_factory is dataclasses.MISSING:
            kwargs[f.name] = from_dict(hints[f.name], {}, where=path, all_keys=all_keys)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where or 'config'}: {err}") from None


def check_value(tp: Any, value: Any, where: str, all_keys: Sequence[str] = ()) -> Any:
    """Check (and lightly coerce) ``value`` against type hint ``tp``; returns the value to store."""
    source = value.source if isinstance(value, RawValue) else f"{where}"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def fail(expected: str) -> ConfigError:
        shown = value.text if isinstance(value, RawValue) else repr(value)
        return ConfigError(f"{source}: {where} must be {expected}, got {shown}")

    if tp is Any:
        return value.parsed() if isinstance(value, RawValue) else value
    if hasattr(tp, "from_config_dict"):
        data = value.parsed() if isinstance(value, RawValue) else value
        return tp.from_config_dict(data, where)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, RawValue) and value.text in _NONE_WORDS)):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return check_value(arg, value, where, all_keys)
            except ConfigError as err:
                errors.append(str(err))
        raise fail(" or ".join(_type_name(a) for a in args))
    if origin is typing.Literal:
        for choice in args:
            if isinstance(value, RawValue) and value.text == str(choice):
                return choice
            if not isinstance(value, RawValue) and value == choice and type(value) is type(choice):
                return choice
        shown = value.text if isinstance(value, RawValue) else str(value)
        hint = _suggest(shown, [str(a) for a in args])
        raise ConfigError(f"{source}: {where} must be one of {', '.join(map(str, args))}; got {shown!r}{hint}")
    if tp is bool:
        if isinstance(value, RawValue):
            if value.text in _TRUE_WORDS:
                return True
            if value.text in _FALSE_WORDS:
                return False
        elif isinstance(value, bool):
            return value
        raise fail("true or false")
    if tp is int:
        if isinstance(value, RawValue):
            try:
                return int(value.text)
            except ValueError:
                raise fail("an integer") from None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail("an integer")
    if tp is float:
        text = value.text if isinstance(value, RawValue) else value
        if isinstance(text, str):  # raw overrides, and YAML 1.1 reading "1e-3" as a string
            try:
                return float(text)
            except ValueError:
                raise fail("a number") from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise fail("a number")
    if tp is str:
        if isinstance(value, RawValue):
            return value.text
        if isinstance(value, str):
            return value
        raise fail("a string (quote it in YAML)")
    if dataclasses.is_dataclass(tp):
        data = value.parsed() if isinstance(value, RawValue) else value
        return from_dict(tp, data, where=where, all_keys=all_keys)
    if origin in (tuple, list):
        data = value.parsed() if isinstance(value, RawValue) else value
        if isinstance(data, str | bytes) or not isinstance(data, Sequence):
            raise fail(f"a list ({_type_name(tp)})")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(data) != len(args):
                raise fail(f"a list of {len(args)} values")
            return tuple(check_value(a, v, f"{where}[{i}]", all_keys) for i, (a, v) in enumerate(zip(args, data)))
        item = args[0] if args else Any
        items = [check_value(item, v, f"{where}[{i}]", all_keys) for i, v in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        data = value.parsed() if isinstance(value, RawValue) else value
        if not isinstance(data, Mapping):
            raise fail("a mapping")
        vt = args[1] if args else Any
        return {str(k): check_value(vt, v, f"{where}.{k}", all_keys) for k, v in data.items()}
    raise ConfigError(f"{where}: unsupported config type {tp!r}")  # a schema bug, not a user error


def to_dict(obj: Any) -> Any:
    """Plain YAML-safe data from a config object (tuples become lists)."""
    if hasattr(obj, "to_config_dict"):
        return obj.to_config_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a recipe; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        near = sorted(p.name for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        hint = f"; recipes in {path.parent}: {', '.join(near)}" if near else ""
        raise ConfigError(f"recipe not found: {path}{hint}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a recipe must be a mapping of sections, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set ``a.b.c=value`` overrides into nested ``data`` (a copy); values stay raw until validation.

    Raises:
        ConfigError: an override without ``=``, or one that descends into a value as if it were a section.
    """
    out = _deepcopy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("--")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like section.key=value (e.g. optim.lr=0.01)")
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts[: i + 1])} is a value, not a section")
            node = child
        node[parts[-1]] = RawValue(text.strip(), source=f"override {item!r}")
    return out


def _deepcopy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deepcopy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deepcopy(v) for v in data]
    return data


def dump_yaml(cfg: Any, *, comments: bool = True) -> str:
    """YAML text of a config, each leaf followed by its help line as a comment; ``yaml.safe_load`` reads it back."""
    lines: list[str] = []
    _dump(cfg, lines, 0, comments)
    return "\n".join(lines) + "\n"


def _dump(obj: Any, lines: list[str], indent: int, comments: bool) -> None:
    pad = "  " * indent
    if hasattr(obj, "config_items"):  # sections with dynamic schemas list (name, value, help)
        items = obj.config_items()
    else:
        items = [(f.name, getattr(obj, f.name), f.metadata.get("help", "")) for f in dataclasses.fields(obj)]
    for name, value, help_text in items:
        if dataclasses.is_dataclass(value) or hasattr(value, "config_items"):
            lines.append(f"{pad}{name}:" + (f"  # {help_text}" if comments and help_text else ""))
            _dump(value, lines, indent + 1, comments)
            continue
        text = yaml.safe_dump(to_dict(value), default_flow_style=True, width=1 << 16).strip()
        text = text.removesuffix("\n...").removesuffix("...").strip()
        note = f"  # {help_text}" if comments and help_text else ""
        lines.append(f"{pad}{name}: {text}{note}")
