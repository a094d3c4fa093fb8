"""The built-in feature kinds; importing this package registers them (see :mod:`stasc.features.registry`)."""

from stasc.features.kinds import cqt, hpss_mfcc, logmel, mfcc, pcen

__all__ = ["cqt", "hpss_mfcc", "logmel", "mfcc", "pcen"]
