"""Unit tests for atomic upload files (handlers/upload_files.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from framework.http.errors import HTTPError
from handlers.upload_files import StoreDirectory, TempUpload


def names(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


@pytest.fixture
def store(tmp_path):
    with StoreDirectory.open(tmp_path) as directory:
        yield directory


def test_a_temp_upload_is_a_hidden_file_until_published(store, tmp_path):
    temp = TempUpload(store)
    temp.write(b"abc")
    temp.write(memoryview(b"def"))
    (hidden,) = names(tmp_path)
    assert hidden.startswith(".") and temp.size == 6
    assert temp.link_new("f.txt") == "f.txt"
    temp.discard()  # a no-op once published
    assert names(tmp_path) == ["f.txt"]
    assert (tmp_path / "f.txt").read_bytes() == b"abcdef"


def test_link_new_never_replaces_and_picks_the_next_free_suffix(store, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"0")
    (tmp_path / "a-1.txt").write_bytes(b"1")
    temps = [TempUpload(store) for _ in range(3)]
    for i, temp in enumerate(temps):
        temp.write(b"new%d" % i)
    published = [temp.link_new("a.txt") for temp in temps]
    assert published == ["a-2.txt", "a-3.txt", "a-4.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"0"
    assert (tmp_path / "a-1.txt").read_bytes() == b"1"
    assert (tmp_path / "a-4.txt").read_bytes() == b"new2"
    assert not [n for n in names(tmp_path) if n.startswith(".")]


def test_a_dangling_symlink_counts_as_taken(store, tmp_path):
    (tmp_path / "l.txt").symlink_to(tmp_path / "missing")
    temp = TempUpload(store)
    assert temp.link_new("l.txt") == "l-1.txt"
    assert not (tmp_path / "missing").exists()


def test_without_hard_links_names_are_still_claimed_exclusively(store, tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a.txt").write_bytes(b"old")
    temp = TempUpload(store)
    temp.write(b"new")
    assert temp.link_new("a.txt") == "a-1.txt"
    assert (tmp_path / "a.txt").read_bytes() == b"old"
    assert (tmp_path / "a-1.txt").read_bytes() == b"new"
    assert names(tmp_path) == ["a-1.txt", "a.txt"]


def test_replace_swaps_the_file_in_one_step(store, tmp_path):
    (tmp_path / "doc").write_bytes(b"old")
    temp = TempUpload(store)
    temp.write(b"new")
    assert (tmp_path / "doc").read_bytes() == b"old"
    temp.replace("doc")
    assert (tmp_path / "doc").read_bytes() == b"new"
    assert names(tmp_path) == ["doc"]


def test_replacing_a_directory_is_409_and_discard_cleans_up(store, tmp_path):
    (tmp_path / "d").mkdir()
    temp = TempUpload(store)
    with pytest.raises(HTTPError) as info:
        temp.replace("d")
    assert info.value.status == 409
    temp.discard()
    assert names(tmp_path) == ["d"]


def test_discard_removes_the_temp_file_and_can_run_twice(store, tmp_path):
    temp = TempUpload(store)
    temp.write(b"x" * 1000)
    temp.discard()
    temp.discard()
    assert names(tmp_path) == []


@pytest.mark.parametrize(
    ("err", "status"), [(errno.ENOSPC, 507), (errno.EDQUOT, 507), (errno.EIO, 500)]
)
def test_write_errors_map_to_http_statuses(store, tmp_path, monkeypatch, err, status):
    def failing_write(fd, data):
        raise OSError(err, os.strerror(err))

    temp = TempUpload(store)
    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(HTTPError) as info:
        temp.write(b"data")
    assert info.value.status == status and info.value.close
    temp.discard()
    assert names(tmp_path) == []


def test_an_unwritable_directory_is_403(store, tmp_path, monkeypatch):
    real_open = os.open

    def denied(path, flags, mode=0o777, **kwargs):
        if kwargs.get("dir_fd") == store.fd:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(HTTPError) as info:
        TempUpload(store)
    assert info.value.status == 403
