"""``mfcc``: librosa's MFCC (SPEC §2), and the paper's ``mfcc2048`` and ``mfcc1024``."""

from __future__ import annotations

from typing import ClassVar, Literal

from stasc.features.mel import CepstralSettings, MelTransform
from stasc.features.registry import FeatureSettings, register_feature


class MFCCSettings(CepstralSettings):
    """``librosa.feature.mfcc(sr, n_mfcc, n_fft, hop_length, n_mels, fmin, fmax)``, dB floor ``top_db``."""

    kind: Literal["mfcc"] = "mfcc"


class MFCC(MelTransform):
    """librosa-parity MFCC of every view."""

    settings_class: ClassVar[type[FeatureSettings]] = MFCCSettings

    def __init__(self, settings: FeatureSettings, *, chunk_size: int | None = None) -> None:
        super().__init__(settings, chunk_size=chunk_size, n_dct=getattr(settings, "n_mfcc", None))


register_feature(MFCC, named={
    "mfcc2048": MFCCSettings(sample_rate=44100, n_fft=2048, hop_length=1024),
    "mfcc1024": MFCCSettings(sample_rate=44100, n_fft=1024, hop_length=512),
})
