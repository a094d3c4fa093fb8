import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stasc.data import (
    ClipTable,
    DatasetError,
    find_unreadable,
    open_dataset,
    read_csv,
    read_folders,
    read_tau,
    require_readable,
)

SCENES = ("airport", "bus", "metro", "metro_station", "park", "public_square", "shopping_mall",
          "street_pedestrian", "street_traffic", "tram")


def test_tau_layout_real_metadata(tau_meta_dir: Path) -> None:
    table = read_tau(tau_meta_dir)
    assert len(table) == 14400
    assert table.classes == SCENES
    assert all(np.bincount(table.targets) == 1440)
    assert table.files[0] == "audio/airport-lisbon-1000-40000-a.wav"
    assert table.groups[0] == "lisbon-1000"
    assert table.path(0) == tau_meta_dir / "audio/airport-lisbon-1000-40000-a.wav"


def test_tut_clips_read_and_are_readable(tut_dir: Path) -> None:
    table = open_dataset(tut_dir)
    assert len(table) == 10 and table.classes == SCENES
    assert find_unreadable(table) == []
    require_readable(table)


def test_fsdd_labels_csv_reads_without_conversion(fsdd_dir: Path) -> None:
    table = open_dataset(fsdd_dir / "labels.csv")
    assert len(table) == 2500
    assert table.audio_root == fsdd_dir / "recordings"  # found the subfolder holding the files
    assert table.classes == tuple(str(d) for d in range(10))
    assert set(table.groups) == {"george", "jackson", "nicolas", "theo", "yweweler"}
    assert table.path(0).is_file()


def test_generic_csv_with_configured_columns(tmp_path: Path, tut_clips: list[Path]) -> None:
    for clip in tut_clips[:3]:
        shutil.copy(clip, tmp_path / clip.name)
    (tmp_path / "list.csv").write_text(
        "path,scene,site\n"
        + "".join(f"{c.name},{c.name.split('-')[0]},site{i % 2}\n" for i, c in enumerate(tut_clips[:3]))
    )
    table = read_csv(tmp_path / "list.csv", filename_column="path", label_column="scene", group_column="site")
    assert table.files == tuple(c.name for c in tut_clips[:3])
    assert table.groups == ("site0", "site1", "site0")
    assert find_unreadable(table) == []


def test_csv_without_group_makes_each_clip_its_own_group(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("filename,label\na.wav,x\nb.wav,y\n")
    table = read_csv(tmp_path / "m.csv")
    assert len(set(table.groups)) == 2


def test_folder_per_class(tmp_path: Path) -> None:
    for label in ("park", "bus"):
        (tmp_path / label).mkdir()
        for i in range(2):
            sf.write(tmp_path / label / f"{i}.flac", np.zeros(800, np.float32), 8000)
    (tmp_path / "park" / "notes.txt").write_text("not audio")
    table = read_folders(tmp_path)
    assert table.classes == ("bus", "park")
    assert table.files == ("bus/0.flac", "bus/1.flac", "park/0.flac", "park/1.flac")
    assert open_dataset(tmp_path).files == table.files


def test_every_missing_or_unreadable_file_is_reported_at_once(tmp_path: Path,
                                                              bad_files: tuple[Path, dict[str, str]]) -> None:
    folder, kinds = bad_files
    names = [*sorted(kinds), "missing.wav"]
    (folder / "m.csv").write_text("filename,label\n" + "".join(f"{n},x\n" for n in names))
    table = read_csv(folder / "m.csv")
    problems = dict(find_unreadable(table))
    # the header-only check finds these; truncated and NaN files are caught when decoded
    assert set(problems) == {"empty.wav", "not_audio.wav", "corrupt.wav", "missing.wav"}
    assert problems["missing.wav"] == "file not found"
    with pytest.raises(DatasetError) as info:
        require_readable(table)
    message = str(info.value)
    assert "4 of 6 clips" in message
    for name in problems:
        assert name in message


@pytest.mark.parametrize(
    "content,match",
    [
        ("", "metadata file is empty"),
        ("name,label\na.wav,x\n", "no column 'filename'"),
        ("filename,kind\na.wav,x\n", "no label column"),
        ("filename,label\n", "lists no clips"),
        ("filename,label\na.wav,\n", "without a file name or label at lines \\[2\\]"),
        ("filename,label\na.wav,x\na.wav,y\n", "duplicate file names"),
    ],
)
def test_bad_metadata_names_file_and_problem(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "meta.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=match) as info:
        read_csv(path)
    assert str(path) in str(info.value)  # every message names the metadata file


def test_a_fold_column_is_the_datasets_official_folds(shared_data: Path) -> None:
    table = read_csv(shared_data / "esc10" / "labels.csv")
    assert table.folds is not None and sorted(set(table.folds)) == [1, 2, 3, 4, 5]
    assert all(table.folds.count(f) == 80 for f in range(1, 6))
    assert table.folds[0] == 1 and table.groups[0] == "116765"


@pytest.mark.parametrize(
    "content,match",
    [
        ("filename,label,fold,group\na.wav,x,1,g1\nb.wav,y,,g2\n", r"1 clip\(s\) without a fold \(lines \[3\]\)"),
        ("filename,label,fold,group\na.wav,x,1,g1\nb.wav,y,one,g2\n", "line 3: fold 'one' is not a whole number"),
        ("filename,label,fold,group\na.wav,x,1,src\nb.wav,y,2,src\nc.wav,y,2,other\n",
         r"1 group\(s\) lie in more than one fold.*src \(folds 1, 2\)"),
    ],
)
def test_a_clip_without_a_fold_or_a_group_in_two_folds_is_an_error_naming_them(tmp_path: Path, content: str,
                                                                              match: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=match) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_a_path_that_is_a_folder_or_a_broken_link_says_exactly_that(tmp_path: Path, tut_clips: list[Path]) -> None:
    import os

    (tmp_path / "clip.wav").mkdir()
    os.symlink(tmp_path / "gone.wav", tmp_path / "link.wav")
    (tmp_path / "meta.csv").write_text("filename,label\nclip.wav,a\nlink.wav,b\n")
    problems = dict(find_unreadable(read_csv(tmp_path / "meta.csv")))
    assert problems["clip.wav"] == "is a folder, not an audio file"
    assert problems["link.wav"].startswith("broken symbolic link")


def test_open_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file or folder"):
        open_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no audio files"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"no meta.csv"):
        read_tau(tmp_path)


def test_subset_keeps_class_list() -> None:
    table = ClipTable(Path("."), ("a", "b", "c"), ("x", "y", "z"), ("1", "2", "3"))
    sub = table.subset([2])
    assert sub.classes == ("x", "y", "z") and sub.targets == [2]
