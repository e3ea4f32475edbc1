from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from ctbridge.models import ModelConfig, build_model
from ctbridge.models.cyclegan import CycleGAN
from ctbridge.models.gmm_unit import GMMUNIT

RECIPE = {"lambda_histogram": 1000.0, "lambda_keep_calcium": 100.0,
          "lambda_keep_calcium_cycle": 100.0, "recon_hu_weight_cap": 4.0}
OFF = {"lambda_histogram": 0.0, "lambda_keep_calcium": 0.0, "lambda_keep_calcium_cycle": 0.0,
       "recon_hu_weight_cap": 1.0}


def test_defaults_are_the_papers_networks_and_weights_plus_the_recipe():
    c = ModelConfig()
    assert c.kind == "gmm_unit" and c.domains == ["nc", "ce"]
    assert c.n_components == 25 and not c.fixed_prior and c.width == 1.0 and c.n_down == 2
    assert (c.lambda0, c.lambda1, c.lambda2, c.lambda3, c.lambda4) == (10, 0.1, 100, 0.1, 100)
    assert (c.n_res_blocks, c.lambda_cycle, c.lambda_identity, c.pool_size, c.d_layers) == (
        9, 10, 0.5, 50, 3)
    assert {k: getattr(c, k) for k in RECIPE} == RECIPE
    assert {k: getattr(ModelConfig(kind="unit"), k) for k in RECIPE} == RECIPE
    assert c.generator_norm == c.discriminator_norm == "none"
    assert ModelConfig(kind="cyclegan").generator_norm == "instance"


def test_cyclegan_defaults_to_its_papers_losses_and_refuses_the_recipe():
    c = ModelConfig(kind="cyclegan")
    assert {k: getattr(c, k) for k in OFF} == OFF
    assert ModelConfig(kind="cyclegan", **OFF) == c  # the off values may be stated
    for key, value in RECIPE.items():
        with pytest.raises(ValidationError, match=key.removesuffix("_cycle")):
            ModelConfig(kind="cyclegan", **{key: value})


def test_unit_is_one_fixed_gaussian():
    c = ModelConfig(kind="unit")
    assert c.n_components == 1 and c.fixed_prior
    with pytest.raises(ValidationError, match="one latent component"):
        ModelConfig(kind="unit", n_components=5)
    with pytest.raises(ValidationError, match="fixed N"):
        ModelConfig(kind="unit", fixed_prior=False)
    with pytest.raises(ValidationError, match="needs n_components = 1"):
        ModelConfig(kind="gmm_unit", fixed_prior=True)


@pytest.mark.parametrize("domains", [["nc"], ["nc", "nc"], ["nc", "c e"]])
def test_bad_domains(domains):
    with pytest.raises(ValidationError):
        ModelConfig(domains=domains)


def test_unknown_fields_refused_and_yaml_round_trip():
    with pytest.raises(ValidationError):
        ModelConfig(widht=0.5)
    for kind in ("gmm_unit", "unit", "cyclegan"):
        c = ModelConfig(kind=kind, domains=["nc", "arterial", "venous"], width=0.25)
        again = ModelConfig.model_validate(yaml.safe_load(yaml.safe_dump(c.model_dump())))
        assert again == c


def test_every_field_documented():
    for name, field in ModelConfig.model_fields.items():
        assert field.description, name


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("kind", ["gmm_unit", "unit", "cyclegan"])
def test_build_model_by_kind(kind):
    three = ["nc", "arterial", "venous"]
    small = build_model(ModelConfig(kind=kind, domains=three, width=0.125, n_res_blocks=1,
                                    n_components=1 if kind == "unit" else 4))
    wide = build_model(ModelConfig(kind=kind, domains=three, width=0.25, n_res_blocks=1,
                                   n_components=1 if kind == "unit" else 4))
    assert small.domains == three and sorted(small.discriminators) == sorted(three)
    assert _count(wide) > 2 * _count(small)  # width multiplies channels: ~4x the weights
    if kind == "cyclegan":
        assert isinstance(small, CycleGAN) and not hasattr(small, "latent")
        assert sorted(small.generators) == sorted(f"{s}_to_{t}" for s in three for t in three
                                                  if s != t)  # one per ordered pair
        return
    assert isinstance(small, GMMUNIT)
    lat = small.latent
    names = {n for n, _ in small.named_parameters()}
    if kind == "gmm_unit":  # K learnable components
        assert lat.n_components == 4 and lat.prior_mu.shape == (4, lat.latent_dim)
        assert {"latent.prior_mu", "latent.prior_log_sigma", "latent.prior_logits",
                "latent.posterior_log_var"} <= names
        return
    # UNIT: one component, prior N(0, I) and posterior variance I, frozen buffers
    assert lat.n_components == 1 and lat.fixed_prior
    assert not any(n.startswith("latent.prior") or "posterior_log_var" in n for n in names)
    assert float(lat.prior_mu.abs().sum()) == 0 and float(lat.prior_log_sigma.abs().sum()) == 0
    assert float(lat.posterior_log_var.abs().sum()) == 0


def test_removed_switches_load_at_their_kept_value_and_are_refused_otherwise():
    from ctbridge.config import load_config
    from ctbridge.errors import ConfigError
    from ctbridge.training.config import TrainConfig

    assert ModelConfig(init="identity", output_gate="none", lambda_pseudo_pair=0.0,
                       pseudo_pair_error="l1") == ModelConfig()
    with pytest.raises(ConfigError, match="lambda_pseudo_pair = 100.0: this switch was removed"):
        ModelConfig(lambda_pseudo_pair=100.0)
    cfg = load_config(TrainConfig, "gmm_unit", overrides=["optim.lr_d=null",
                                                          "optim.ema_decay=0"])
    assert "lr_d" not in cfg.optim.model_dump()
    for key, value in (("model.output_gate", "latent"), ("optim.ema_decay", 0.999),
                       ("model.histogram_scale_into", {"ce": 0.0})):
        with pytest.raises(ConfigError, match=rf"{key} = .*: this switch was removed"):
            load_config(TrainConfig, "gmm_unit", overrides={key: value})
