"""Model complexity: torchinfo's count against the analytic one, and the figures DCASE asks for."""

import pytest
import torch

from stasc.cli import main
from stasc.complexity import analytic_part, model_complexity, patches_per_window
from stasc.config import load_experiment
from stasc.models import count_macs

PAPER_PRESETS = ("mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup")


@pytest.mark.parametrize("preset", PAPER_PRESETS)
def test_torchinfo_counts_what_the_analytic_count_does_for_the_paper_presets(preset: str) -> None:
    config = load_experiment(preset)
    assert analytic_part(config) == count_macs(config.model)
    if config.model.in_channels == 1:
        assert count_macs(config.model) == 3_525_595_136  # Table 1's network: ≈ 3.5 GMAC per patch
    complexity = model_complexity(config)
    # torchinfo's total adds BatchNorm's scale and shift (2 per channel) and the classifier's bias
    norm = 2 * sum(s.out_channels for s in config.model.conv_shapes())
    assert complexity.macs_per_patch == count_macs(config.model) + norm + config.model.n_classes


def test_the_figures_follow_from_the_network_and_the_input() -> None:
    config = load_experiment("mfcc-stap-mixup", {"model": {"width_multiplier": 0.25}})
    complexity = model_complexity(config)
    model_parameters = sum(p.numel() for p in __import__("stasc.models", fromlist=["x"]).build_model(
        config.model).parameters())
    assert complexity.parameters == model_parameters
    assert (complexity.bytes_fp32, complexity.bytes_fp16, complexity.bytes_int8) == (
        4 * model_parameters, 2 * model_parameters, model_parameters)
    assert patches_per_window(config) == 33  # the paper's 11 patches of each of the 3 views of a 10-s clip
    assert complexity.macs_per_second == pytest.approx(complexity.macs_per_patch * 33 / 10)
    # test-time warps: every predicted patch goes through the network once per warp
    plain = model_complexity(load_experiment("envsound"))
    warped = model_complexity(load_experiment("envsound", {"model": {"test_time_warps": [0.9, 1.0, 1.1]}}))
    assert warped.test_time_warps == 3 and warped.macs_per_second == pytest.approx(3 * plain.macs_per_second)
    assert warped.macs_per_patch == plain.macs_per_patch
    assert "each at 3 test-time warps" in " ".join(warped.lines())
    # the first conv's output at 1/4 width: 16 channels of 64 × 64 floats, with its 128 × 128 input
    assert complexity.peak_activation_bytes >= 4 * (16 * 64 * 64 + 128 * 128)
    zeroed = {k: torch.zeros_like(v) for k, v in
              __import__("stasc.models", fromlist=["x"]).build_model(config.model).state_dict().items()}
    assert model_complexity(config, zeroed).nonzero_parameters == 0
    assert patches_per_window(load_experiment("hpss-mfcc-stap-mixup")) == 66  # harmonic and percussive views


def test_stasc_info_describes_a_preset_and_refuses_nothing_to_describe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--preset", "mfcc-stap-mixup"]) == 0
    out = capsys.readouterr().out
    assert "MACs per patch: 3,525,600,522" in out and "parameter memory" in out
    assert '"patch_weights": "equal"' in out  # how a clip's patches combine, as every other scoring setting
    assert main(["info", "--preset", "envsound"]) == 0 and '"patch_weights": "sound"' in capsys.readouterr().out
    assert main(["info"]) == 2
