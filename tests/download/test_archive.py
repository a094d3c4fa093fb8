"""``stasc.download.extract_zip``: what is refused before anything is written, and that no member
is ever left half-written."""

from __future__ import annotations

import errno
import shutil
import stat
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import IO

import pytest
from download_fakes import FAST, FOLDER, FakeServer, make_dataset, tree, write_zip

from stasc.download import (
    DownloadError,
    NotEnoughSpaceError,
    download_dataset,
    extract_zip,
)


def test_a_zip_with_a_path_traversal_member_is_refused(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, evil_member="../evil.txt")
    to = tmp_path / "deep" / "data"
    before = tree(tmp_path)
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    name = dataset.zips["audio.2"]
    assert [f.name for f in report.failed] == [name]
    assert "refused to extract: members ['../evil.txt'] would be written outside" in report.failed[0].error
    assert tree(tmp_path) - before == {"deep"} | {f"deep/{p}" for p in tree(tmp_path / "deep")}
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not any((to / FOLDER / clip).exists() for clip in dataset.clips[3:])  # nothing of that zip


@pytest.mark.parametrize("member", ["/etc/evil.txt", "a/../../evil.txt", "..\\evil.txt", "C:/evil.txt"])
def test_extract_refuses_every_kind_of_escaping_member(tmp_path: Path, member: str) -> None:
    write_zip(tmp_path / "evil.zip", {"ok.txt": b"fine", member: b"outside!"})
    with pytest.raises(DownloadError, match="refused to extract"):
        extract_zip(tmp_path / "evil.zip", tmp_path / "to")
    assert not (tmp_path / "to").exists()


def test_a_symlink_member_is_refused_by_name(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("data/passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16  # how `zip --symlinks` stores a link
    with zipfile.ZipFile(tmp_path / "links.zip", "w") as archive:
        archive.writestr("data/ok.txt", b"fine")
        archive.writestr(link, b"/etc/passwd")
    with pytest.raises(DownloadError, match=r"links.zip: refused to extract: members \['data/passwd'\] are "
                                            r"symbolic links; nothing of this zip was extracted"):
        extract_zip(tmp_path / "links.zip", tmp_path / "to")
    assert not (tmp_path / "to").exists()


@pytest.mark.parametrize(
    ("members", "named"),
    [
        ({"ok.txt": b"fine", "bomb.bin": bytes(20_000_000)}, "members ['bomb.bin (20000000 bytes from "),
        ({f"part{i}.bin": bytes(500_000) for i in range(40)}, "its 40 members declare 20.0 MB from "),
    ],
    ids=["one-member", "many-members"],
)
def test_a_zip_bomb_is_refused_saying_which_members(tmp_path: Path, members: dict[str, bytes], named: str) -> None:
    """Zeros deflate about 1000×; members under 1 MiB are not checked one by one, but their total is."""
    write_zip(tmp_path / "bomb.zip", members, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(DownloadError) as caught:
        extract_zip(tmp_path / "bomb.zip", tmp_path / "to")
    assert named in str(caught.value) and "more than 200×" in str(caught.value)
    assert "a zip bomb?); nothing of this zip was extracted" in str(caught.value)
    assert not (tmp_path / "to").exists()


def test_ordinary_compression_is_extracted(tmp_path: Path) -> None:
    text = b"filename\tscene_label\n" + b"".join(b"audio/bus-lyon-%d-a.wav\tbus\n" % i for i in range(50_000))
    write_zip(tmp_path / "meta.zip", {"meta.csv": text}, compression=zipfile.ZIP_DEFLATED)
    assert extract_zip(tmp_path / "meta.zip", tmp_path / "to") == {"meta.csv": len(text)}
    assert (tmp_path / "to" / "meta.csv").read_bytes() == text


def test_declared_sizes_beyond_the_free_space_are_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_zip(tmp_path / "big.zip", {"a.bin": bytes(200_000), "b.bin": bytes(100_000)})
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=100_000))
    to = tmp_path / "to"
    with pytest.raises(NotEnoughSpaceError) as caught:
        extract_zip(tmp_path / "big.zip", to)
    assert str(caught.value).startswith(f"not enough free space for {to}: 300.0 kB needed, 100.0 kB free "
                                        "(to extract big.zip, as its members declare; nothing of it was extracted)")
    assert (caught.value.needed_bytes, caught.value.free_bytes) == (300_000, 100_000)
    assert not to.exists()


def test_files_a_zip_replaces_do_not_count_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_zip(tmp_path / "big.zip", {"a.bin": bytes(200_000)})
    (tmp_path / "to").mkdir()
    (tmp_path / "to" / "a.bin").write_bytes(bytes(150_000))  # an older copy: 50 kB more are needed
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=60_000))
    assert extract_zip(tmp_path / "big.zip", tmp_path / "to") == {"a.bin": 200_000}


def test_the_disk_filling_up_mid_member_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_zip(tmp_path / "two.zip", {"d/first.bin": bytes(1000), "d/second.bin": bytes(3000)})
    real_copy = shutil.copyfileobj

    def copy_until_full(source: IO[bytes], out: IO[bytes], length: int = 0) -> None:
        if not out.name.endswith(".part") or "second" not in out.name:
            return real_copy(source, out, length)
        out.write(source.read(1500))
        out.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("stasc.download.archive.shutil.copyfileobj", copy_until_full)
    to = tmp_path / "to"
    with pytest.raises(NotEnoughSpaceError) as caught:
        extract_zip(tmp_path / "two.zip", to)
    message = str(caught.value)
    assert message.startswith(f"not enough free space for {to / 'd' / 'second.bin'}: 3.0 kB needed, ")
    expected = "the disk filled up while extracting two.zip; the unfinished second.bin was removed: No space left"
    assert expected in message
    assert tree(to) == {"d", "d/first.bin"}  # the complete member stays, nothing of the unfinished one


def test_a_corrupted_member_leaves_no_partial_file(tmp_path: Path) -> None:
    write_zip(tmp_path / "crc.zip", {"d/clip.wav": bytes(range(256)) * 40})
    data = bytearray((tmp_path / "crc.zip").read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the stored member: its CRC no longer matches
    (tmp_path / "crc.zip").write_bytes(bytes(data))
    with pytest.raises(DownloadError, match=r"crc.zip: not a valid zip \(Bad CRC-32"):
        extract_zip(tmp_path / "crc.zip", tmp_path / "to")
    assert tree(tmp_path / "to") == {"d"}
