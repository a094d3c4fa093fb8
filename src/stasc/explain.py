"""Attention maps: which moments and which frequency bands an attention-pooling model weighted.

For a recording's first window, the model's front end runs once and every patch of one view goes
through the network with its attention weights (the pooling head must give them, as STAP does):
``a_tem`` (one weight per network time step) is spread back onto the spectrogram's
frames and averaged where patches overlap; ``a_spa`` (one weight per row of O, S = F·C) is summed
over the channels of each of the F frequency bands and averaged over the patches. Both are
distributions (they sum to 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stasc.atomic import replacing
from stasc.audio import probe, stream_windows, view_names
from stasc.features.patches import patch_starts, weighted_mean
from stasc.inference import Predictor
from stasc.models.probabilities import class_probabilities


@dataclass
class Explanation:
    path: Path
    classes: tuple[str, ...]
    probabilities: np.ndarray  # (classes,) of the window
    view: str
    spectrogram: np.ndarray  # (rows, frames) of the first feature, the view shown, normalised
    frame_seconds: float
    temporal: np.ndarray  # (frames,) sums to 1
    bands: np.ndarray  # (F,) sums to 1; band f covers rows [f·rows/F, (f+1)·rows/F)

    @property
    def label(self) -> str:
        return self.classes[int(self.probabilities.argmax())]


def require_attention(predictor: Predictor, model: str = "this model") -> None:
    """Refuse a model whose pooling head gives no attention maps (the temporal mean), before any audio is read."""
    if not predictor.model.pooling.has_attention:
        raise ValueError(f"{model}: its pooling head ({predictor.config.model.pooling.kind}) has no attention to "
                         "show; use a model with attention pooling (train with --set model.pooling=stap)")


def explain_file(predictor: Predictor, path: str | Path, *, window_seconds: float = 10.0) -> Explanation:
    """Attention of ``predictor`` on the first ``window_seconds`` of ``path`` (the mid view of a stereo file)."""
    config = predictor.config
    require_attention(predictor)
    path = Path(path)
    rate = predictor.sample_rate
    window = max(1, round(window_seconds * rate))
    first = next(stream_windows(path, rate, window=window, hop=window, mono_views=config.input.mono_views))
    views = first[1].to(predictor.device)[None]  # 1, V, samples
    names = view_names(probe(path).channels, mono_views=config.input.mono_views)
    front = predictor.front_end
    with torch.inference_mode():
        spectrograms = front.spectrograms(views)
        normalized = front.normalized(spectrograms)  # per feature: 1, V', R, T
        patches = front.patches(normalized)[0]  # V'·P, C, H, W
        out = predictor.model(patches, return_attention=True)  # the maps of the patches as they are (no warp)

        def network(x: torch.Tensor) -> torch.Tensor:
            # the unwarped patches (warp 1 hands them over as they are) were just run: reuse their logits
            return out.logits if x is patches else predictor.model(x)

        # as window_probabilities: over the model's test-time warps
        mean_probabilities = weighted_mean(class_probabilities(network, patches, config.model.test_time_warps),
                                           predictor.patch_weights(spectrograms))
    assert out.a_tem is not None and out.a_spa is not None  # the head said it has attention
    probabilities = mean_probabilities.double().cpu().numpy()
    shown = normalized[0][0]  # V', R, T of the first feature
    per_view = patches.shape[0] // shown.shape[0]
    # the view shown: mid for stereo (the last channel view); HPSS views come in (harmonic, percussive) pairs
    view = shown.shape[0] - 1 if len(names) == 3 else 0
    rows = slice(view * per_view, (view + 1) * per_view)
    a_tem = out.a_tem[rows].float().cpu().numpy()  # P, T
    a_spa = out.a_spa[rows].float().cpu().numpy()  # P, S
    n_frames = shown.shape[-1]
    width = config.input.patch_width
    weights = np.zeros(max(n_frames, width))
    coverage = np.zeros_like(weights)
    for patch, start in enumerate(patch_starts(n_frames, width=width, shift=config.input.patch_shift)):
        spread = np.repeat(a_tem[patch], int(np.ceil(width / a_tem.shape[1])))[:width]
        weights[start : start + width] += spread / spread.sum()
        coverage[start : start + width] += 1
    temporal = (weights / np.maximum(coverage, 1))[:n_frames]
    freq, _ = config.model.output_grid()
    bands = a_spa.reshape(a_spa.shape[0], freq, -1).sum(-1).mean(0)  # s = f·C + c (see DCNN.forward)
    spec = config.input.features[0]
    label = names[view] if len(names) == shown.shape[0] else f"view {view}"
    return Explanation(
        path, predictor.classes, probabilities, label, shown[view].float().cpu().numpy(),
        spec.hop_length / spec.sample_rate, temporal / temporal.sum(), bands / bands.sum(),
    )


def plot_explanation(explanation: Explanation, out: str | Path) -> Path:
    """The spectrogram with the temporal attention below it and the band attention beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    spec = explanation.spectrogram
    seconds = spec.shape[1] * explanation.frame_seconds
    fig = plt.figure(figsize=(11, 6))
    grid = fig.add_gridspec(2, 2, width_ratios=[6, 1], height_ratios=[3, 1], wspace=0.05, hspace=0.08)
    ax_spec = fig.add_subplot(grid[0, 0])
    ax_time = fig.add_subplot(grid[1, 0], sharex=ax_spec)
    ax_band = fig.add_subplot(grid[0, 1], sharey=ax_spec)
    ax_spec.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=-3, vmax=3,
                   extent=(0, seconds, 0, spec.shape[0]))
    ax_spec.set_ylabel("coefficient / bin (normalised)")
    ax_spec.tick_params(labelbottom=False)
    top = explanation.probabilities.argsort()[::-1][:3]
    ranked = ", ".join(f"{explanation.classes[i]} {explanation.probabilities[i]:.2f}" for i in top)
    ax_spec.set_title(f"{explanation.path.name} ({explanation.view}): predicted {explanation.label} — {ranked}")
    times = (np.arange(len(explanation.temporal)) + 0.5) * explanation.frame_seconds
    ax_time.fill_between(times, explanation.temporal, color="tab:orange", alpha=0.7)
    ax_time.set_xlabel("time (s)")
    ax_time.set_ylabel("temporal\nattention")
    ax_time.set_xlim(0, seconds)
    edges = np.linspace(0, spec.shape[0], len(explanation.bands) + 1)
    ax_band.barh(edges[:-1], explanation.bands, height=np.diff(edges), align="edge", color="tab:green", alpha=0.7)
    ax_band.set_xlabel("band\nattention")
    ax_band.tick_params(labelleft=False)
    try:
        with replacing(out, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out
