"""An ensemble inside one model: ``model.members`` copies of the DCNN whose class probabilities are averaged.

Each member is initialised on its own (one after the other from torch's RNG) and, in training, is
fed its own augmentation and mixup draw of every batch with its own loss (the training module sums
them), so the members are trained as if apart; they share only the batches. A forward pass returns
the log of the members' mean probability, so ``softmax(forward(x))`` is that mean and every caller
of a single DCNN (evaluation, inference, export, attention maps) works on the average unchanged.
With ``members: 1`` the model is a plain :class:`DCNN` and its checkpoints keep their layout.
"""

from __future__ import annotations

import math
from typing import Literal, cast, overload

import torch
from torch import Tensor, nn

from stasc.models.config import ModelConfig
from stasc.models.dcnn import DCNN, DCNNOutput
from stasc.models.pooling import PoolingHead


class MemberAverage(nn.Module):
    """``config.members`` DCNNs → the log of their mean class probability (B, K); attention maps averaged too."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.members < 2:
            raise ValueError(f"MemberAverage needs at least 2 members, got model.members={config.members}")
        self.config = config
        self.members = nn.ModuleList(DCNN(config) for _ in range(config.members))

    @property
    def pooling(self) -> PoolingHead:
        """The members' pooling head (all of one kind): what asks whether the model has attention maps."""
        return cast(DCNN, self.members[0]).pooling

    @overload
    def forward(self, x: Tensor, return_attention: Literal[False] = ..., member: int | None = ...) -> Tensor: ...

    @overload
    def forward(self, x: Tensor, return_attention: Literal[True], member: int | None = ...) -> DCNNOutput: ...

    def forward(self, x: Tensor, return_attention: bool = False, member: int | None = None) -> Tensor | DCNNOutput:
        """``x (B, C_in, F_in, T_in)`` → ``(B, K)`` log mean probabilities; ``member`` given: that member's logits.

        With ``return_attention`` a :class:`DCNNOutput` whose ``a_tem`` and ``a_spa`` are the members' means
        (each member's sums to 1, so the mean does too).
        """
        if member is not None:
            if return_attention:
                raise ValueError("return_attention is for the averaged model, not one member")
            logits: Tensor = self.members[member](x)
            return logits
        outputs = [m(x, return_attention=True) for m in self.members]
        log_probs = torch.stack([out.logits.float().log_softmax(-1) for out in outputs])
        averaged = torch.logsumexp(log_probs, 0) - math.log(len(outputs))
        if not return_attention:
            return averaged
        return DCNNOutput(averaged, _mean([out.a_tem for out in outputs]), _mean([out.a_spa for out in outputs]))


# what build_model gives: every caller runs either the same way
Network = DCNN | MemberAverage


def build_model(config: ModelConfig) -> Network:
    """The network for ``config``: a DCNN, or ``model.members`` of them averaged; weights come from torch's global RNG
    (seed it first)."""
    return MemberAverage(config) if config.members > 1 else DCNN(config)


def _mean(maps: list[Tensor | None]) -> Tensor | None:
    present = [m for m in maps if m is not None]
    return torch.stack(present).mean(0) if present else None
