"""The complexity of every preset's network, as DCASE counts it (torchinfo; `stasc info --preset NAME` per preset).

    python benchmarks/complexity.py [--out benchmarks/results/complexity.json]

Prints a Markdown table (parameters, parameter memory at fp32 / int8, MACs per patch and per second of audio,
activation memory of one patch) and writes the same figures as JSON. These are counts, not timings: they do not
depend on the machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stasc.complexity import model_complexity
from stasc.config import load_experiment, preset_names


def table() -> tuple[list[str], dict[str, dict[str, object]]]:
    """The Markdown table of every preset (the README's, line for line) and the same figures as a dict."""
    rows: dict[str, dict[str, object]] = {}
    lines = ["| preset | input | parameters | fp32 / int8 | MACs per patch | MACs per second of audio | "
             "activations, one patch |", "|---|---|---|---|---|---|---|"]
    for name in preset_names():
        config = load_experiment(name)
        figures = model_complexity(config)
        rows[name] = {**figures.to_dict(), "input_size": list(config.model.input_size),
                      "in_channels": config.model.in_channels}
        height, width = config.model.input_size
        lines.append(f"| `{name}` | {config.model.in_channels}×{height}×{width} | {figures.parameters / 1e6:.2f} M | "
                     f"{figures.bytes_fp32 / 1e6:.1f} / {figures.bytes_int8 / 1e6:.1f} MB | "
                     f"{figures.macs_per_patch / 1e9:.3f} G | {figures.macs_per_second / 1e9:.2f} G | "
                     f"{figures.total_activation_bytes / 1e6:.1f} MB |")
    return lines, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/complexity.json"))
    args = parser.parse_args()
    lines, rows = table()
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
