"""Opening beneath a root: openat2(RESOLVE_BENEATH) and the O_NOFOLLOW walk that replaces it
where the kernel lacks it must agree, and both must hold under a concurrent symlink swap."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from framework.routing import beneath
from framework.routing.beneath import RootDir, walk_beneath


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "sub" / "f.txt").write_text("in")
    (root / "sub" / "deep" / "g.txt").write_text("deep")
    (tmp_path / "outside.txt").write_text("SECRET")
    (root / "rel").symlink_to("sub/f.txt")
    (root / "absin").symlink_to(root / "sub" / "f.txt")
    (root / "absout").symlink_to(tmp_path / "outside.txt")
    (root / "up").symlink_to("../outside.txt")
    (root / "updown").symlink_to("sub/../sub/deep/../f.txt")
    (root / "sub" / "back").symlink_to("../sub")
    (root / "dirlink").symlink_to("sub/deep")
    (root / "toroot").symlink_to(".")
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "dangling").symlink_to("nowhere")
    (root / "magic").symlink_to("/proc/self/root/etc/hostname")
    return root


OK = {
    "sub/f.txt": "in",
    "rel": "in",
    "absin": "in",
    "updown": "in",
    "sub/back/f.txt": "in",
    "sub/back/back/deep/g.txt": "deep",
    "dirlink/g.txt": "deep",
    "toroot/sub/f.txt": "in",
    "sub/deep/../f.txt": "in",
}
FAIL = {
    "absout": errno.EXDEV,
    "up": errno.EXDEV,
    "..": errno.EXDEV,
    "sub/../../outside.txt": errno.EXDEV,
    "magic": errno.EXDEV,  # absolute, and /proc/self/root a magic link besides
    "loop1": errno.ELOOP,
    "dangling": errno.ENOENT,
    "missing": errno.ENOENT,
    "sub/f.txt/x": errno.ENOTDIR,
}


def _read(fd: int) -> str:
    try:
        return os.read(fd, 100).decode()
    finally:
        os.close(fd)


@pytest.fixture(params=["openat2", "walk"])
def root(request, tree: Path, monkeypatch) -> RootDir:
    if request.param == "openat2":
        if not beneath.openat2_available():
            pytest.skip("openat2 is not available here")
    else:
        monkeypatch.setattr(beneath, "_openat2", None)
    return RootDir(str(tree))


@pytest.mark.parametrize(("rel", "content"), sorted(OK.items()))
def test_symlinks_that_stay_inside_are_followed(root, rel, content):
    assert _read(root.open(rel, os.O_RDONLY)) == content


@pytest.mark.parametrize(("rel", "err"), sorted(FAIL.items()))
def test_escapes_loops_and_missing_names_are_refused(root, rel, err):
    with pytest.raises(OSError) as info:
        os.close(root.open(rel, os.O_RDONLY))
    assert info.value.errno == err


def test_the_root_itself_and_directories_open(root, tree):
    assert os.path.samestat(root.stat(""), os.stat(tree))
    assert os.path.samestat(root.stat("dirlink"), os.stat(tree / "sub" / "deep"))


def test_o_nofollow_refuses_a_final_symlink(root):
    with pytest.raises(OSError) as info:
        root.open("rel", os.O_RDONLY | os.O_NOFOLLOW)
    assert info.value.errno == errno.ELOOP


def test_an_absolute_link_may_use_the_configured_name_of_the_root(tmp_path, tree, root):
    alias = tmp_path / "alias"
    alias.symlink_to(tree)
    (tree / "viaalias").symlink_to(alias / "sub" / "f.txt")
    assert _read(RootDir(str(alias)).open("viaalias", os.O_RDONLY)) == "in"
    # a sibling whose name merely starts like the root is not inside
    (tmp_path / "root2").mkdir()
    (tmp_path / "root2" / "x").write_text("SECRET")
    (tree / "sibling").symlink_to(tmp_path / "root2" / "x")
    with pytest.raises(OSError) as info:
        root.open("sibling", os.O_RDONLY)
    assert info.value.errno == errno.EXDEV


def test_the_walk_leaks_no_descriptor(tree):
    before = len(os.listdir("/proc/self/fd"))
    fd = os.open(tree, os.O_PATH | os.O_DIRECTORY)
    try:
        for rel in [*OK, *FAIL]:
            try:
                os.close(walk_beneath(fd, (str(tree),), rel, os.O_RDONLY))
            except OSError:
                pass
    finally:
        os.close(fd)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_directory_swapped_for_a_symlink_never_opens_outside(root, tree):
    """The swap runs in a thread while the same path is opened again and again."""
    outside = tree.parent / "outdir"
    outside.mkdir()
    (outside / "f.txt").write_text("SECRET")
    sub, hidden = tree / "sub", tree / "sub.real"
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(sub, hidden)
            os.symlink(outside, sub)
            os.unlink(sub)
            os.rename(hidden, sub)

    thread = threading.Thread(target=swap)
    thread.start()
    seen: set[str] = set()
    try:
        for _ in range(3000):
            try:
                seen.add(_read(root.open("sub/f.txt", os.O_RDONLY)))
            except OSError as exc:
                assert exc.errno in (errno.ENOENT, errno.EXDEV, errno.ENOTDIR)  # mid-swap
    finally:
        stop.set()
        thread.join()
    assert "SECRET" not in seen
