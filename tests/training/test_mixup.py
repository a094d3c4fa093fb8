import numpy as np
import pytest
import torch

from stasc.training.mixup import mixup


def test_mixup_mixes_inputs_and_targets_with_one_lambda() -> None:
    x = torch.arange(8, dtype=torch.float32).reshape(4, 2)
    y = torch.eye(4)
    mixed_x, mixed_y, lam = mixup(x, y, alpha=1.0, rng=np.random.default_rng(0))
    assert 0.05 < lam < 0.95  # this seed draws a λ that mixes visibly, so the checks below mean something
    partner = np.random.default_rng(0)
    partner.beta(1.0, 1.0)
    order = partner.permutation(4)  # the same stream: λ first, then the partners
    # each row is λ·itself + (1−λ)·its partner, and its target mixes the two labels alike
    for row in range(4):
        torch.testing.assert_close(mixed_x[row], lam * x[row] + (1 - lam) * x[order[row]])
        torch.testing.assert_close(mixed_y[row], lam * y[row] + (1 - lam) * y[order[row]])
    assert (order != np.arange(4)).any()


def test_mixup_is_reproducible_from_the_seed() -> None:
    x, y = torch.randn(16, 3), torch.eye(16)
    a = mixup(x, y, alpha=0.4, rng=np.random.default_rng(7))
    b = mixup(x, y, alpha=0.4, rng=np.random.default_rng(7))
    torch.testing.assert_close(a[0], b[0])
    assert a[2] == b[2]


def test_lambda_follows_beta_alpha() -> None:
    rng = np.random.default_rng(0)
    lams = [mixup(torch.zeros(2, 1), torch.eye(2), alpha=0.2, rng=rng)[2] for _ in range(2000)]
    # Beta(0.2, 0.2) is U-shaped with mean 0.5: most mass near 0 and 1
    assert abs(np.mean(lams) - 0.5) < 0.05
    assert np.mean((np.array(lams) < 0.1) | (np.array(lams) > 0.9)) > 0.5


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="alpha must be positive"):
        mixup(torch.zeros(2, 1), torch.eye(2), alpha=0.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="2 inputs but 3 targets"):
        mixup(torch.zeros(2, 1), torch.eye(3), alpha=0.2, rng=np.random.default_rng(0))
