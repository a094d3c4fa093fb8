"""The feature cache: keyed by settings, resumable after a kill, shardable, bad files reported."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from stasc.cli import main
from stasc.data import open_dataset
from stasc.features.cache import FeatureCache
from stasc.features.extract import extract, parse_shard
from stasc.features.spec import FeatureSpec

# small and fast: the cache logic does not depend on the feature size
SPEC = FeatureSpec(kind="mfcc", sample_rate=16000, n_fft=512, hop_length=256, n_mels=40, n_mfcc=20)


@pytest.fixture()
def scenes(tmp_path: Path, tut_clips: list[Path]) -> Path:
    """A TAU-layout copy of the real TUT clips, each used three times (30 clips) via symlinks."""
    root = tmp_path / "scenes"
    (root / "audio").mkdir(parents=True)
    lines = ["filename\tscene_label\tidentifier\tsource_label"]
    for copy in range(3):
        for clip in tut_clips:
            name = f"audio/{clip.stem}-{copy}.wav"
            os.symlink(clip, root / name)
            lines.append(f"{name}\t{clip.name.split('-')[0]}\t{clip.stem}-{copy}\ta")
    (root / "meta.csv").write_text("\n".join(lines) + "\n")
    return root


def all_arrays(cache: FeatureCache) -> dict[str, np.ndarray]:
    return {name: np.array(cache.load(name)) for name in sorted(cache.entries(refresh=True))}


def test_extract_then_rerun_computes_nothing(scenes: Path, tmp_path: Path) -> None:
    table = open_dataset(scenes)
    first = extract(table, SPEC, tmp_path / "cache", progress=False)
    assert (first.extracted, first.cached_before, first.failures) == (30, 0, [])
    again = extract(table, SPEC, tmp_path / "cache", progress=False)
    assert (again.extracted, again.cached_before) == (0, 30)
    cache = FeatureCache(tmp_path / "cache", SPEC)
    clip = cache.load(table.files[0])
    assert clip.shape == (3, 20, SPEC.frames(160000))
    assert isinstance(clip, np.memmap) or isinstance(clip.base, np.memmap)  # read through a memory map


def test_changed_setting_never_reuses_stale_features(scenes: Path, tmp_path: Path) -> None:
    table = open_dataset(scenes).subset(range(3))
    extract(table, SPEC, tmp_path / "cache", progress=False)
    changed = FeatureSpec(**{**SPEC.__dict__, "n_mfcc": 13})
    report = extract(table, changed, tmp_path / "cache", progress=False)
    assert report.extracted == 3 and report.cache != FeatureCache(tmp_path / "cache", SPEC).path
    # a field the kind does not use (CQT bins for an MFCC) does not change the key
    same = FeatureSpec(**{**SPEC.__dict__, "n_bins": 84})
    assert FeatureCache(tmp_path / "cache", same).path == FeatureCache(tmp_path / "cache", SPEC).path
    assert FeatureCache(tmp_path / "cache", SPEC, dtype="float16").path != FeatureCache(tmp_path / "cache", SPEC).path


def test_changed_source_file_is_extracted_again(scenes: Path, tmp_path: Path, tut_clips: list[Path]) -> None:
    table = open_dataset(scenes).subset(range(2))
    extract(table, SPEC, tmp_path / "cache", progress=False)
    target = table.path(0)
    target.unlink()
    target.write_bytes(tut_clips[5].read_bytes())  # another real clip of exactly the same size
    report = extract(table, SPEC, tmp_path / "cache", progress=False)
    assert report.extracted == 1
    cache = FeatureCache(tmp_path / "cache", SPEC)
    fresh = extract(table.subset([0]), SPEC, tmp_path / "fresh", progress=False)
    assert fresh.extracted == 1
    np.testing.assert_array_equal(cache.load(table.files[0]), FeatureCache(tmp_path / "fresh", SPEC).load(table.files[0]))


def test_shard_union_equals_unsharded(scenes: Path, tmp_path: Path) -> None:
    table = open_dataset(scenes)
    extract(table, SPEC, tmp_path / "whole", progress=False)
    for index in range(3):
        report = extract(table, SPEC, tmp_path / "sharded", shard=(index, 3), progress=False)
        assert report.selected == 10
    whole = all_arrays(FeatureCache(tmp_path / "whole", SPEC))
    sharded = all_arrays(FeatureCache(tmp_path / "sharded", SPEC))
    assert whole.keys() == sharded.keys() and len(whole) == 30
    for name in whole:
        np.testing.assert_array_equal(whole[name], sharded[name])


def test_parse_shard() -> None:
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "1", "a/b", "-1/3", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


KILLABLE_RUN = textwrap.dedent(
    """
    import sys, time
    import stasc.features.extract as ex
    build = ex.build_transform

    def slow_build(spec, **kw):
        transform = build(spec, **kw)
        forward = transform.forward
        def slow_forward(views):
            time.sleep(0.3)  # stands in for a long real extraction, so the kill lands mid-run
            return forward(views)
        transform.forward = slow_forward
        return transform

    ex.build_transform = slow_build
    from stasc.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_resume_after_kill_finishes_the_rest_and_nothing_is_corrupt(scenes: Path, tmp_path: Path) -> None:
    table = open_dataset(scenes)
    args = ["extract", "--data", str(scenes), "--features", "mfcc2048", "--cache", str(tmp_path / "cache"),
            "--set", "sample_rate=16000", "--set", "n_fft=512", "--set", "hop_length=256", "--set", "n_mels=40",
            "--set", "n_mfcc=20", "--batch-size", "1", "--part-mb", "0.0001", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_RUN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = FeatureCache(tmp_path / "cache", SPEC)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(cache.parts_dir.glob("*.json"))) < 3:
        if proc.poll() is not None:
            pytest.fail(f"the extraction ended before the kill: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    done_before = len(cache.entries(refresh=True))
    assert 3 <= done_before < 30, "the kill must land mid-run"
    # stray temporaries of an interrupted write, and an uncommitted data file, are ignored
    (cache.parts_dir / ".deadbeef.npy.tmp").write_bytes(b"partial")
    (cache.parts_dir / "orphan.npy").write_bytes(b"no index, never committed")
    assert main(args) == 0
    after = all_arrays(cache)
    assert len(after) == 30
    extract(table, SPEC, tmp_path / "clean", progress=False)
    clean = all_arrays(FeatureCache(tmp_path / "clean", SPEC))
    for name in clean:
        np.testing.assert_array_equal(after[name], clean[name])


def test_bad_files_are_listed_the_rest_extracted_exit_status_1(
    scenes: Path, tmp_path: Path, bad_files: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kinds = bad_files
    meta = scenes / "meta.csv"
    lines = meta.read_text().splitlines()[:4]
    for name in kinds:
        os.symlink(folder / name, scenes / "audio" / name)
        lines.append(f"audio/{name}\tpark\tbad-{name}\ta")
    lines.append("audio/missing.wav\tpark\tbad-missing\ta")
    meta.write_text("\n".join(lines) + "\n")
    status = main(["extract", "--data", str(scenes), "--features", "mfcc1024", "--cache", str(tmp_path / "cache"),
                   "--set", "sample_rate=16000", "--no-progress"])
    assert status == 1
    out = capsys.readouterr()
    cache_dir = next((tmp_path / "cache").iterdir())
    failures = (cache_dir / "failures.csv").read_text()
    for name in [*kinds, "missing.wav"]:
        assert f"audio/{name}" in failures
        assert name in out.err or name in out.out
    assert "truncated: header promises" in failures and "NaN or Inf" in failures
    cache = FeatureCache(tmp_path / "cache", FeatureSpec.named("mfcc1024", sample_rate=16000))
    assert len(cache) == 3  # every good clip was extracted
