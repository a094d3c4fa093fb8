"""A new pooling head is one module plus its test: defined and registered here, with no edit to stasc.

The head (temporal max pooling, or the mean of the ``k`` largest steps) is registered once, when this
module is imported, under a name no built-in head uses, so the other tests see the registry as they expect.
"""

from typing import ClassVar, Literal

import numpy as np
import pytest
import torch
import yaml
from pydantic import PositiveInt
from torch import Tensor

from stasc.config import ConfigError, ExperimentConfig, load_yaml
from stasc.features.patches import Normalizer
from stasc.models import ModelConfig, Pooled, PoolingHead, PoolingSettings, build_model, register_pooling
from stasc.models.pooling import pooling_kinds
from stasc.training.module import SceneClassifier

KIND = "test_temporal_max"


class TemporalMaxSettings(PoolingSettings):
    """``k``: how many of the largest time steps are averaged (1: the maximum)."""

    kind: Literal["test_temporal_max"] = "test_temporal_max"
    k: PositiveInt = 1


class TemporalMaxPooling(PoolingHead):
    """``x_s = mean of the k largest O_st over t``."""

    settings_class: ClassVar[type[PoolingSettings]] = TemporalMaxSettings

    def __init__(self, settings: PoolingSettings, *, spatial: int, temporal: int) -> None:
        super().__init__(settings, spatial=spatial, temporal=temporal)
        assert isinstance(settings, TemporalMaxSettings)
        if settings.k > temporal:
            raise ValueError(f"k={settings.k} is more than the {temporal} time steps")
        self.k = settings.k

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)``."""
        return Pooled(o.topk(self.k, dim=-1).values.mean(-1), None, None)


register_pooling(TemporalMaxPooling)


def tiny(**changes: object) -> ModelConfig:
    return ModelConfig.paper(**{"width_multiplier": 1 / 16, "head": "linear", "pooling": KIND, **changes})


def test_the_registry_knows_it_and_a_model_config_takes_it() -> None:
    assert KIND in pooling_kinds()
    assert tiny().pooling == TemporalMaxSettings()
    config = tiny(pooling={"kind": KIND, "k": 3})
    assert config.pooling == TemporalMaxSettings(k=3)
    assert ModelConfig.parse(yaml.safe_load(yaml.safe_dump(config.to_dict()))) == config  # round trip
    with pytest.raises(ConfigError, match=r"pooling.k: input should be greater than 0, got 0"):
        tiny(pooling={"kind": KIND, "k": 0})
    with pytest.raises(ConfigError, match=r"unknown config key pooling.scale; known keys of pooling: k, kind"):
        tiny(pooling={"kind": KIND, "scale": "st"})


def test_the_model_pools_the_feature_map_with_it() -> None:
    torch.manual_seed(0)
    model = build_model(tiny(pooling={"kind": KIND, "k": 2})).eval()
    assert isinstance(model.pooling, TemporalMaxPooling)
    x = torch.randn(3, 1, 128, 128)
    with torch.no_grad():
        out = model(x, return_attention=True)
        o = model.features(x)  # B, C, F, T
        o = o.permute(0, 2, 1, 3).reshape(3, -1, o.shape[-1])  # B, S, T
        pooled = o.sort(-1, descending=True).values[..., :2].mean(-1)
        # float32: the same numbers through the same classifier
        torch.testing.assert_close(out.logits, model.classifier(pooled), rtol=0, atol=1e-6)
    assert out.a_tem is None and out.a_spa is None  # no attention to show


def test_an_experiment_with_it_trains_a_step() -> None:
    config = ExperimentConfig.parse({"model": tiny().to_dict(), "train": {"lr": 1e-3}})
    assert ExperimentConfig.parse(load_yaml(yaml.safe_dump(config.to_dict()), source="round trip")) == config
    torch.manual_seed(0)
    # the training module, as fit() makes it: config and normalisers as plain data
    module = SceneClassifier.create(config, [str(c) for c in range(10)], [Normalizer(np.zeros(128), np.ones(128))])
    assert isinstance(module.model.pooling, TemporalMaxPooling)
    optimizer = module.configure_optimizers()
    batch = (torch.randn(8, 1, 128, 128), torch.arange(8) % 10, torch.arange(8), torch.ones(8))
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    module.train()
    module.log = lambda *args, **kwargs: None  # type: ignore[method-assign]  # no Trainer to log to
    loss = module.training_step(batch, 0)
    assert torch.isfinite(loss)
    loss.backward()
    for name, param in module.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name
    optimizer.step()
    changed = [name for name, p in module.named_parameters() if not torch.equal(p, before[name])]
    assert changed == list(before)  # every weight moved
    with torch.no_grad():  # still in training mode: BatchNorm on the batch's statistics, as for `loss`
        after = torch.nn.functional.cross_entropy(module(batch[0]), batch[1])
    print(f"loss {loss.item():.3f} → {after.item():.3f}")
    assert after < loss  # a step of lr 1e-3 on one batch lowers its loss (measured 2.81 → 1.36)
