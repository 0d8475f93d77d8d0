"""Typed configuration: dataclass defaults, overridden by a YAML file, overridden by ``key=value``.

One source of defaults (as in PySlowFast): every section is a dataclass; ``load_config`` merges a YAML
file and command-line overrides onto it, strictly — an unknown key, a value of the wrong type or one outside
the key's declared range (:func:`smartclass.bounds.ranged`; every float must be finite) raises
:class:`ConfigError` naming the key. The merged config is saved beside every output (``save_config``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from smartclass import bounds
from smartclass.errors import ConfigError
from smartclass.io import write_text_atomic
from smartclass.synth.config import SynthConfig
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.training.config import TrainConfig
from smartclass.training.detector_config import DetectorTrainConfig
from smartclass.enhance.config import EnhanceConfig
from smartclass.skeleton.config import GCNSettings

T = TypeVar("T")


@dataclass
class Config:
    """Top-level config; sections are added by the stages that need them."""

    seed: int = bounds.ranged(0, ge=0)
    device: str = "cpu"
    threads: int = bounds.ranged(2, ge=1)
    synth: SynthConfig = field(default_factory=SynthConfig)
    model: RecognizerConfig = field(default_factory=RecognizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    detector: DetectorTrainConfig = field(default_factory=DetectorTrainConfig)  # smartclass train with a detector: section
    skeleton: GCNSettings = field(default_factory=GCNSettings)  # skeleton-bench (its flags override these keys)
    enhance: EnhanceConfig = field(default_factory=EnhanceConfig)  # the enhancement module (enhance.pipeline)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config dataclass (tuples become lists, for YAML)."""

    def plain(v: Any) -> Any:
        if is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"config key '{key}': {value!r} matches none of {tp}")
    if origin is typing.Literal:
        if value not in get_args(tp):
            raise ConfigError(f"config key '{key}': expected one of {list(get_args(tp))}, got {value!r}")
        return value
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"config key '{key}': expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, key) for v, a in zip(value, args))
        item = args[0] if args else Any
        out = [_coerce(v, item, key) for v in value]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a mapping, got {value!r}")
        return dict(value)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a mapping of fields, got {value!r}")
        return _from_dict(tp, value, prefix=key + ".")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"config key '{key}': expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"config key '{key}': expected a string, got {value!r}")
        return str(value)
    return value


def _from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ConfigError(
            f"unknown config key '{prefix}{unknown[0]}'; valid keys here: {', '.join(sorted(names))}"
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    ranges = {f.name: f.metadata.get("range") for f in fields(cls)}
    for k, v in kwargs.items():  # declared ranges (smartclass.bounds.ranged); every float finite
        bounds.check(v, ranges[k], prefix + k)
    return dataclasses.replace(cls(), **kwargs) if kwargs else cls()


def _deep_update(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
    return base


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["train.lr=1e-3", "synth.size=[640,360]"]`` → nested dict; values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"override '{item}' has an empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}' conflicts with another override of '{p}'")
        node[parts[-1]] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file '{path}' is a folder; expected a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file '{path}{where}' is not valid YAML ({getattr(e, 'problem', None) or e})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file '{path}' is not text (expected YAML)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping at the top level")
    return data


def load_config(
    yaml_path: str | Path | None = None,
    overrides: Iterable[str] = (),
    cls: type[T] = Config,  # type: ignore[assignment]
) -> T:
    """Defaults ← YAML file ← ``key=value`` overrides, validated against ``cls``."""
    data = to_dict(cls())
    if yaml_path is not None:
        _deep_update(data, load_yaml(yaml_path))
    _deep_update(data, parse_overrides(overrides))
    return _from_dict(cls, data)


def config_from_dict(data: dict[str, Any], cls: type[T] = Config) -> T:  # type: ignore[assignment]
    """A config from a (possibly partial) nested dict, e.g. the one saved in a checkpoint."""
    return _from_dict(cls, _deep_update(to_dict(cls()), data))


def dump_config(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the merged config as YAML (atomically) so every output records how it was made."""
    return write_text_atomic(path, dump_config(cfg))
