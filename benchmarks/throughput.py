"""Training and inference throughput of the DCNN, beside the machine's own matmul peak.

    python benchmarks/throughput.py [--widths 1.0,0.125] [--seconds 20] [--out benchmarks/results/throughput.json]

For each width: training patches/s (forward + backward + Adam step, batch --train-batch) and
inference patches/s (--infer-batch), the achieved GFLOP/s (2 FLOP per MAC; a training step
counts 3× the forward cost), and the same run's matrix-multiply peak (fp32 on CPU, bf16 on CUDA),
plus how long one TAU 2019 epoch takes (14,400 clips × 33 patches for the MFCC-2048 presets).
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from stasc.models import ModelConfig, build_model, count_macs

TAU_PATCHES_PER_EPOCH = 14400 * 33


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype, seconds: float) -> float:
    n = 2048 if device.type == "cpu" else 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    _sync(device)
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rate(step, batch: int, seconds: float, device: torch.device) -> float:  # type: ignore[no-untyped-def]
    step()  # warm-up (allocations, cudnn autotune)
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        step()
        count += 1
    _sync(device)
    return batch * count / (time.perf_counter() - start)


def measure(width: float, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    config = ModelConfig(width_multiplier=width)
    model = build_model(config).to(device)
    macs = count_macs(config)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    memory = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    model = model.to(memory_format=memory)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
    x = torch.randn(args.train_batch, 1, 128, 128, device=device).to(memory_format=memory)
    y = torch.randint(0, 10, (args.train_batch,), device=device)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    model.train()
    train_rate = rate(train_step, args.train_batch, args.seconds, device)
    xi = torch.randn(args.infer_batch, 1, 128, 128, device=device).to(memory_format=memory)
    model.eval()

    def infer_step() -> None:
        with torch.inference_mode(), autocast:
            model(xi)

    infer_rate = rate(infer_step, args.infer_batch, args.seconds, device)
    return {
        "width": width,
        "gmac_per_patch": macs / 1e9,
        "train_patches_per_s": train_rate,
        "infer_patches_per_s": infer_rate,
        "train_gflops": train_rate * 3 * 2 * macs / 1e9,
        "infer_gflops": infer_rate * 2 * macs / 1e9,
        "tau_epoch_hours": TAU_PATCHES_PER_EPOCH / train_rate / 3600,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="1.0,0.125")
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--infer-batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="time per measurement")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    peak_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    peak = matmul_peak_gflops(device, peak_dtype, min(args.seconds, 10.0))
    rows = [measure(float(w), args, device) for w in args.widths.split(",")]
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads")
    print(f"device: {name}; matmul peak {peak:.0f} GFLOP/s ({'bf16' if device.type == 'cuda' else 'fp32'})")
    header = (f"{'width':>6} {'GMAC/patch':>10} {'train p/s':>10} {'train GFLOP/s':>14} {'infer p/s':>10} "
              f"{'infer GFLOP/s':>14} {'% peak (train)':>15} {'TAU epoch':>10}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['width']:>6.3f} {row['gmac_per_patch']:>10.3f} {row['train_patches_per_s']:>10.1f} "
            f"{row['train_gflops']:>14.1f} {row['infer_patches_per_s']:>10.1f} {row['infer_gflops']:>14.1f} "
            f"{100 * row['train_gflops'] / peak:>14.0f}% {row['tau_epoch_hours']:>9.2f}h"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": name, "matmul_peak_gflops": peak, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
