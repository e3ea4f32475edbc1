"""YAML <-> pydantic config loading with presets and ``--set key=value`` overrides.

Every command has one typed config; this module only does the plumbing common to all of them:
read YAML, apply a named preset (a dict of dotted overrides stored in the same file), apply
command-line overrides, validate, and save the config used next to the outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ctbridge.configs import BUILTIN_CONFIGS, builtin_config_names
from ctbridge.errors import ConfigError
from ctbridge.io.atomic import atomic_path

ConfigT = TypeVar("ConfigT", bound=BaseModel)


def resolve_config(config: str | Path) -> Path:
    """A YAML path as given, or a built-in config by name (``gmm_unit`` or ``gmm_unit.yaml``)."""
    path = Path(config)
    if path.is_file():
        return path
    name = path.name.removesuffix(".yaml")
    if str(config) in (name, f"{name}.yaml") and (BUILTIN_CONFIGS / f"{name}.yaml").is_file():
        return BUILTIN_CONFIGS / f"{name}.yaml"
    raise ConfigError(f"{config}: no such config file, and not a built-in config name "
                      f"({', '.join(builtin_config_names())})")


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """``set_dotted(d, "model.width", 0.25)`` sets ``d["model"]["width"]``."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["model.width=0.25", "data.domains=[nc, ce]"]`` -> dotted dict (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML ({exc})") from None
    return out


def load_config(
    cls: type[ConfigT],
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | Sequence[str] = (),
) -> ConfigT:
    """Build a ``cls`` from a YAML file, a preset inside it, and overrides (in that order)."""
    tree: dict[str, Any] = {}
    presets: dict[str, Any] = {}
    if path is not None:
        path = resolve_config(path)
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        presets = tree.pop("presets", {}) or {}
    tree = copy.deepcopy(tree)
    if preset is not None:
        if preset not in presets:
            raise ConfigError(f"{path}: no preset {preset!r} (available: {sorted(presets)})")
        for key, value in presets[preset].items():
            set_dotted(tree, key, value)
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    for key, value in overrides.items():
        set_dotted(tree, key, value)
    where = f"{path}" if path else cls.__name__
    try:
        return cls.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
    except ConfigError as exc:  # a validator's own (drop_retired)
        raise ConfigError(f"{where}: {exc}") from None


def drop_retired(data: Any, retired: Mapping[str, Any], section: str) -> Any:
    """``data`` (a mapping about to be validated) without its ``retired`` keys, switches that
    were removed: one holding the value whose behaviour was kept is dropped silently (configs
    and checkpoints saved before still load), any other value is a one-line ConfigError naming
    the key (the run it describes cannot be rebuilt)."""
    if not isinstance(data, Mapping):
        return data
    kept = dict(data)
    for key, default in retired.items():
        if key in kept and kept.pop(key) != default:
            raise ConfigError(f"{section}.{key} = {data[key]!r}: this switch was removed from "
                              "ctbridge (measured no better, docs/research-log.md); drop the "
                              "key, or load this config with the version that wrote it")
    return kept


def save_config(config: BaseModel, path: str | Path) -> Path:
    """Write the config actually used, as YAML, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return Path(path)
