"""The pooling heads: STAP against a loop reference of the paper's equations, temporal mean, the registry."""

import math

import pytest
import torch

from stasc.config import ConfigError
from stasc.models.pooling import (
    MeanMaxPoolingSettings,
    MeanPoolingSettings,
    SpatialTemporalAttentionPooling,
    STAPSettings,
    TemporalMeanMaxPooling,
    TemporalMeanPooling,
    build_pooling,
    parse_pooling,
    pooling_kinds,
    register_pooling,
)


def stap(spatial: int, temporal: int, **settings: object) -> SpatialTemporalAttentionPooling:
    return SpatialTemporalAttentionPooling(STAPSettings.parse(settings), spatial=spatial, temporal=temporal)


def stap_reference(o: torch.Tensor, w_tem: torch.Tensor, w_spa: torch.Tensor, factor: float = 1.0):
    """Equations (1)–(6) of the paper, one (s, t) at a time."""
    batch, spatial, temporal = o.shape
    xs, a_tems, a_spas = [], [], []
    for b in range(batch):
        scores_t = [sum(o[b, s, t] * w_tem[s] for s in range(spatial)) for t in range(temporal)]
        total_t = sum(math.exp(v) for v in scores_t)
        a_tem = [math.exp(v) / total_t for v in scores_t]
        scores_s = [sum(o[b, s, t] * w_spa[t] for t in range(temporal)) for s in range(spatial)]
        total_s = sum(math.exp(v) for v in scores_s)
        a_spa = [math.exp(v) / total_s for v in scores_s]
        x = [sum(math.tanh(factor * a_spa[s] * a_tem[t] * o[b, s, t]) for t in range(temporal)) for s in range(spatial)]
        xs.append(x), a_tems.append(a_tem), a_spas.append(a_spa)
    return tuple(torch.tensor(values, dtype=torch.float64) for values in (xs, a_tems, a_spas))


@pytest.mark.parametrize("seed,scale", [(0, "none"), (1, "none"), (2, "none"), (3, "st"), (4, "st")])
def test_stap_matches_the_loop_reference(seed: int, scale: str) -> None:
    torch.manual_seed(seed)
    spatial, temporal = 6, 5
    pool = stap(spatial, temporal, scale=scale).double()
    o = torch.randn(3, spatial, temporal, dtype=torch.float64) * 3
    x, a_tem, a_spa = pool(o)
    factor = spatial * temporal if scale == "st" else 1.0
    ref_x, ref_tem, ref_spa = stap_reference(o, pool.w_tem.detach(), pool.w_spa.detach(), factor)
    # float64 on both sides and the same formulas; only the summation order differs (~1e-15 relative)
    torch.testing.assert_close(x, ref_x, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a_tem, ref_tem, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a_spa, ref_spa, rtol=1e-10, atol=1e-12)


def test_attention_vectors_are_distributions() -> None:
    pool = stap(16, 8)
    _, a_tem, a_spa = pool(torch.randn(4, 16, 8))
    for a in (a_tem, a_spa):
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(4))


def test_mean_pooling_and_norm_option() -> None:
    o = torch.randn(2, 5, 7)
    x, a_tem, a_spa = TemporalMeanPooling(MeanPoolingSettings(), spatial=5, temporal=7)(o)
    torch.testing.assert_close(x, o.mean(-1))
    assert a_tem is None and a_spa is None
    plain, normed = stap(5, 7), stap(5, 7, norm=True)
    normed.load_state_dict(plain.state_dict(), strict=False)  # the same attention weights; the norm is extra
    x = plain(o).x
    # a LayerNorm of the pooled vector (initialised to weight 1, bias 0): zero mean, unit variance per example
    expected = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(normed(o).x, expected, rtol=1e-5, atol=1e-5)


def test_mean_max_pooling_adds_the_temporal_maximum_so_a_short_event_survives() -> None:
    head = TemporalMeanMaxPooling(MeanMaxPoolingSettings(), spatial=3, temporal=10)
    o = torch.zeros(1, 3, 10)
    o[0, 0, 4] = 5.0  # one loud frame in row 0, nothing else
    o[0, 1] = 1.0  # a steady row: mean 1, max 1
    x, a_tem, a_spa = head(o)
    torch.testing.assert_close(x, torch.tensor([[0.5 + 5.0, 2.0, 0.0]]))
    assert a_tem is None and a_spa is None
    o = torch.randn(2, 5, 7, requires_grad=True)
    x = head(o).x
    torch.testing.assert_close(x, o.mean(-1) + o.max(-1).values)
    x.sum().backward()
    # every frame gets the mean's 1/T; each row's loudest frame gets the maximum's 1 as well
    expected = torch.full((2, 5, 7), 1 / 7).scatter_add(-1, o.argmax(-1, keepdim=True), torch.ones(2, 5, 1))
    torch.testing.assert_close(o.grad, expected)


@pytest.mark.parametrize("scale,norm", [("none", False), ("st", False), ("none", True), ("st", True)])
def test_every_stap_option_keeps_shapes_and_passes_finite_gradients(scale: str, norm: bool) -> None:
    torch.manual_seed(0)
    pool = stap(12, 9, scale=scale, norm=norm)
    o = torch.randn(3, 12, 9, requires_grad=True)
    x, a_tem, a_spa = pool(o)
    assert x.shape == (3, 12) and a_tem.shape == (3, 9) and a_spa.shape == (3, 12)
    (x * torch.randn_like(x)).sum().backward()
    for name, grad in [("o", o.grad)] + [(n, p.grad) for n, p in pool.named_parameters()]:
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_paper_stap_gives_small_x_and_the_st_scale_lifts_it() -> None:
    """The lead for STAP's ``scale``: A_st ~ 1/(S·T), so the paper's x is tiny for O(1) inputs."""
    torch.manual_seed(0)
    o = torch.randn(2, 2048, 64).relu()  # like the DCNN's post-ReLU output at paper size
    plain = stap(2048, 64)
    scaled = stap(2048, 64, scale="st")
    scaled.load_state_dict(plain.state_dict())
    assert plain(o).x.abs().mean() < 1e-3 < 0.1 < scaled(o).x.abs().mean()


def test_heads_are_parsed_from_a_kind_or_a_mapping() -> None:
    assert {"stap", "mean", "meanmax"} <= set(pooling_kinds())
    assert parse_pooling("stap") == STAPSettings() and parse_pooling("mean") == MeanPoolingSettings()
    settings = parse_pooling({"kind": "stap", "norm": True, "scale": "st"})
    assert (settings.kind, settings.scale, settings.norm) == ("stap", "st", True)
    assert parse_pooling(settings) is settings and parse_pooling(settings.to_dict()) == settings
    head = build_pooling(settings, spatial=6, temporal=4)
    assert isinstance(head, SpatialTemporalAttentionPooling) and head.factor == 24.0
    assert isinstance(head.norm, torch.nn.LayerNorm) and head.w_tem.shape == (6,) and head.w_spa.shape == (4,)
    assert isinstance(build_pooling(parse_pooling("mean"), spatial=6, temporal=4), TemporalMeanPooling)
    assert isinstance(build_pooling(parse_pooling("meanmax"), spatial=6, temporal=4), TemporalMeanMaxPooling)


@pytest.mark.parametrize(
    "item,match",
    [
        ("median", "got 'median', expected one of .*mean"),
        ({"kind": "stap", "scale": "huge"}, "scale: input should be 'none' or 'st', got 'huge'"),
        ({"kind": "mean", "norm": True}, "unknown config key norm; known keys: kind"),
        ({"norm": True}, "got None, expected one of"),
        (3, "got 3, expected one of .* \\(or a mapping with a kind\\)"),
    ],
)
def test_bad_heads_are_refused_clearly(item: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_pooling(item)


def test_a_head_refuses_another_heads_settings_and_a_kind_registers_once() -> None:
    with pytest.raises(TypeError, match="SpatialTemporalAttentionPooling takes STAPSettings, got MeanPoolingSettings"):
        SpatialTemporalAttentionPooling(MeanPoolingSettings(), spatial=4, temporal=4)
    with pytest.raises(ValueError, match="pooling head 'stap' is registered twice"):
        register_pooling(type("OtherSTAP", (SpatialTemporalAttentionPooling,), {}))
    register_pooling(SpatialTemporalAttentionPooling)  # the same class again: a no-op
    assert isinstance(build_pooling(STAPSettings(), spatial=4, temporal=4), SpatialTemporalAttentionPooling)


@pytest.mark.parametrize("kind", ["stap", "mean", "meanmax"])
def test_a_head_says_whether_it_gives_attention_and_does_what_it_says(kind: str) -> None:
    head = build_pooling(parse_pooling(kind), spatial=6, temporal=5)
    pooled = head(torch.randn(2, 6, 5))
    assert (pooled.a_tem is not None and pooled.a_spa is not None) == head.has_attention
    assert head.has_attention == (kind == "stap")
