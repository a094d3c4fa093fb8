"""How fast this machine trains a network, and how long a training run will take on it.

``stasc demo`` projects its run from these before it starts, and ``benchmarks/throughput.py`` reports the same
training rate: one definition of a training step's speed (forward, backward and Adam step on a batch in the
precision and memory layout that training uses)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from stasc.audio import probe, view_names
from stasc.config import ExperimentConfig
from stasc.features.patches import patch_starts
from stasc.models import ModelConfig, build_model
from stasc.training.precision import training_precision


def synchronize(device: torch.device) -> None:
    """Wait for ``device``'s queued work (CUDA runs asynchronously), so that a timer sees it done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def steps_per_second(step: Callable[[], None], *, seconds: float, device: torch.device, min_steps: int = 2) -> float:
    """Steps of ``step`` a second, after one warm-up step (allocations, oneDNN/cuDNN kernel choice), timed for at least
    ``seconds`` and ``min_steps`` steps."""
    step()
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < min_steps:
        step()
        count += 1
    synchronize(device)
    return count / (time.perf_counter() - start)


def training_patches_per_second(model_config: ModelConfig, precision: str, *, batch: int, seconds: float,
                                device: torch.device | None = None, channels_last: bool = True) -> float:
    """Training patches a second of ``model_config``'s network on random patches: forward, cross entropy, backward
    and an Adam step per batch, under bf16 autocast when ``precision`` is ``bf16-mixed``, channels-last as training
    runs it. It measures the network alone: no data loading or augmentation."""
    device = device or torch.device("cpu")
    model = build_model(model_config).to(device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)  # type: ignore[call-overload]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
    x = torch.randn(batch, model_config.in_channels, *model_config.input_size, device=device)
    x = x.contiguous(memory_format=layout)
    y = torch.randint(0, model_config.n_classes, (batch,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        optimizer.step()

    model.train()
    return batch * steps_per_second(step, seconds=seconds, device=device)


def clip_patches(config: ExperimentConfig, paths: Sequence[Path]) -> int:
    """How many training patches these clips give under ``config``, every view of each (from the files' headers;
    nothing is decoded)."""
    feature = config.input.features[0]
    total = 0
    for path in paths:
        info = probe(path)
        samples = int(np.ceil(info.frames * feature.sample_rate / info.samplerate))
        frames = feature.frames(samples)
        views = len(view_names(info.channels, mono_views=config.input.mono_views))
        total += views * len(patch_starts(frames, width=config.input.patch_width, shift=config.input.patch_shift))
    return total


def projected_training_seconds(config: ExperimentConfig, n_patches: int, *, probe_seconds: float = 3.0) -> float:
    """Seconds the network's training steps take for ``config.train.max_epochs`` epochs of ``n_patches`` patches on
    this machine's CPU (as ``precision: auto`` resolves here), from a short measured probe."""
    precision = training_precision(config.train.replaced(accelerator="cpu"))
    rate = training_patches_per_second(config.model, precision, batch=config.train.batch_size,
                                       seconds=probe_seconds, channels_last=config.train.channels_last)
    return config.train.max_epochs * n_patches / rate
