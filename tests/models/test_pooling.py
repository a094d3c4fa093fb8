import math

import pytest
import torch

from stasc.models.pooling import SpatialTemporalAttentionPooling, TemporalMeanPooling


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
    return torch.tensor(xs, dtype=torch.float64), torch.tensor(a_tems, dtype=torch.float64), torch.tensor(a_spas, dtype=torch.float64)


@pytest.mark.parametrize("seed,scale", [(0, "none"), (1, "none"), (2, "none"), (3, "st"), (4, "st")])
def test_stap_matches_the_loop_reference(seed: int, scale: str) -> None:
    torch.manual_seed(seed)
    spatial, temporal = 6, 5
    pool = SpatialTemporalAttentionPooling(spatial, temporal, scale=scale).double()
    o = torch.randn(3, spatial, temporal, dtype=torch.float64) * 3
    x, a_tem, a_spa = pool(o)
    factor = spatial * temporal if scale == "st" else 1.0
    ref_x, ref_tem, ref_spa = stap_reference(o, pool.w_tem.detach(), pool.w_spa.detach(), factor)
    # float64 on both sides and the same formulas; only the summation order differs (~1e-15 relative)
    torch.testing.assert_close(x, ref_x, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a_tem, ref_tem, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a_spa, ref_spa, rtol=1e-10, atol=1e-12)


def test_attention_vectors_are_distributions() -> None:
    pool = SpatialTemporalAttentionPooling(16, 8)
    _, a_tem, a_spa = pool(torch.randn(4, 16, 8))
    for a in (a_tem, a_spa):
        assert (a >= 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(4))


def test_mean_pooling_and_norm_option() -> None:
    o = torch.randn(2, 5, 7)
    x, a_tem, a_spa = TemporalMeanPooling()(o)
    torch.testing.assert_close(x, o.mean(-1))
    assert a_tem is None and a_spa is None
    normed = SpatialTemporalAttentionPooling(5, 7, norm=True)(o).x
    torch.testing.assert_close(normed.mean(-1), torch.zeros(2), atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale,norm", [("none", False), ("st", False), ("none", True), ("st", True)])
def test_every_stap_option_keeps_shapes_and_passes_finite_gradients(scale: str, norm: bool) -> None:
    torch.manual_seed(0)
    pool = SpatialTemporalAttentionPooling(12, 9, scale=scale, norm=norm)
    o = torch.randn(3, 12, 9, requires_grad=True)
    x, a_tem, a_spa = pool(o)
    assert x.shape == (3, 12) and a_tem.shape == (3, 9) and a_spa.shape == (3, 12)
    (x * torch.randn_like(x)).sum().backward()
    for name, grad in [("o", o.grad)] + [(n, p.grad) for n, p in pool.named_parameters()]:
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_paper_stap_gives_small_x_and_the_st_scale_lifts_it() -> None:
    """The lead for ``stap_scale``: A_st ~ 1/(S·T), so the paper's x is tiny for O(1) inputs."""
    torch.manual_seed(0)
    o = torch.randn(2, 2048, 64).relu()  # like the DCNN's post-ReLU output at paper size
    plain = SpatialTemporalAttentionPooling(2048, 64)
    scaled = SpatialTemporalAttentionPooling(2048, 64, scale="st")
    scaled.load_state_dict(plain.state_dict())
    assert plain(o).x.abs().mean() < 1e-3 < 0.1 < scaled(o).x.abs().mean()


def test_bad_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="SpatialTemporalAttentionPooling.scale: got 'huge'"):
        SpatialTemporalAttentionPooling(4, 4, scale="huge")
