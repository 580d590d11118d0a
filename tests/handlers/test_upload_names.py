"""Unit tests for upload file-name sanitising and suffixing (handlers/upload_names.py)."""

from __future__ import annotations

import pytest

from handlers.upload_names import (
    MAX_NAME_BYTES,
    TEMP_PREFIX,
    generated_name,
    is_safe_name,
    sanitize_filename,
    temp_name,
    with_suffix,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("/absolute/path/x.txt", "x.txt"),
        ("dir/../../y.txt", "y.txt"),
        (".htaccess", "htaccess"),
        ("...hidden", "hidden"),
        (" . spaced.txt ", "spaced.txt"),
        ("trailing.", "trailing"),
        ("a\x00b.txt", "ab.txt"),
        ("new\r\nline.txt", "newline.txt"),
        ("tab\there.txt", "tabhere.txt"),
        ("del\x7f.txt", "del.txt"),
        ("c1\x85.txt", "c1.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("caf\u00e9.txt", "caf\u00e9.txt"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),  # NFC
        ("\u65e5\u672c\u8a9e.txt", "\u65e5\u672c\u8a9e.txt"),
        ("lone\udcffsurrogate", "lonesurrogate"),
        ("a..b.txt", "a..b.txt"),
        ("<script>.html", "<script>.html"),
    ],
)
def test_client_file_names_are_reduced_to_a_safe_basename(raw, expected):
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize("raw", [None, "", ".", "..", "...", "../", "a/..", "/", "\\", "\x00", " "])
def test_names_with_nothing_usable_left_ask_for_a_generated_name(raw):
    assert sanitize_filename(raw) is None


def test_long_names_are_bounded_in_utf8_bytes_and_keep_their_extension():
    name = sanitize_filename("x" * 1000 + ".tar")
    assert name is not None and name.endswith(".tar")
    assert len(name.encode()) <= MAX_NAME_BYTES
    wide = sanitize_filename("\u65e5" * 300 + ".txt")
    assert wide is not None and wide.endswith(".txt")
    assert len(wide.encode()) <= MAX_NAME_BYTES
    wide.encode("utf-8")  # not cut in the middle of a character


def test_a_long_extension_is_not_preserved_at_the_cost_of_the_stem():
    name = sanitize_filename("a" * 300 + "." + "b" * 100)
    assert name is not None and name.startswith("aaa")
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_sanitised_names_are_fixed_points():
    for raw in ["../x", ".hidden", "a\x00b", "\u202efoo", "x" * 500 + ".txt"]:
        once = sanitize_filename(raw)
        assert once is not None and sanitize_filename(once) == once
        assert is_safe_name(once)


@pytest.mark.parametrize("name", ["", ".", "..", ".git", "a\x00", "a/b", "a\\b", "x\n", "b."])
def test_unsafe_url_names_are_detected(name):
    assert not is_safe_name(name)


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("a.txt", 1, "a-1.txt"),
        ("a.txt", 0, "a.txt"),
        ("README", 2, "README-2"),
        ("archive.tar.gz", 3, "archive-3.tar.gz"),
        ("x.y.z", 1, "x.y-1.z"),
    ],
)
def test_collision_suffixes_go_before_the_extension(name, n, expected):
    assert with_suffix(name, n) == expected


def test_temp_names_are_hidden_and_unique():
    names = {temp_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all(n.startswith(".") and n.startswith(TEMP_PREFIX) for n in names)


def test_generated_names_are_safe_unique_and_keep_the_extension():
    names = {generated_name(".bin") for _ in range(200)}
    assert len(names) == 200
    assert all(is_safe_name(n) and n.endswith(".bin") for n in names)
