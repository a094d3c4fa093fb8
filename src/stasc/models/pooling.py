"""Pooling heads that turn the last feature map O ∈ R^{S×T} into one vector x ∈ R^S.

Dimension letters: B batch, S spatial rows (F·C), T time steps.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn


class Pooled(NamedTuple):
    x: Tensor  # (B, S)
    a_tem: Tensor | None  # (B, T), a distribution over time
    a_spa: Tensor | None  # (B, S), a distribution over spatial rows


class TemporalMeanPooling(nn.Module):
    """DCNN^nonsp: ``x_s = mean_t O_st``."""

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)``; B batch, S spatial rows, T time steps."""
        return Pooled(o.mean(-1), None, None)


class SpatialTemporalAttentionPooling(nn.Module):
    """STAP (Phan et al. 2019; SPEC §3).

    ``a_tem = softmax_t(o_tᵀ W)``, W ∈ R^S (one score per time step);
    ``a_spa = softmax_s(ō_sᵀ W̄)``, W̄ ∈ R^T (one score per spatial row);
    ``A = a_spa ⊗ a_tem``; ``x_s = Σ_t tanh(A_st · O_st)``.
    ``scale='st'`` multiplies A by S·T before the tanh (each entry of A is ~1/(S·T), so with
    ``'none'``, the paper's form, tanh is nearly linear and x stays ~1e-2); ``norm=True`` adds a
    LayerNorm on x. W and W̄ hold one weight per row of O (resp. per time step).
    """

    def __init__(self, spatial: int, temporal: int, *, scale: str = "none", norm: bool = False) -> None:
        super().__init__()
        if scale not in ("none", "st"):
            raise ValueError(f"SpatialTemporalAttentionPooling.scale: got {scale!r}, expected 'none' or 'st'")
        self.w_tem = nn.Parameter(torch.empty(spatial))
        self.w_spa = nn.Parameter(torch.empty(temporal))
        # uniform like a Linear layer with fan-in S (resp. T), so initial scores are O(1)
        nn.init.uniform_(self.w_tem, -spatial**-0.5, spatial**-0.5)
        nn.init.uniform_(self.w_spa, -temporal**-0.5, temporal**-0.5)
        self.factor = float(spatial * temporal) if scale == "st" else 1.0
        self.norm = nn.LayerNorm(spatial) if norm else nn.Identity()

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)`` with ``a_tem (B, T)`` and ``a_spa (B, S)``.

        Legend: B batch, S spatial rows (F·C), T time steps.
        """
        a_tem = torch.softmax(torch.einsum("bst,s->bt", o, self.w_tem), dim=-1)  # B, T
        a_spa = torch.softmax(torch.einsum("bst,t->bs", o, self.w_spa), dim=-1)  # B, S
        mask = a_spa.unsqueeze(-1) * a_tem.unsqueeze(1)  # B, S, T
        x = torch.tanh(self.factor * mask * o).sum(-1)  # B, S
        return Pooled(self.norm(x), a_tem, a_spa)
