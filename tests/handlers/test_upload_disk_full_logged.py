"""Disk full during an upload is answered 507 *and* logged, naming the file (issue 9, 11)."""

from __future__ import annotations

import errno
import os

import pytest

from framework.http.errors import HTTPError
from handlers.upload_files import StoreDirectory, TempUpload


@pytest.mark.parametrize(("err", "name"), [(errno.ENOSPC, "ENOSPC"), (errno.EDQUOT, "EDQUOT")])
def test_a_full_disk_is_logged_once_with_the_file_and_the_reason(
    tmp_path, monkeypatch, capfd, err, name
):
    real_write = os.write
    with StoreDirectory.open(tmp_path) as store:
        temp = TempUpload(store)

        def full(fd, data):
            if fd == temp._fd:  # only the upload's file: the log line must still get out
                raise OSError(err, os.strerror(err))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", full)
        with pytest.raises(HTTPError) as info:
            temp.write(b"data")
        temp.discard()
    assert info.value.status == 507
    lines = [line for line in capfd.readouterr().err.splitlines() if "[error]" in line]
    assert len(lines) == 1, lines
    assert name in lines[0] and f'"{tmp_path}/{temp_name_of(lines[0])}"' in lines[0]
    assert os.listdir(tmp_path) == []


def test_other_storage_errors_are_not_logged_as_disk_full(tmp_path, monkeypatch, capfd):
    with StoreDirectory.open(tmp_path) as store:
        temp = TempUpload(store)
        monkeypatch.setattr(os, "write", _raising(errno.EIO))
        with pytest.raises(HTTPError) as info:
            temp.write(b"data")
        monkeypatch.undo()
        temp.discard()
    assert info.value.status == 500
    assert "ENOSPC" not in capfd.readouterr().err


def temp_name_of(line: str) -> str:
    """The temp file's name as the log line quotes it (hidden: starts with a dot)."""
    quoted = line.rsplit('"', 2)[1]
    name = quoted.rsplit("/", 1)[1]
    assert name.startswith(".")
    return name


def _raising(err: int):
    def write(fd, data):
        raise OSError(err, os.strerror(err))

    return write
