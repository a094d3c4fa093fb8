"""``cqt``: the constant-Q magnitude in dB relative to each view's maximum (SPEC §2), and the paper's ``cqt``."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import PositiveFloat
from torch import Tensor

from stasc.audio import view_relations
from stasc.features.cqt import ConstantQTransform, amplitude_to_db
from stasc.features.registry import FeatureSettings, FeatureTransform, register_feature
from stasc.schema import PositiveInt


class CQTSettings(FeatureSettings):
    """``|librosa.cqt(sr, hop_length, fmin, n_bins, bins_per_octave, filter_scale)|`` →
    ``amplitude_to_db(ref=max)`` of each view, floor ``top_db``. ``fmin`` None is librosa's C1.
    ``resampler``: how each octave halves the rate; ``soxr`` as librosa (on the CPU, whatever the
    device), ``sinc`` a half-band filter that stays on the GPU (other numbers, so its own cache)."""

    kind: Literal["cqt"] = "cqt"
    hop_length: PositiveInt = 512
    n_bins: PositiveInt = 110
    bins_per_octave: PositiveInt = 12
    fmin: PositiveFloat | None = None
    filter_scale: PositiveFloat = 4.0
    resampler: Literal["soxr", "sinc"] = "soxr"

    @property
    def n_rows(self) -> int:
        return self.n_bins

    @property
    def min_samples(self) -> int:
        # the octave plan halves the hop once per octave: a recording shorter than a few hops has
        # no frame in the lowest octave worth the name
        return 4 * self.hop_length


class CQT(FeatureTransform):
    """librosa-parity CQT of every view; on CPU a recording at a time, so that its mid and repeated
    views reuse the others' responses (the transform is linear; :func:`view_relations`)."""

    settings_class: ClassVar[type[FeatureSettings]] = CQTSettings

    def __init__(self, settings: FeatureSettings, *, chunk_size: int | None = None) -> None:
        super().__init__(settings, chunk_size=chunk_size)
        assert isinstance(settings, CQTSettings)
        self.cqt = ConstantQTransform(
            settings.sample_rate, hop_length=settings.hop_length, n_bins=settings.n_bins,
            bins_per_octave=settings.bins_per_octave, fmin=settings.fmin, filter_scale=settings.filter_scale,
            resampler=settings.resampler,
        )

    def signals(self, signals: Tensor) -> Tensor:
        return amplitude_to_db(self.cqt(signals), top_db=self.settings.top_db).unsqueeze(1)

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V, n_bins, frames)``."""
        if views.ndim < 2 or views.device.type != "cpu" or (torch.is_grad_enabled() and views.requires_grad):
            return super().forward(views)
        flat = views.reshape(-1, *views.shape[-2:])
        out = torch.stack([self._recording(recording) for recording in flat])
        return out.reshape(*views.shape[:-1], *out.shape[-2:])

    def _recording(self, views: Tensor) -> Tensor:
        plan = view_relations(views)
        computed = [v for v, how in enumerate(plan) if how == "own"]
        real, imag = self.cqt.complex_response(views[computed])
        by_view: dict[int, tuple[Tensor, Tensor]] = {v: (real[i], imag[i]) for i, v in enumerate(computed)}
        for v, how in enumerate(plan):
            if how == "copy":
                by_view[v] = by_view[v - 1]
            elif how == "mid":  # the mid's response is the mean of the left's and the right's
                (left_re, left_im), (right_re, right_im) = by_view[0], by_view[1]
                by_view[v] = (0.5 * (left_re + right_re), 0.5 * (left_im + right_im))
        parts = [by_view[v] for v in range(len(plan))]
        magnitude = torch.stack([torch.sqrt(re.square() + im.square()) for re, im in parts])
        return amplitude_to_db(magnitude, top_db=self.settings.top_db)


register_feature(CQT, named={"cqt": CQTSettings(sample_rate=44100, hop_length=512, n_bins=110, filter_scale=4.0)})
