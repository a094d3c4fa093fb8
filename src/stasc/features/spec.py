"""What a feature is: a typed, hashable description of one spectrogram type.

The paper's four spectrograms (SPEC §2) are named specs; any field can be changed for other data
(e.g. 8 kHz speech), and the cache keys extracted features by these fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

FeatureKind = Literal["mfcc", "logmel", "cqt", "hpss_mfcc"]
FEATURE_KINDS: tuple[str, ...] = ("mfcc", "logmel", "cqt", "hpss_mfcc")


@dataclass(frozen=True)
class FeatureSpec:
    """One spectrogram type; fields that a kind does not use are ignored by it (and by its hash).

    ``mfcc``: librosa.feature.mfcc(n_mfcc, n_fft, hop_length, n_mels, fmin, fmax), dB floor top_db.
    ``logmel``: the same log-mel spectrogram before the DCT (``n_mels`` rows; the DCASE baseline's input).
    ``cqt``: |librosa.cqt(hop_length, n_bins, bins_per_octave, fmin=cqt_fmin, filter_scale)| in dB
    relative to each view's maximum, floor top_db.
    ``hpss_mfcc``: librosa.effects.hpss(kernel_size=hpss_kernel, margin=hpss_margin) with its own
    STFT (hpss_n_fft, hpss_hop_length), then ``mfcc`` of the harmonic and the percussive parts as
    two views each.
    """

    kind: FeatureKind = "mfcc"
    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 1024
    n_mfcc: int = 128
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = 80.0
    n_bins: int = 110
    bins_per_octave: int = 12
    cqt_fmin: float | None = None
    filter_scale: float = 4.0
    hpss_kernel: int = 31
    hpss_margin: float = 1.0
    hpss_n_fft: int = 2048
    hpss_hop_length: int = 512

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"feature kind must be one of {FEATURE_KINDS}, got {self.kind!r}")
        for name in ("sample_rate", "n_fft", "hop_length", "n_mfcc", "n_mels", "n_bins", "bins_per_octave"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"feature field {name} must be a positive integer, got {value!r}")
        if self.kind in ("mfcc", "logmel", "hpss_mfcc"):
            if self.kind != "logmel" and self.n_mfcc > self.n_mels:
                raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
            if self.hop_length > self.n_fft:
                raise ValueError(f"hop_length ({self.hop_length}) larger than n_fft ({self.n_fft}) skips samples")
            fmax = self.sample_rate / 2 if self.fmax is None else self.fmax
            if not 0 <= self.fmin < fmax <= self.sample_rate / 2:
                raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax}")
        if self.top_db <= 0:
            raise ValueError(f"top_db must be positive, got {self.top_db}")
        if self.kind == "hpss_mfcc" and (self.hpss_kernel < 1 or self.hpss_kernel % 2 == 0):
            raise ValueError(f"hpss_kernel must be a positive odd integer, got {self.hpss_kernel}")

    @property
    def n_rows(self) -> int:
        """Height of the spectrogram (coefficients or CQT bins)."""
        return {"cqt": self.n_bins, "logmel": self.n_mels}.get(self.kind, self.n_mfcc)

    @property
    def views_per_channel_view(self) -> int:
        """HPSS splits every channel view into a harmonic and a percussive view."""
        return 2 if self.kind == "hpss_mfcc" else 1

    def frames(self, n_samples: int) -> int:
        """Frames for ``n_samples`` at ``sample_rate`` (centred frames, librosa convention)."""
        return 1 + n_samples // self.hop_length

    def identity(self) -> dict[str, object]:
        """The fields that define this feature's values (what the cache hashes)."""
        used = {"kind", "sample_rate", "hop_length", "top_db"}
        if self.kind in ("mfcc", "logmel", "hpss_mfcc"):
            used |= {"n_fft", "n_mels", "fmin", "fmax"} | ({"n_mfcc"} if self.kind != "logmel" else set())
        if self.kind == "cqt":
            used |= {"n_bins", "bins_per_octave", "cqt_fmin", "filter_scale"}
        if self.kind == "hpss_mfcc":
            used |= {"hpss_kernel", "hpss_margin", "hpss_n_fft", "hpss_hop_length"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k in used}

    @classmethod
    def named(cls, name: str, **overrides: object) -> FeatureSpec:
        """One of the paper's spectrograms by name (``NAMED_FEATURES``), with field overrides."""
        if name not in NAMED_FEATURES:
            raise ValueError(f"unknown feature {name!r}; known: {', '.join(NAMED_FEATURES)}")
        return dataclasses.replace(NAMED_FEATURES[name], **overrides)


# SPEC §2: the paper's four spectrograms at the 44.1 kHz analysis rate.
NAMED_FEATURES: dict[str, FeatureSpec] = {
    "mfcc2048": FeatureSpec(kind="mfcc", n_fft=2048, hop_length=1024),
    "mfcc1024": FeatureSpec(kind="mfcc", n_fft=1024, hop_length=512),
    "cqt": FeatureSpec(kind="cqt", hop_length=512, n_bins=110, filter_scale=4.0),
    "hpss_mfcc2048": FeatureSpec(kind="hpss_mfcc", n_fft=2048, hop_length=1024),
}
