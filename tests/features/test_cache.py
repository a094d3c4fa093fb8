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

import stasc.features.cache as cache_module
from stasc.cli import main
from stasc.config import ExperimentConfig
from stasc.data import DatasetError, open_dataset
from stasc.extraction import ensure_features, extract, feature_caches, parse_shard, summarize
from stasc.features import parse_feature
from stasc.features.cache import FeatureCache

# small and fast: the cache logic does not depend on the feature size
SPEC = parse_feature(
    {"kind": "mfcc", "sample_rate": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 40, "n_mfcc": 20}
)
# the same as a --set for the CLI
SPEC_SET = "input.features=[{kind: mfcc, sample_rate: 16000, n_fft: 512, hop_length: 256, n_mels: 40, n_mfcc: 20}]"


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
    changed = SPEC.replaced(n_mfcc=13)
    report = extract(table, changed, tmp_path / "cache", progress=False)
    assert report.extracted == 3 and report.cache != FeatureCache(tmp_path / "cache", SPEC).path
    assert FeatureCache(tmp_path / "cache", changed).load(table.files[0]).shape[1] == 13


def test_the_key_is_every_value_deciding_setting_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def path(settings=SPEC, **kw):  # type: ignore[no-untyped-def]
        return FeatureCache(tmp_path, settings, **kw).path

    # the same settings however they were written: one cache, named by the feature's label
    assert path(parse_feature({**SPEC.to_dict()})) == path() and path().name.startswith("mfcc-")
    paper = path(parse_feature("mfcc2048"))
    assert path(parse_feature({"kind": "mfcc", "n_fft": 2048, "hop_length": 1024})) == paper
    assert paper.name.startswith("mfcc2048-")
    # anything that changes the values: another cache
    others = [path(SPEC.replaced(top_db=60.0)), path(SPEC.replaced(fmax=4000.0)), path(mono_views=3),
              path(dtype="float16"), path(parse_feature("cqt")),
              path(parse_feature({"name": "cqt", "resampler": "sinc"}))]
    assert len({path(), *others}) == 1 + len(others)
    # the code revision and the package version are in the key: a release never reads an older one's cache
    cache = FeatureCache(tmp_path, SPEC)
    assert cache.key["feature"] == SPEC.to_dict() and cache.key["feature_code_revision"] == 2
    assert cache.key["stasc_version"] == __import__("stasc").__version__
    before = path()
    monkeypatch.setattr(cache_module, "FEATURE_CODE_REVISION", 3)
    assert path() != before
    with pytest.raises(ValueError, match=r"cache dtype must be one of .*, got 'float64'"):
        FeatureCache(tmp_path, SPEC, dtype="float64")


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
    fresh_cache = FeatureCache(tmp_path / "fresh", SPEC)
    np.testing.assert_array_equal(cache.load(table.files[0]), fresh_cache.load(table.files[0]))


def test_shard_union_equals_unsharded(scenes: Path, tmp_path: Path) -> None:
    table = open_dataset(scenes).subset(range(11))  # 11 clips: shards of 4, 4 and 3
    extract(table, SPEC, tmp_path / "whole", progress=False)
    for index, size in enumerate((4, 4, 3)):
        report = extract(table, SPEC, tmp_path / "sharded", shard=(index, 3), progress=False)
        assert report.selected == report.extracted == size
    whole = all_arrays(FeatureCache(tmp_path / "whole", SPEC))
    sharded = all_arrays(FeatureCache(tmp_path / "sharded", SPEC))
    assert whole.keys() == sharded.keys() and len(whole) == 11
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
    import stasc.extraction as ex
    build = ex.build_transform

    def slow_build(settings, **kw):
        transform = build(settings, **kw)
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


def test_resume_after_kill_finishes_the_rest_and_nothing_is_corrupt(
    scenes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = open_dataset(scenes)
    args = ["extract", "--data", str(scenes), "--cache", str(tmp_path / "cache"), "--set", SPEC_SET,
            "--batch-size", "1", "--part-mb", "0.0001", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_RUN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = FeatureCache(tmp_path / "cache", SPEC)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(cache.parts_dir.glob("*.json"))) < 3:
        if proc.poll() is not None:
            pytest.fail(f"the extraction ended before the kill: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    killed = sorted(cache.entries(refresh=True))
    assert 3 <= len(killed) < 30, "the kill must land mid-run"
    # stray temporaries of an interrupted write, and an uncommitted data file, are ignored
    (cache.parts_dir / ".deadbeef.npy.tmp").write_bytes(b"partial")
    (cache.parts_dir / "orphan.npy").write_bytes(b"no index, never committed")
    capsys.readouterr()
    assert main(args) == 0
    assert f"{len(killed)} already cached, {30 - len(killed)} extracted" in capsys.readouterr().out  # only the rest
    after = all_arrays(cache)
    assert len(after) == 30
    # clips from before the kill and from the resumed run equal a clean extraction (a few of each)
    rest = [name for name in table.files if name not in killed]
    checked = [killed[0], killed[-1], rest[0], rest[-1]]
    extract(table.subset([table.files.index(name) for name in checked]), SPEC, tmp_path / "clean", progress=False)
    clean = all_arrays(FeatureCache(tmp_path / "clean", SPEC))
    assert sorted(clean) == sorted(checked)
    for name in checked:
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
    status = main(["extract", "--data", str(scenes), "--cache", str(tmp_path / "cache"),
                   "--set", "input.features=[{name: mfcc1024, sample_rate: 16000}]", "--no-progress"])
    assert status == 1
    out = capsys.readouterr()
    cache_dir = next((tmp_path / "cache").iterdir())
    failures = (cache_dir / "failures.csv").read_text()
    for name in [*kinds, "missing.wav"]:
        assert f"audio/{name}" in failures
        assert name in out.err or name in out.out
    assert "truncated: header promises" in failures and "NaN or Inf" in failures
    cache = FeatureCache(tmp_path / "cache", parse_feature({"name": "mfcc1024", "sample_rate": 16000}))
    assert len(cache) == 3  # every good clip was extracted


def test_ensure_features_stops_on_bad_clips_and_keeps_what_it_computed(
    scenes: Path, tmp_path: Path, bad_files: tuple[Path, dict[str, str]]
) -> None:
    folder, _ = bad_files
    os.symlink(folder / "not_audio.wav", scenes / "audio" / "not_audio.wav")
    lines = [*(scenes / "meta.csv").read_text().splitlines()[:3], "audio/not_audio.wav\tpark\tbad\ta"]
    (scenes / "meta.csv").write_text("\n".join(lines) + "\n")
    table = open_dataset(scenes)
    config = ExperimentConfig.parse({"input": {"features": [SPEC.to_dict(), SPEC.replaced(n_mfcc=13).to_dict()]},
                                     "model": {"in_channels": 2}})
    with pytest.raises(DatasetError, match=r"1 clips could not be featurised:\n  .*not_audio.wav: not a readable"):
        ensure_features(config, table, tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match=r"1 clips are not in the feature cache .* as their files are now "
                                           r"\(e\.g\. .*not_audio.wav\)"):
        feature_caches(config, tmp_path / "cache", table)
    assert len(FeatureCache(tmp_path / "cache", SPEC)) == 2  # the good clips of the first feature are kept
    report = extract(table, SPEC, tmp_path / "cache", progress=False)
    assert (report.cached_before, report.extracted, len(report.failures)) == (2, 0, 1)
    text = summarize(report)
    assert "3 selected, 2 already cached, 0 extracted" in text and "1 failed" in text
    assert "audio/not_audio.wav: not a readable audio file" in text
    good = table.subset(range(2))
    extract(good, SPEC.replaced(n_mfcc=13), tmp_path / "cache", progress=False)
    caches = feature_caches(config, tmp_path / "cache", good)
    assert [c.spec for c in caches] == config.input.features and [len(c) for c in caches] == [2, 2]


def test_two_copies_of_a_dataset_keep_their_own_features_in_one_cache(
    scenes: Path, tmp_path: Path, tut_clips: list[Path]
) -> None:
    # an original and a re-encoded copy name their clips alike: a reader must get its own copy's features,
    # and neither copy's run may make the other extract again
    original = open_dataset(scenes).subset(range(3))
    copy = tmp_path / "copy"
    (copy / "audio").mkdir(parents=True)
    for index, name in enumerate(original.files):
        (copy / name).write_bytes(tut_clips[(index + 4) % len(tut_clips)].read_bytes())  # other real sound
    (copy / "meta.csv").write_text("\n".join((scenes / "meta.csv").read_text().splitlines()[:4]) + "\n")
    other = open_dataset(copy)
    assert other.files == original.files
    config = ExperimentConfig.parse({"input": {"features": [SPEC.to_dict()]}})
    shared = tmp_path / "cache"
    assert extract(original, SPEC, shared, progress=False).extracted == 3
    assert extract(other, SPEC, shared, progress=False).extracted == 3
    assert extract(original, SPEC, shared, progress=False).extracted == 0  # both copies are kept
    for table, alone in ((original, tmp_path / "alone-original"), (other, tmp_path / "alone-copy")):
        extract(table, SPEC, alone, progress=False)
        (pinned,) = ensure_features(config, table, shared, progress=False)
        for name in table.files:
            np.testing.assert_array_equal(pinned.load(name), FeatureCache(alone, SPEC).load(name))
    first = original.files[0]
    assert not np.array_equal(FeatureCache(tmp_path / "alone-original", SPEC).load(first),
                              FeatureCache(tmp_path / "alone-copy", SPEC).load(first))
    # a reader pinned to the original keeps reading it while the copy is extracted again meanwhile
    (reader,) = feature_caches(config, shared, original)
    (copy / first).unlink()
    (copy / first).write_bytes(tut_clips[0].read_bytes())
    assert extract(other, SPEC, shared, progress=False).extracted == 1
    reader.entries(refresh=True)
    np.testing.assert_array_equal(reader.load(first), FeatureCache(tmp_path / "alone-original", SPEC).load(first))
    assert not list((FeatureCache(shared, SPEC).path / "claims").iterdir())  # every claim released
