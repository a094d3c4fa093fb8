"""Feature code runs in full float32: TF32 is off inside ``exact_float32`` and restored after."""

import pytest
import torch

from stasc.features import parse_feature
from stasc.features.kinds.cqt import CQT
from stasc.features.precision import exact_float32


def settings() -> tuple[str, bool, bool]:
    """What decides TF32: the float32 matmul precision, cuBLAS's and cuDNN's TF32 flags."""
    return (torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32)


@pytest.fixture()
def tf32_allowed():  # type: ignore[no-untyped-def]
    """A process that allows TF32 for matmuls and convolutions (what a training run on an Ampere GPU may set)."""
    precision, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("medium")  # also turns cuBLAS's TF32 flag on
    torch.backends.cudnn.allow_tf32 = True
    yield
    torch.set_float32_matmul_precision(precision)
    torch.backends.cudnn.allow_tf32 = cudnn


def test_tf32_is_off_inside_and_restored_after(tf32_allowed) -> None:  # type: ignore[no-untyped-def]
    assert settings() == ("medium", True, True)
    with exact_float32():
        assert settings() == ("highest", False, False)
        with exact_float32():  # nested, as a CQT inside a feature transform
            assert settings() == ("highest", False, False)
        assert settings() == ("highest", False, False)
    assert settings() == ("medium", True, True)


def test_settings_are_restored_after_an_exception(tf32_allowed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="inside"), exact_float32():
        assert settings() == ("highest", False, False)
        raise RuntimeError("inside")
    assert settings() == ("medium", True, True)


def test_other_cudnn_flags_are_kept(tf32_allowed) -> None:  # type: ignore[no-untyped-def]
    cudnn = torch.backends.cudnn
    benchmark = cudnn.benchmark
    cudnn.benchmark = not benchmark
    try:
        with exact_float32():
            assert cudnn.benchmark == (not benchmark)  # only TF32 changes inside
        assert cudnn.benchmark == (not benchmark)
    finally:
        cudnn.benchmark = benchmark


@pytest.mark.skipif(not hasattr(torch.backends.cuda.matmul, "fp32_precision"),
                    reason="torch < 2.9: no fp32_precision API")
def test_features_still_compute_in_a_process_that_uses_torchs_new_tf32_api() -> None:
    torch.backends.cuda.matmul.fp32_precision = "tf32"  # what torch >= 2.9 recommends to turn TF32 on
    try:
        with exact_float32():
            assert torch.backends.cuda.matmul.fp32_precision == "ieee"
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
        # every CQT runs its convolutions inside exact_float32, on the CPU too
        assert CQT(parse_feature("cqt"))(torch.randn(1, 44100)).shape == (1, 110, 87)
    finally:
        torch.backends.cuda.matmul.fp32_precision = "none"  # the default again: no mix of APIs left behind
