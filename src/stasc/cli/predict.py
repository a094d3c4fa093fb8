"""``stasc predict``: scene labels for files, folders and long recordings (a timeline of windows).

Output is written as files finish: CSV and JSON Lines are flushed after every file, and running the
same command again after an interruption skips the files already in ``--out`` (their rows are
kept; a file whose rows were cut off is predicted again). ``json`` is one document, written at
the end. The DCASE layouts are the challenge's submission files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from stasc.allocator import return_large_buffers_to_the_system
from stasc.atomic import write_text
from stasc.audio import AudioError, audio_suffixes, probe
from stasc.inference import FileFailure, FilePrediction, predict_files
from stasc.loading import load_model
from stasc.progress import bar as progress_bar

FORMATS = ("csv", "jsonl", "json", "dcase", "dcase2019")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict the scene of audio files (long recordings give a timeline)",
        description="Predict the scene of audio files and folders (searched recursively for every format soundfile "
        "reads: WAV, FLAC, OGG, MP3 …), of any sample rate, channel count and length. A recording is cut into "
        "windows (--window seconds every --hop seconds; the last window is aligned to the end so every window is "
        "full length) and gives one row per window plus a summary row for the whole file (blank start and end) whose "
        "probabilities are the mean over its windows. Files are read in blocks, so a recording of hours needs no "
        "more memory than a short one (past 10 minutes the allocator returns every large buffer to the system, which "
        "keeps the peak flat and costs time), and the windows of many short files go through the network together. "
        "Output is written as files finish; run the same command again after an interruption and the files "
        "already in --out are skipped. A file that cannot be read, or is shorter than one analysis frame, gets "
        "its error in the output and the others are still predicted.",
        epilog="formats (--format, default from --out's suffix, else csv):\n"
        "  csv        file,start,end,label,<one probability column per class>,error\n"
        "  jsonl      one JSON object per file (label, probabilities, windows, or error), one per line\n"
        "  json       one document {classes, files: [...]}, written at the end\n"
        "  dcase      DCASE 2020+ submission: tab-separated, header filename scene_label <classes…>,\n"
        "             one line per file\n"
        "  dcase2019  DCASE 2019 submission: tab-separated filename and scene_label, no header\n"
        "examples:\n"
        "  stasc predict --model runs/envsound recordings/ --out scenes.csv\n"
        "  stasc predict --model runs/mfcc/fold-0/checkpoints/best.ckpt field.wav --window 10 --hop 5 \\\n"
        "      --out field.jsonl\n"
        "  stasc predict --model runs/ensemble eval/audio --format dcase --out submission.csv\n"
        "  stasc predict --model model.onnx clip.wav\n"
        "--model takes a checkpoint, a run folder (its final model, else its fold models averaged), an ensemble "
        "folder (majority vote of its runs) or an exported .onnx file.\n"
        "exit status: 0 all files predicted; 1 some files failed (their errors are in the output); 2 bad usage; "
        "3 not enough disk space",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, help="checkpoint, run folder, ensemble folder or .onnx")
    parser.add_argument("audio", type=Path, nargs="+", help="audio files or folders")
    parser.add_argument("--out", type=Path, help="output file (default: CSV on standard output)")
    parser.add_argument("--format", choices=FORMATS,
                        help="default: from --out's suffix (.csv, .jsonl, .json), else csv")
    parser.add_argument("--window", type=float,
                        help="window length in seconds (default: 10, or the window an .onnx export was made for)")
    parser.add_argument("--hop", type=float, help="window hop in seconds (default: the window length)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=64, help="patches per network batch (default: 64)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def audio_files(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files as given, folders searched recursively for every format soundfile reads; and what a folder
    scan skipped, with the reason. A path given that is not a file stays (it fails with its reason)."""
    suffixes = audio_suffixes()
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        for item in sorted(path.rglob("*")):
            if item.is_symlink() and not item.exists():
                skipped.append((item, "broken symbolic link"))
            elif item.is_dir() or item.name.startswith("."):
                continue
            elif item.suffix.lower() in suffixes:
                found.append(item)
            else:
                skipped.append((item, f"not an audio format soundfile reads ({item.suffix or 'no extension'})"))
    return found, skipped


def _rows(result: FilePrediction) -> list[dict[str, Any]]:
    rows = [{"start": round(w.start, 3), "end": round(w.end, 3), "label": result.classes[int(w.probabilities.argmax())],
             "probabilities": w.probabilities} for w in result.windows]
    rows.append({"start": None, "end": None, "label": result.label, "probabilities": result.probabilities})
    return rows


def _as_json(result: FilePrediction | FileFailure, classes: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(result, FileFailure):
        return {"file": str(result.path), "error": result.problem}
    return {
        "file": str(result.path), "label": result.label, "duration": round(result.duration, 3),
        "probabilities": dict(zip(classes, map(float, result.probabilities))),
        "windows": [{"start": r["start"], "end": r["end"], "label": r["label"],
                     "probabilities": dict(zip(classes, map(float, r["probabilities"])))} for r in _rows(result)[:-1]],
    }


class Writer:
    """Writes one format, file by file; knows which files an earlier output already holds."""

    def __init__(self, kind: str, classes: tuple[str, ...]) -> None:
        self.kind, self.classes = kind, classes
        self.documents: list[dict[str, Any]] = []

    def header(self) -> list[str]:
        if self.kind == "csv":
            return [",".join(["file", "start", "end", "label", *self.classes, "error"])]
        if self.kind == "dcase":
            return ["\t".join(["filename", "scene_label", *self.classes])]
        return []

    def lines(self, result: FilePrediction | FileFailure) -> list[str]:
        """What one file adds to the output (``json`` keeps it for the end)."""
        if self.kind == "json":
            self.documents.append(_as_json(result, self.classes))
            return []
        if self.kind == "jsonl":
            return [json.dumps(_as_json(result, self.classes))]
        if isinstance(result, FileFailure):
            if self.kind == "csv":
                return [_csv_line([str(result.path), "", "", "", *([""] * len(self.classes)), result.problem])]
            return []  # a submission lists predicted files only; failures are on stderr and in the status
        if self.kind == "csv":
            return [_csv_line([str(result.path), "" if r["start"] is None else f"{r['start']:.3f}",
                               "" if r["end"] is None else f"{r['end']:.3f}", r["label"],
                               *(f"{p:.6f}" for p in r["probabilities"]), ""]) for r in _rows(result)]
        name = result.path.name  # DCASE file names carry no folder
        if self.kind == "dcase":
            return ["\t".join([name, result.label, *(f"{p:.6f}" for p in result.probabilities)])]
        return [f"{name}\t{result.label}"]

    def done_files(self, path: Path) -> tuple[set[str], list[str]]:
        """Files an existing output holds completely, and its lines to keep (a file cut off mid-write drops out)."""
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if not text:
            return set(), []
        lines = text.splitlines()
        if not text.endswith("\n"):
            lines = lines[:-1]  # the last line was being written
        if self.kind == "jsonl":
            kept = []
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "error" not in entry:
                    kept.append(line)
            return {json.loads(line)["file"] for line in kept}, kept
        if self.kind == "csv":
            header, body = lines[0], lines[1:]
            if header != self.header()[0]:
                raise ValueError(f"{path} holds another model's columns ({header[:80]}…); use a new --out")
            done = {row[0] for row in csv.reader(body) if len(row) >= 3 and row[1] == "" and row[2] == "" and row[3]}
            kept = [line for line, row in zip(body, csv.reader(body)) if row and row[0] in done]
            return done, self.header() + kept
        if self.kind == "dcase":
            return {line.split("\t")[0] for line in lines[1:]}, lines
        return {line.split("\t")[0] for line in lines}, lines


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _key(kind: str, path: Path) -> str:
    return path.name if kind.startswith("dcase") else str(path)


def _stream(writer: Writer, results: Iterable[FilePrediction | FileFailure], out: IO[str]) -> Iterator[
        FilePrediction | FileFailure]:
    for result in results:
        for line in writer.lines(result):
            out.write(line + "\n")
        out.flush()
        yield result


# from this length on, a recording's window buffers make glibc's heap creep (stasc.allocator); shorter ones keep
# the default allocator, which predicts many short files 1.6x faster
LONG_RECORDING_SECONDS = 600.0


def has_long_recording(files: Iterable[Path]) -> bool:
    """Whether any of ``files`` is longer than :data:`LONG_RECORDING_SECONDS` (read from the headers only)."""
    for path in files:
        try:
            info = probe(path)
        except AudioError:
            continue  # prediction reports the file
        if info.frames / info.samplerate > LONG_RECORDING_SECONDS:
            return True
    return False


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=args.device, batch_size=args.batch_size)
    window = args.window if args.window is not None else getattr(model, "window_seconds", 10.0)  # exports: fixed
    hop = args.hop if args.hop is not None else window
    if window <= 0 or hop <= 0:
        raise ValueError(f"--window and --hop must be positive, got {window} and {hop}")
    files, skipped = audio_files(args.audio)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not files:
        raise ValueError(f"{', '.join(map(str, args.audio))}: a folder with no audio files in it "
                         f"(formats read: {', '.join(sorted(audio_suffixes()))})")
    suffix = args.out.suffix.lstrip(".") if args.out else ""
    kind = args.format or (suffix if suffix in ("csv", "jsonl", "json") else "csv")
    writer = Writer(kind, model.classes)
    done: set[str] = set()
    if args.out and kind != "json":
        done, kept = writer.done_files(args.out)
        if done:
            print(f"{args.out}: {len(done)} files already predicted; predicting the other "
                  f"{sum(_key(kind, f) not in done for f in files)}", file=sys.stderr)
        _rewrite(args.out, kept or writer.header())
    pending = [f for f in files if _key(kind, f) not in done]
    if has_long_recording(pending):
        return_large_buffers_to_the_system()  # resident memory stays flat over hours of audio (stasc.allocator)
    handle: IO[str] = args.out.open("a", encoding="utf-8", newline="") if args.out and kind != "json" else sys.stdout
    failed = 0
    try:
        if not args.out and kind != "json":
            for line in writer.header():
                handle.write(line + "\n")
        results = predict_files(model, pending, window_seconds=window, hop_seconds=hop)
        bar = progress_bar(total=len(pending), unit="file", desc="predict", enabled=not args.no_progress)
        with bar:
            for result in _stream(writer, results, handle):
                bar.update(1)
                if isinstance(result, FileFailure):
                    failed += 1
                    bar.write(f"FAILED {result.path}: {result.problem}", file=sys.stderr)
    finally:
        if handle is not sys.stdout:
            handle.close()
    if kind == "json":
        document = json.dumps({"classes": list(model.classes), "files": writer.documents}, indent=2) + "\n"
        if args.out:
            _rewrite(args.out, [document.rstrip("\n")])
        else:
            sys.stdout.write(document)
    if args.out:
        print(f"{len(pending) - failed} files predicted, {failed} failed → {args.out}", file=sys.stderr)
    return 1 if failed else 0


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace ``path`` with ``lines`` atomically (the kept part of an earlier output, or a header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "".join(line + "\n" for line in lines))
