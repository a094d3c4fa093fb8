"""Training and inference throughput of the DCNN, beside the machine's own matmul peak.

    python benchmarks/throughput.py [--widths 1.0,0.125] [--presets envsound,sample]
                                    [--precisions 32-true,bf16-mixed] [--seconds 20]
                                    [--allocator default|mmap-1MiB] [--out benchmarks/results/throughput.json]

For each model (the paper's network at each of --widths on a 128 x 128 patch, and each of --presets'
own network on its own patch) and each precision: training patches/s (forward + backward + Adam
step, batch --train-batch, channels-last as training runs it) and inference patches/s
(--infer-batch), the achieved GFLOP/s (2 FLOP per MAC; a training step counts 3× the forward cost),
the same run's float32 matrix-multiply peak, and how long one TAU 2019 epoch takes (14,400 clips ×
33 patches, for the paper-width rows). ``bf16-mixed`` is the bfloat16 autocast ``train.precision:
auto`` picks on CUDA and on CPUs with AMX / AVX512-BF16. ``--allocator mmap-1MiB`` measures with the glibc
setting ``stasc predict`` makes (:mod:`stasc.allocator`: every buffer of 1 MiB or more mapped and unmapped on its
own), to show why training does not make it. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from stasc.allocator import return_large_buffers_to_the_system
from stasc.atomic import replacing
from stasc.config import load_experiment
from stasc.models import ModelConfig, build_model, count_macs
from stasc.training.precision import cpu_has_native_bf16
from stasc.training.speed import steps_per_second, synchronize, training_patches_per_second

TAU_PATCHES_PER_EPOCH = 14400 * 33


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype, seconds: float) -> float:
    n = 2048 if device.type == "cpu" else 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    synchronize(device)
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def measure(name: str, config: ModelConfig, precision: str, args: argparse.Namespace,
            device: torch.device) -> dict[str, Any]:
    macs = count_macs(config)
    train_rate = training_patches_per_second(config, precision, batch=args.train_batch, seconds=args.seconds,
                                             device=device)
    model = build_model(config).to(device).to(memory_format=torch.channels_last)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    shape = (config.in_channels, *config.input_size)
    xi = torch.randn(args.infer_batch, *shape, device=device).to(memory_format=torch.channels_last)
    model.eval()

    def infer_step() -> None:
        with torch.inference_mode(), autocast:
            model(xi)

    infer_rate = args.infer_batch * steps_per_second(infer_step, seconds=args.seconds, device=device)
    return {
        "model": name,
        "precision": precision,
        "gmac_per_patch": macs / 1e9,
        "train_patches_per_s": train_rate,
        "infer_patches_per_s": infer_rate,
        "train_gflops": train_rate * 3 * 2 * macs / 1e9,
        "infer_gflops": infer_rate * 2 * macs / 1e9,
        # a TAU epoch is 33 patches of 128 x 128 a clip: only the paper's network has that patch
        "tau_epoch_hours": (TAU_PATCHES_PER_EPOCH / train_rate / 3600 if tuple(config.input_size) == (128, 128)
                            else None),
    }


def models(args: argparse.Namespace) -> list[tuple[str, ModelConfig]]:
    """(name, network): the paper's network at each width, then each preset's own."""
    out = [(f"paper DCNN, width {float(w):g}", ModelConfig(width_multiplier=float(w)))
           for w in args.widths.split(",") if w]
    return out + [(preset, load_experiment(preset).model) for preset in args.presets.split(",") if preset]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="1.0,0.125", help="widths of the paper's network (empty: none)")
    parser.add_argument("--presets", default="", help="comma-separated presets whose own networks to measure")
    parser.add_argument("--precisions", default="32-true,bf16-mixed",
                        help="comma-separated train.precision values to measure each model in")
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--infer-batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="time per measurement")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--allocator", choices=("default", "mmap-1MiB"), default="default",
                        help="glibc's default heap, or the 1 MiB mmap threshold of `stasc predict` (process-wide)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = parser.parse_args()
    if args.allocator == "mmap-1MiB" and not return_large_buffers_to_the_system():
        parser.error("--allocator mmap-1MiB needs glibc")
    device = torch.device(args.device)
    peak = matmul_peak_gflops(device, torch.float32, min(args.seconds, 10.0))
    precisions = [p for p in args.precisions.split(",") if p]
    rows = [measure(name, config, precision, args, device) for name, config in models(args) for precision in precisions]
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads, "
                 f"native bf16: {'yes' if cpu_has_native_bf16() else 'no'}")
    print(f"device: {name}; allocator: {args.allocator}; fp32 matmul peak {peak:.0f} GFLOP/s")
    width = max(len(str(row["model"])) for row in rows)
    header = (f"{'model':<{width}} {'precision':>10} {'GMAC/patch':>10} {'train p/s':>10} {'train GFLOP/s':>14} "
              f"{'infer p/s':>10} {'infer GFLOP/s':>14} {'% fp32 peak':>12} {'TAU epoch':>10}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['model']:<{width}} {row['precision']:>10} {row['gmac_per_patch']:>10.3f} "
            f"{row['train_patches_per_s']:>10.1f} {row['train_gflops']:>14.1f} {row['infer_patches_per_s']:>10.1f} "
            f"{row['infer_gflops']:>14.1f} {100 * float(row['train_gflops']) / peak:>11.0f}% "
            + (f"{row['tau_epoch_hours']:>9.2f}h" if row["tau_epoch_hours"] is not None else f"{'–':>10}")
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(args.out) as tmp:
        tmp.write_text(json.dumps({"device": name, "allocator": args.allocator, "matmul_peak_gflops_fp32": peak,
                                    "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
