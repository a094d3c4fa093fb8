"""Frequency/time masking of training patches: what is zeroed, how much, reproducibly, and only in training."""

import numpy as np
import pytest
import torch

from stasc.config import MaskingConfig, load_experiment
from stasc.training.masking import mask_patches


def masked(patches: torch.Tensor, seed: int = 0, **settings: int) -> torch.Tensor:
    options = {"freq_masks": 0, "freq_max_width": 8, "time_masks": 0, "time_max_width": 16, **settings}
    return mask_patches(patches, rng=np.random.default_rng(seed), **options)


def test_frequency_masks_zero_whole_rows_of_every_channel_within_the_width() -> None:
    patches = torch.rand(200, 2, 40, 64) + 1.0  # no zeros of its own
    out = masked(patches, freq_masks=1, freq_max_width=8)
    zero_rows = (out == 0).all(dim=3)  # B, C, rows
    assert torch.equal(zero_rows[:, 0], zero_rows[:, 1])  # both channels masked alike
    widths = zero_rows[:, 0].sum(1)
    assert widths.max() <= 8 and widths.min() == 0 and len(set(widths.tolist())) == 9  # 0..8 all drawn
    # one band per patch: the zeroed rows are adjacent
    for row in zero_rows[:, 0]:
        index = torch.nonzero(row).flatten()
        assert len(index) == 0 or index[-1] - index[0] + 1 == len(index)
    untouched = ~zero_rows[:, 0]
    assert torch.equal(out[:, 0][untouched], patches[:, 0][untouched])


def test_time_masks_zero_whole_columns_and_two_masks_cover_more() -> None:
    patches = torch.rand(500, 1, 40, 64) + 1.0
    one = (masked(patches, time_masks=1, time_max_width=16) == 0).all(dim=2).float().mean()
    two = (masked(patches, time_masks=2, time_max_width=16) == 0).all(dim=2).float().mean()
    assert 0.09 < one < 0.16  # a mean width of 8 of 64 frames: 12.5 %
    assert two > one * 1.6


def test_masking_is_reproducible_and_zero_settings_change_nothing() -> None:
    patches = torch.rand(16, 1, 40, 64)
    assert torch.equal(masked(patches, 3, freq_masks=2, time_masks=2), masked(patches, 3, freq_masks=2, time_masks=2))
    assert not torch.equal(masked(patches, 3, freq_masks=2), masked(patches, 4, freq_masks=2))
    assert torch.equal(masked(patches, freq_masks=0, time_masks=0), patches)
    assert torch.equal(masked(patches, freq_masks=3, freq_max_width=0), patches)
    # a width beyond the patch is clipped to it
    assert (masked(patches, freq_masks=1, freq_max_width=500) == 0).all(dim=3).sum(1).max() <= 40


def test_settings_are_checked_and_off_by_default() -> None:
    assert not load_experiment("mfcc-stap-mixup").masking.enabled  # the paper's presets do not mask
    assert load_experiment("sample", {"masking": {"freq_masks": 2}}).masking.enabled
    with pytest.raises(ValueError, match="masking.time_max_width must be >= 0, got -1"):
        MaskingConfig(time_max_width=-1)
    with pytest.raises(ValueError, match=r"expected patches \(B, C, rows, frames\)"):
        masked(torch.zeros(3, 40, 64), freq_masks=1)
