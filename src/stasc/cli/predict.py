"""``stasc predict``: scene labels for files, folders and long recordings (a timeline of windows)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stasc.audio import AudioError
from stasc.data.datasets import AUDIO_SUFFIXES
from stasc.inference import FilePrediction, load_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the scene of audio files (long recordings give a timeline)",
        description="Predict the scene of audio files and folders (searched recursively for .wav, .flac, .ogg), "
        "of any sample rate, channel count and length. A recording is cut into windows (--window seconds every "
        "--hop seconds; the last window is aligned to the end so every window is full length) and gives one row "
        "per window plus a summary row for the whole file (blank start and end) whose probabilities are the mean "
        "over its windows. CSV columns: file, start, end, label, one probability column per class, error. "
        "A file that cannot be read gets its error in the output and the others are still predicted.",
        epilog="examples:\n"
        "  stasc predict --model runs/mfcc-stap-mixup recordings/ --out scenes.csv\n"
        "  stasc predict --model runs/mfcc/fold-0/checkpoints/best.ckpt field.wav --window 10 --hop 5 --out field.json\n"
        "  stasc predict --model runs/ensemble eval/audio --format dcase --out submission.csv\n"
        "  stasc predict --model model.onnx clip.wav\n"
        "--model takes a checkpoint, a run folder (its split models averaged), an ensemble folder (majority vote "
        "of its runs) or an exported .onnx file.\n"
        "exit status: 0 all files predicted; 1 some files failed (their errors are in the output); 2 bad usage",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, help="checkpoint, run folder, ensemble folder or .onnx")
    parser.add_argument("audio", type=Path, nargs="+", help="audio files or folders")
    parser.add_argument("--out", type=Path, help="output file (.csv or .json; default: CSV on standard output)")
    parser.add_argument("--format", choices=("csv", "json", "dcase"), help="default: from --out's suffix, else csv")
    parser.add_argument("--window", type=float,
                        help="window length in seconds (default: 10, or the window an .onnx export was made for)")
    parser.add_argument("--hop", type=float, help="window hop in seconds (default: the window length)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=64, help="patches per network batch (default: 64)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def audio_files(paths: list[Path]) -> list[Path]:
    """Files as given, folders searched recursively for audio; a missing path stays (it fails later)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def _rows(result: FilePrediction) -> list[dict[str, Any]]:
    rows = []
    for window in result.windows:
        rows.append({"file": str(result.path), "start": round(window.start, 3), "end": round(window.end, 3),
                     "label": result.classes[int(window.probabilities.argmax())],
                     "probabilities": window.probabilities})
    rows.append({"file": str(result.path), "start": None, "end": None, "label": result.label,
                 "probabilities": result.probabilities})
    return rows


def write_csv(handle: Any, classes: tuple[str, ...], results: list[FilePrediction], errors: dict[str, str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(["file", "start", "end", "label", *classes, "error"])
    for result in results:
        for row in _rows(result):
            start = "" if row["start"] is None else f"{row['start']:.3f}"
            end = "" if row["end"] is None else f"{row['end']:.3f}"
            writer.writerow([row["file"], start, end, row["label"], *(f"{p:.6f}" for p in row["probabilities"]), ""])
    for name, error in errors.items():
        writer.writerow([name, "", "", "", *([""] * len(classes)), error])


def write_json(handle: Any, classes: tuple[str, ...], results: list[FilePrediction], errors: dict[str, str]) -> None:
    files = []
    for result in results:
        rows = _rows(result)
        files.append({
            "file": str(result.path),
            "label": result.label,
            "duration": round(result.duration, 3),
            "probabilities": dict(zip(classes, map(float, result.probabilities))),
            "windows": [{"start": r["start"], "end": r["end"], "label": r["label"],
                         "probabilities": dict(zip(classes, map(float, r["probabilities"])))} for r in rows[:-1]],
        })
    files += [{"file": name, "error": error} for name, error in errors.items()]
    json.dump({"classes": list(classes), "files": files}, handle, indent=2)
    handle.write("\n")


def write_dcase(handle: Any, results: list[FilePrediction], errors: dict[str, str]) -> None:
    # the DCASE challenge submission layout: tab-separated file name and scene label, one line per file
    for result in results:
        handle.write(f"{result.path.name}\t{result.label}\n")


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=args.device, batch_size=args.batch_size)
    window = args.window if args.window is not None else getattr(model, "window_seconds", 10.0)  # exports: fixed
    hop = args.hop if args.hop is not None else window
    if window <= 0 or hop <= 0:
        raise ValueError(f"--window and --hop must be positive, got {window} and {hop}")
    files = audio_files(args.audio)
    if not files:
        raise ValueError(f"no audio files found in {', '.join(map(str, args.audio))}")
    results: list[FilePrediction] = []
    errors: dict[str, str] = {}
    for path in tqdm(files, unit="file", desc="predict", disable=args.no_progress):
        try:
            results.append(model.predict_file(path, window_seconds=window, hop_seconds=hop))
        except AudioError as err:
            errors[str(path)] = err.problem
            print(f"FAILED {path}: {err.problem}", file=sys.stderr)
    kind = args.format or (args.out.suffix.lstrip(".") if args.out and args.out.suffix in (".json", ".csv") else "csv")
    handle = args.out.open("w", newline="") if args.out else sys.stdout
    try:
        if kind == "json":
            write_json(handle, model.classes, results, errors)
        elif kind == "dcase":
            write_dcase(handle, results, errors)
        else:
            write_csv(handle, model.classes, results, errors)
    finally:
        if args.out:
            handle.close()
    if args.out:
        print(f"{len(results)} files predicted, {len(errors)} failed → {args.out}", file=sys.stderr)
    return 1 if errors else 0
