from __future__ import annotations

import pytest
from pydantic import BaseModel

from ctbridge.config import load_config, parse_overrides, save_config
from ctbridge.errors import ConfigError


class Inner(BaseModel):
    width: float = 1.0
    domains: list[str] = ["nc", "ce"]


class Outer(BaseModel):
    inner: Inner = Inner()
    steps: int = 10


def test_yaml_preset_and_overrides_apply_in_order(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 5\ninner: {width: 0.5}\n"
                    "presets:\n  small: {inner.width: 0.25, steps: 3}\n")
    assert load_config(Outer, path).inner.width == 0.5
    cfg = load_config(Outer, path, preset="small", overrides=["steps=7", "inner.domains=[a, b, c]"])
    assert (cfg.inner.width, cfg.steps, cfg.inner.domains) == (0.25, 7, ["a", "b", "c"])


def test_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: many\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: steps: Input should be a valid integer"):
        load_config(Outer, path)
    with pytest.raises(ConfigError, match="no preset 'big'"):
        load_config(Outer, None, preset="big")
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["steps"])
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_saved_config_loads_back_equal(tmp_path):
    cfg = Outer(steps=3, inner=Inner(width=0.125))
    assert load_config(Outer, save_config(cfg, tmp_path / "used.yaml")) == cfg


def test_built_in_configs_resolve_by_name_and_paths_win(tmp_path, monkeypatch):
    from ctbridge.config import BUILTIN_CONFIGS, builtin_config_names, resolve_config
    from ctbridge.training.config import TrainConfig

    assert {"gmm_unit", "unit", "cyclegan", "experiment_plaque",
            "experiment_pancreas"} <= set(builtin_config_names())
    assert resolve_config("gmm_unit") == BUILTIN_CONFIGS / "gmm_unit.yaml"
    assert resolve_config("unit.yaml") == BUILTIN_CONFIGS / "unit.yaml"
    assert load_config(TrainConfig, "cyclegan").model.kind == "cyclegan"
    monkeypatch.chdir(tmp_path)  # a file of that name in the working folder is taken as given
    (tmp_path / "unit.yaml").write_text("model: {kind: cyclegan}\n")
    assert resolve_config("unit.yaml") == tmp_path.joinpath("unit.yaml").relative_to(tmp_path)
    with pytest.raises(ConfigError, match=r"gmm: no such config file, and not a built-in "
                                          r"config name \(cyclegan, demo, experiment_pancreas"):
        resolve_config("gmm")
    with pytest.raises(ConfigError, match="no such config file"):
        resolve_config("elsewhere/gmm_unit.yaml")  # a path is never swapped for a built-in


def test_every_built_in_preset_loads_through_the_one_mechanism():
    """Training, experiment, QC and demo presets all live in YAML `presets:`, one loader."""
    from ctbridge.config import builtin_config_names, read_config
    from ctbridge.experiments.demo import DemoConfig
    from ctbridge.experiments.downstream.config import PancreasConfig, PlaqueConfig
    from ctbridge.qc.config import QCConfig, qc_config
    from ctbridge.training.config import TrainConfig

    classes = {"gmm_unit": TrainConfig, "unit": TrainConfig, "cyclegan": TrainConfig,
               "experiment_plaque": PlaqueConfig, "experiment_pancreas": PancreasConfig,
               "qc": QCConfig, "demo": DemoConfig}
    assert set(builtin_config_names()) == set(classes)
    for name, cls in classes.items():
        _, presets = read_config(name)
        assert presets, name
        for preset in presets:
            load_config(cls, name, preset=preset)
    tiny = qc_config("tiny", {"steps": 7})
    assert (tiny.cohort.size, tiny.crop, tiny.steps, tiny.device) == (64, None, 7, "cpu")
    assert qc_config().steps == QCConfig().steps  # no preset: the documented defaults


def test_histogram_tiles_must_divide_the_patch():
    from ctbridge.training.config import TrainConfig

    with pytest.raises(ConfigError, match="histogram_cells 3 needs data.patch_size"):
        load_config(TrainConfig, "gmm_unit", overrides=["model.histogram_cells=3"])
    with pytest.raises(ConfigError, match="histogram_cells 2 needs data.patch_size"):
        load_config(TrainConfig, "gmm_unit", preset="whole-slice",
                    overrides=["model.histogram_cells=2"])
    cfg = load_config(TrainConfig, "gmm_unit", overrides=["model.histogram_cells=2"])
    assert (cfg.model.histogram_cells, cfg.data.patch_size) == (2, 32)


# ------------------------------------------------------------------ one recipe at every size
TRAINING = ("gmm_unit", "unit", "cyclegan")
RECIPE = {"model.lambda_histogram": 1000.0, "model.lambda_keep_calcium": 100.0,
          "model.lambda_keep_calcium_cycle": 100.0, "model.recon_hu_weight_cap": 4.0,
          "data.contrast_fraction": 0.25, "data.bright_fraction": 0.35,
          "data.body_fraction": 0.4, "optim.d_warmup_steps": 2000}
PAPER = {"model.lambda0": 10.0, "model.lambda1": 0.1, "model.lambda2": 100.0,
         "model.lambda3": 0.1, "model.lambda4": 100.0, "model.lambda_cycle_kl_translated": None,
         "model.lambda_histogram": 0.0, "model.lambda_keep_calcium": 0.0,
         "model.lambda_keep_calcium_cycle": 0.0, "model.recon_hu_weight_cap": 1.0,
         "data.contrast_fraction": 0.0, "data.bright_fraction": 0.25, "data.body_fraction": 0.75}
# what a size preset may change: size and time, nothing of the recipe
SIZE_KEYS = {"device", "precision", "model.width", "model.d_width", "model.n_res_blocks",
             "optim.steps", "optim.lr", "optim.d_warmup_steps", "data.batch_size", "log_every",
             "sample_every", "checkpoint_every", "tensorboard"}


def _flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and key != "phase_of":
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _train(name, preset=None, overrides=()):
    from ctbridge.training.config import TrainConfig

    return _flat(load_config(TrainConfig, name, preset=preset, overrides=overrides).model_dump())


def _differing(a, b):
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


@pytest.mark.parametrize("name", ["gmm_unit", "unit"])
def test_the_config_without_a_preset_is_the_recipe(name):
    got = _train(name)
    assert {k: got[k] for k in RECIPE} == RECIPE
    assert (got["model.width"], got["optim.steps"], got["optim.lr"]) == (1.0, 100_000, 1e-4)


def test_the_typed_defaults_are_the_recipe_and_the_yaml_restates_none_of_them():
    from ctbridge.config import read_config
    from ctbridge.training.config import TrainConfig

    assert {k: v for k, v in _flat(TrainConfig().model_dump()).items() if k in RECIPE} == RECIPE
    assert read_config("gmm_unit")[0] == {"model": {"kind": "gmm_unit"}}
    assert read_config("unit")[0] == {"model": {"kind": "unit"}}


@pytest.mark.parametrize("name", TRAINING)
def test_paper_preset_is_the_papers_losses_and_sampling_exactly(name):
    got = _train(name, "paper")
    if name == "cyclegan":  # its paper's already: cycle 10, identity 0.5, pool 50, no recipe
        assert got == _train(name)
        assert (got["model.lambda_cycle"], got["model.lambda_identity"],
                got["model.pool_size"], got["optim.d_warmup_steps"]) == (10.0, 0.5, 50, 0)
    assert {k: got[k] for k in PAPER} == PAPER
    # nothing else: the paper preset is the recipe with its departures in the losses and the
    # patch sampling switched off
    assert _differing(got, _train(name)) <= set(PAPER)


@pytest.mark.parametrize("name", TRAINING)
@pytest.mark.parametrize("preset", ["gpu", "cpu-small", "cpu-quality"])
def test_size_presets_change_only_size_and_time(name, preset):
    changed = _differing(_train(name, preset), _train(name))
    assert changed and changed <= SIZE_KEYS, changed - SIZE_KEYS


def test_unit_is_gmm_unit_with_one_fixed_gaussian():
    from ctbridge.config import read_config

    assert read_config("unit")[1] == read_config("gmm_unit")[1]  # the same presets
    for preset in (None, "cpu-small", "gpu", "paper"):
        unit, gmm = _train("unit", preset), _train("gmm_unit", preset)
        assert (unit["model.kind"], unit["model.n_components"], unit["model.fixed_prior"]) == (
            "unit", 1, True)
        assert _differing(unit, gmm) == {"model.kind", "model.n_components",
                                         "model.fixed_prior"}


@pytest.mark.parametrize("name", TRAINING)
def test_presets_compose_left_to_right(name):
    both = _train(name, "cpu-small,paper")
    small, paper = _train(name, "cpu-small"), _train(name, "paper")
    assert {k: both[k] for k in SIZE_KEYS if k in both} == {
        k: small[k] for k in SIZE_KEYS if k in small}
    assert {k: both[k] for k in PAPER} == {k: paper[k] for k in PAPER}
    assert _train(name, " cpu-small , paper ") == both
    # later wins: a size after the paper keeps the paper's losses, the size is the later one's
    assert _train(name, "paper,cpu-small") == both
    with pytest.raises(ConfigError, match=r"no preset 'tiny' \(available: \["):
        _train(name, "cpu-small,tiny")


def test_cyclegan_keeps_its_papers_losses_and_refuses_the_recipe():
    from ctbridge.training.config import TrainConfig

    cyc = _train("cyclegan")
    assert {k: cyc[k] for k in PAPER} == PAPER
    assert cyc["optim.d_warmup_steps"] == 0 and cyc["optim.lr"] == 2e-4
    assert load_config(TrainConfig, "cyclegan", overrides=["optim.d_warmup_steps=10"]
                       ).optim.d_warmup_steps == 10  # an explicit warm-up is allowed
    for key in ("lambda_histogram", "lambda_keep_calcium", "recon_hu_weight_cap"):
        with pytest.raises(ConfigError, match=key.removesuffix("_cycle")):
            load_config(TrainConfig, "cyclegan", overrides=[f"model.{key}=4"])


def test_extends_merges_a_file_over_a_built_in_config(tmp_path):
    from ctbridge.training.config import TrainConfig

    path = tmp_path / "mine.yaml"
    path.write_text("extends: gmm_unit\nmodel: {n_components: 8}\ndata: {batch_size: 4}\n"
                    "presets:\n  cpu-small: {optim.steps: 10}\n  mine: {seed: 3}\n")
    cfg = load_config(TrainConfig, path)  # the file's keys over the base's
    assert (cfg.model.kind, cfg.model.n_components, cfg.data.batch_size) == ("gmm_unit", 8, 4)
    cfg = load_config(TrainConfig, path, preset="cpu-small")  # the base's preset, extended
    assert (cfg.optim.steps, cfg.model.width, cfg.data.batch_size) == (10, 0.125, 8)
    assert load_config(TrainConfig, path, preset="paper,mine").seed == 3
    local = tmp_path / "gmm_unit.yaml"  # a local file may extend the built-in of its name
    local.write_text("extends: gmm_unit\nseed: 5\n")
    assert load_config(TrainConfig, local).seed == 5


def test_extends_refuses_unknown_names_and_cycles(tmp_path, monkeypatch):
    import ctbridge.config as config_module

    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: gmm\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: extends 'gmm', not a built-in config "
                                          r"\(cyclegan, demo, "):
        load_config(Outer, bad)
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "a.yaml").write_text("extends: b\nsteps: 1\n")
    (builtin / "b.yaml").write_text("extends: a\n")
    monkeypatch.setattr(config_module, "BUILTIN_CONFIGS", builtin)
    monkeypatch.setattr(config_module, "builtin_config_names", lambda: ["a", "b"])
    with pytest.raises(ConfigError, match=r"extends 'a', a cycle \(a -> b -> a\)"):
        load_config(Outer, "a")


def test_train_help_lists_the_presets_and_says_they_compose():
    from typer.main import get_command

    from ctbridge.cli.app import app
    from ctbridge.config import read_config

    train = get_command(app).commands["train"]  # type: ignore[attr-defined]
    help_text = next(p.help for p in train.params if p.name == "preset")
    assert "comma-separated" in help_text and "cpu-small,paper" in help_text
    for name in TRAINING:
        for preset in read_config(name)[1]:
            assert preset in help_text, (name, preset)
