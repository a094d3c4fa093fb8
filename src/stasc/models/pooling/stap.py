"""``stap``: spatial-temporal attention pooling (Phan et al. 2019; SPEC §3), the paper's DCNN^sp."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from stasc.models.pooling.registry import Pooled, PoolingHead, PoolingSettings, register_pooling


class STAPSettings(PoolingSettings):
    """``scale``: ``none`` (the paper, eq. 6) or ``st``, which multiplies the mask A by S·T before
    the tanh (each entry of A is ~1/(S·T), which keeps x near 1e-2 and the tanh almost linear).
    ``norm``: a LayerNorm on the pooled vector x (not in the paper)."""

    kind: Literal["stap"] = "stap"
    scale: Literal["none", "st"] = "none"
    norm: bool = False


class SpatialTemporalAttentionPooling(PoolingHead):
    """``a_tem = softmax_t(o_tᵀ W)``, W ∈ R^S (one score per time step);
    ``a_spa = softmax_s(ō_sᵀ W̄)``, W̄ ∈ R^T (one score per spatial row);
    ``A = a_spa ⊗ a_tem``; ``x_s = Σ_t tanh(A_st · O_st)``."""

    settings_class: ClassVar[type[PoolingSettings]] = STAPSettings
    has_attention: ClassVar[bool] = True

    def __init__(self, settings: PoolingSettings, *, spatial: int, temporal: int) -> None:
        super().__init__(settings, spatial=spatial, temporal=temporal)
        assert isinstance(settings, STAPSettings)
        self.w_tem = nn.Parameter(torch.empty(spatial))
        self.w_spa = nn.Parameter(torch.empty(temporal))
        # uniform like a Linear layer with fan-in S (resp. T), so initial scores are O(1)
        nn.init.uniform_(self.w_tem, -spatial**-0.5, spatial**-0.5)
        nn.init.uniform_(self.w_spa, -temporal**-0.5, temporal**-0.5)
        self.factor = float(spatial * temporal) if settings.scale == "st" else 1.0
        self.norm: nn.Module = nn.LayerNorm(spatial) if settings.norm else nn.Identity()

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)`` with ``a_tem (B, T)`` and ``a_spa (B, S)``.

        Legend: B batch, S spatial rows (F·C), T time steps.
        """
        a_tem = torch.softmax(torch.einsum("bst,s->bt", o, self.w_tem), dim=-1)  # B, T
        a_spa = torch.softmax(torch.einsum("bst,t->bs", o, self.w_spa), dim=-1)  # B, S
        mask = a_spa.unsqueeze(-1) * a_tem.unsqueeze(1)  # B, S, T
        x = torch.tanh(self.factor * mask * o).sum(-1)  # B, S
        return Pooled(self.norm(x), a_tem, a_spa)


register_pooling(SpatialTemporalAttentionPooling)
