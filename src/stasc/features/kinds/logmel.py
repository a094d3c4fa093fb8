"""``logmel``: the log-mel spectrogram under the MFCC (the DCASE baselines' input)."""

from __future__ import annotations

from typing import ClassVar, Literal

from stasc.features.mel import MelSettings, MelTransform
from stasc.features.registry import FeatureSettings, register_feature


class LogMelSettings(MelSettings):
    """``power_to_db(librosa.feature.melspectrogram(sr, n_fft, hop_length, n_mels, fmin, fmax))``: ``n_mels`` rows."""

    kind: Literal["logmel"] = "logmel"


class LogMel(MelTransform):
    """librosa-parity log-mel spectrogram of every view."""

    settings_class: ClassVar[type[FeatureSettings]] = LogMelSettings


register_feature(LogMel)
