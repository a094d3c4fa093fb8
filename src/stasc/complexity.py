"""Model complexity as DCASE counts it (torchinfo, as the DCASE baselines do): parameters, their
memory, multiply-accumulates per patch and per second of audio, and the activation memory of one patch.

MACs per patch are torchinfo's total (convolutions, the classifier, BatchNorm's scale and shift);
its convolution and classifier-weight part equals the analytic :func:`stasc.models.count_macs`
(3,525,595,136 for Table 1's network; a test holds the two together). The pooling head's own
arithmetic (STAP: ≈ 3·S·T) is not a module torchinfo sees and is left out, as in the paper. MACs
per second of audio are those of the patches of a 10-s window of the model's views (stereo: left,
right, mid), divided by 10: what the model spends on each second it classifies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from stasc.config import ExperimentConfig
from stasc.features.patches import patch_starts
from stasc.features.registry import build_transform
from stasc.models import build_model

WINDOW_SECONDS = 10.0


@dataclass(frozen=True)
class Complexity:
    parameters: int
    nonzero_parameters: int
    bytes_fp32: int
    bytes_fp16: int
    bytes_int8: int
    macs_per_patch: int
    patches_per_window: int  # of a 10-s window, every view (stereo input)
    macs_per_second: float  # of prediction: every patch at every test-time warp
    test_time_warps: int  # network passes per patch in prediction
    peak_activation_bytes: int  # the largest input + output of one layer, one patch, float32
    total_activation_bytes: int  # every layer's output, one patch, float32 (torchinfo's forward pass size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """For people: one line per figure."""
        return [
            f"parameters: {self.parameters:,} ({self.nonzero_parameters:,} non-zero)",
            f"parameter memory: {self.bytes_fp32 / 1e6:.1f} MB fp32, {self.bytes_fp16 / 1e6:.1f} MB fp16, "
            f"{self.bytes_int8 / 1e6:.1f} MB int8",
            f"MACs per patch: {self.macs_per_patch:,}",
            f"MACs per second of audio: {self.macs_per_second / 1e9:.2f} G ({self.patches_per_window} patches per "
            f"{WINDOW_SECONDS:g}-s stereo window" + (f", each at {self.test_time_warps} test-time warps)"
                                                     if self.test_time_warps > 1 else ")"),
            f"activation memory, one patch: {self.peak_activation_bytes / 1e6:.2f} MB peak (a layer's input and "
            "output), "
            f"{self.total_activation_bytes / 1e6:.1f} MB all layers",
        ]


def patches_per_window(config: ExperimentConfig, *, channels: int = 2, seconds: float = WINDOW_SECONDS) -> int:
    """Patches the network sees for a window of ``seconds`` of a recording with ``channels`` channels."""
    spec = config.input.features[0]
    frames = spec.frames(round(seconds * spec.sample_rate))
    views = 3 if channels >= 2 else config.input.mono_views
    per_view = len(patch_starts(frames, width=config.input.patch_width, shift=config.input.patch_shift))
    return views * build_transform(spec).views_per_view * per_view


def model_complexity(config: ExperimentConfig, weights: dict[str, torch.Tensor] | None = None) -> Complexity:
    """The complexity of ``config``'s network (``weights`` given: its non-zero parameters are counted)."""
    import torchinfo

    model = build_model(config.model).eval()
    if weights is not None:
        model.load_state_dict(weights)
    summary = torchinfo.summary(model, input_size=(1, config.model.in_channels, *config.model.input_size),
                                verbose=0, device="cpu")
    parameters = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    leaves = [layer for layer in summary.summary_list if layer.is_leaf_layer]
    peak = max(_numel(layer.input_size) * 4 + layer.output_bytes for layer in leaves)
    per_window = patches_per_window(config)
    warps = len(config.model.test_time_warps)
    return Complexity(
        parameters=parameters, nonzero_parameters=nonzero, bytes_fp32=4 * parameters, bytes_fp16=2 * parameters,
        bytes_int8=parameters, macs_per_patch=int(summary.total_mult_adds), patches_per_window=per_window,
        macs_per_second=summary.total_mult_adds * per_window * warps / WINDOW_SECONDS, test_time_warps=warps,
        peak_activation_bytes=int(peak),
        total_activation_bytes=int(summary.total_output_bytes),
    )


def analytic_part(config: ExperimentConfig) -> int:
    """torchinfo's MACs of the convolutions and the classifier's weights (without its bias): what
    :func:`stasc.models.count_macs` counts analytically."""
    import torchinfo

    summary = torchinfo.summary(build_model(config.model).eval(),
                                input_size=(1, config.model.in_channels, *config.model.input_size), verbose=0,
                                device="cpu")
    leaves = [layer for layer in summary.summary_list if layer.is_leaf_layer]
    convs = sum(layer.macs for layer in leaves if layer.class_name == "Conv2d")
    classifier = sum(layer.macs - config.model.n_classes for layer in leaves if layer.class_name == "Linear")
    return int(convs + classifier)


def _numel(shape: Any) -> int:
    total = 1
    for size in shape or []:
        total *= int(size)
    return total
