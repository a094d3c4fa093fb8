"""``pcen``: per-channel energy normalisation of the mel spectrogram (Wang et al. 2017; Lostanlen et al. 2019).

Each mel band is divided by a running average of its own recent energy (an automatic gain control per band, time
constant ``time_constant``), then compressed by a root. A band's steady level, a microphone's colouring or a
recording's loudness is divided out, and what changes within a few tenths of a second stands out: a source heard
from far away, in a room, or over a noise floor reaches the network alike. The rows are mel bands (so frequency
warps apply) but no longer dB: the gain and equaliser augmentations leave them as they are (a fixed gain or band
gain is what the normalisation removes), and silence is not found in them (``model.patch_weights: sound`` and
``train.silent_patches`` need a dB feature first; stack ``logmel`` before ``pcen``).
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field, PositiveFloat
from torch import Tensor, nn

from stasc.features.mel import MelSettings, MelTransform
from stasc.features.registry import FeatureSettings, register_feature

# the mel magnitudes of audio in [-1, 1] scaled to the range of 32-bit integer samples, as librosa.pcen's examples do:
# eps and bias are set for that range
INTEGER_SCALE = 2.0**31


class PcenSettings(MelSettings):
    """``librosa.pcen(2**31 · M, sr, hop_length, gain, bias, power, time_constant, eps)`` where ``M`` is the square
    root of :class:`~stasc.features.kinds.logmel.LogMelSettings`' mel power (its ``top_db`` floor included), and the
    smoother starts from each band's first frame (no rise from zero at the start of a clip)."""

    kind: Literal["pcen"] = "pcen"
    time_constant: PositiveFloat = 0.4  # seconds over which a band's own level is averaged
    gain: Annotated[float, Field(gt=0, le=1)] = 0.98  # how much of that level is divided out (1: all of it)
    bias: PositiveFloat = 2.0
    power: Annotated[float, Field(gt=0, le=1)] = 0.5  # the root that compresses the result
    eps: PositiveFloat = 1e-6
    rows_in_db: ClassVar[bool] = False

    @property
    def smoothing(self) -> float:
        """The one-pole smoother's coefficient ``b`` for the time constant in frames (librosa's formula)."""
        frames = self.time_constant * self.sample_rate / self.hop_length
        return (math.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)


def pcen(db: Tensor, settings: PcenSettings) -> Tensor:
    """Mel power in dB ``(..., bands, frames)`` → PCEN rows, same shape (float32)."""
    magnitudes = INTEGER_SCALE * torch.pow(10.0, db.double() / 20)
    b = settings.smoothing
    level = magnitudes[..., 0]
    smooth = torch.empty_like(magnitudes)
    for frame in range(magnitudes.shape[-1]):  # the recursion runs over frames; bands and clips go together
        level = b * magnitudes[..., frame] + (1 - b) * level
        smooth[..., frame] = level
    divided = magnitudes * torch.exp(-settings.gain * (math.log(settings.eps) + torch.log1p(smooth / settings.eps)))
    out = settings.bias**settings.power * torch.expm1(settings.power * torch.log1p(divided / settings.bias))
    return out.float()


class Pcen(MelTransform):
    """PCEN of every view's mel spectrogram (the log-mel front end, then :func:`pcen`)."""

    settings_class: ClassVar[type[FeatureSettings]] = PcenSettings

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V, bands, frames)``."""
        assert isinstance(self.settings, PcenSettings)  # checked by the base class
        return pcen(super().forward(views), self.settings)

    def graph(self) -> nn.Module | None:
        # the recursion over frames is a loop no exporter traces: a PCEN model is exported from features
        return None

    def gain_response(self) -> Tensor:
        # a louder recording is divided by its louder level: the ratio moves by (1 − gain) of the change, 2 % of it
        return torch.zeros(self.settings.n_rows)

    def band_response(self) -> Tensor:
        # a band's fixed gain is divided out by its own level
        return torch.zeros(self.settings.n_rows)


register_feature(Pcen)
