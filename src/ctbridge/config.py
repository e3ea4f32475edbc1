"""YAML <-> pydantic config loading with presets and ``--set key=value`` overrides.

Every command has one typed config; this module only does the plumbing common to all of them:
read YAML (``extends: NAME`` merges the file over a built-in config), apply named presets (dicts
of dotted overrides stored in the same file; ``"a,b"`` applies ``a`` then ``b``), apply
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


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``, sections recursively, other values replaced."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
        out[key] = _merged(out[key], value) if both else value
    return out


def read_config(config: str | Path, _chain: tuple[Path, ...] = ()
                ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The tree and the presets of a YAML config (path or built-in name), ``extends`` resolved.

    ``extends: gmm_unit`` merges the file's tree over that built-in config's tree and each of
    its presets over the preset of the same name there (a file states only what differs).
    """
    path = resolve_config(config)
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    presets = {name: dict(p or {}) for name, p in (tree.pop("presets", None) or {}).items()}
    base = tree.pop("extends", None)
    if base is None:
        return copy.deepcopy(tree), presets
    if base not in builtin_config_names():
        raise ConfigError(f"{path}: extends {base!r}, not a built-in config "
                          f"({', '.join(builtin_config_names())})")
    chain, base_path = (*_chain, path.resolve()), (BUILTIN_CONFIGS / f"{base}.yaml").resolve()
    if base_path in chain:
        names = " -> ".join(p.stem for p in (*chain, base_path))
        raise ConfigError(f"{path}: extends {base!r}, a cycle ({names})")
    base_tree, base_presets = read_config(base_path, chain)
    for name, own in presets.items():
        base_presets[name] = {**base_presets.get(name, {}), **own}
    return _merged(base_tree, tree), base_presets


def load_config(
    cls: type[ConfigT],
    path: str | Path | None = None,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | Sequence[str] = (),
) -> ConfigT:
    """Build a ``cls`` from a YAML file, its presets and overrides (in that order); ``preset``
    may name several, comma-separated, applied left to right (``"cpu-small,paper"``)."""
    tree: dict[str, Any] = {}
    presets: dict[str, dict[str, Any]] = {}
    if path is not None:
        path = resolve_config(path)
        tree, presets = read_config(path)
    for name in ([] if preset is None else [p.strip() for p in preset.split(",")]):
        if name not in presets:
            raise ConfigError(f"{path}: no preset {name!r} (available: {sorted(presets)})")
        for key, value in presets[name].items():
            set_dotted(tree, key, copy.deepcopy(value))
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
