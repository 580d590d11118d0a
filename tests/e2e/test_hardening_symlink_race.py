"""A directory swapped for a symlink to outside, over and over, while requests run: no byte
of the outside files is ever served or listed, nothing is created or removed outside the
upload store (issue 9, item 4). Containment is decided at each open, not remembered."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from framework.testing import ServerProcess

CONFIG = """
event_loop {loop};
server {
    listen 127.0.0.1:{port};
    root www;
    autoindex on;
    allow_methods GET HEAD DELETE;
    location /upload {
        upload_store www/upload;
        allow_methods GET PUT DELETE;
    }
}
"""

INSIDE_SMALL = b"inside\n" * 10
OUTSIDE_SMALL = b"SECRET\n" * 10  # same size: a cache keyed on size and time would not see it
BIG = 100_000  # sendfile path (above the small-file cache's limit)
ROUNDS = 400


def _settle(*paths: Path) -> None:
    # old enough to be cached by the small-file cache (which skips recently written files)
    for path in paths:
        os.utime(path, (1_600_000_000, 1_600_000_000))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    www, outside = tmp_path / "www", tmp_path / "outside"
    (www / "d").mkdir(parents=True)
    (www / "upload" / "sub").mkdir(parents=True)
    outside.mkdir()
    (www / "d" / "f.txt").write_bytes(INSIDE_SMALL)
    (www / "d" / "big.bin").write_bytes(b"i" * BIG)
    (outside / "f.txt").write_bytes(OUTSIDE_SMALL)
    (outside / "big.bin").write_bytes(b"S" * BIG)
    (outside / "only-outside.txt").write_bytes(b"x")
    (outside / "victim.txt").write_bytes(b"must survive")
    _settle(*(www / "d").iterdir(), *outside.iterdir())
    return tmp_path


def _swap(real: Path, link_target: Path, stop: threading.Event) -> Iterator[None]:
    """Swap ``real`` (a directory) with a symlink to ``link_target`` until ``stop``."""
    hidden = real.with_name(real.name + ".real")
    swaps = 0
    while not stop.is_set() or swaps < 2:
        os.rename(real, hidden)
        os.symlink(link_target, real)
        yield
        os.unlink(real)
        os.rename(hidden, real)
        swaps += 1
        yield


@contextlib.contextmanager
def swapping(pairs: list[tuple[Path, Path]]) -> Iterator[Callable[[], int]]:
    stop = threading.Event()
    count = [0]

    def run() -> None:
        swappers = [_swap(real, target, stop) for real, target in pairs]
        while True:
            for swapper in swappers:
                if next(swapper, StopIteration) is StopIteration:
                    return
            count[0] += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield lambda: count[0]
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_swapping_a_directory_for_a_symlink_never_leaks_outside(serve, tree: Path, loop: str):
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    www, outside = tree / "www", tree / "outside"
    srv: ServerProcess = serve(CONFIG.replace("{loop}", loop), cwd=tree)
    failures: list[str] = []
    statuses: dict[int, int] = {}

    def check(label: str, ok: bool) -> None:
        if not ok:
            failures.append(label)

    def getter(path: str, inside: bytes) -> None:
        with srv.client() as client:
            for _ in range(ROUNDS):
                r = client.get(path)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                check(f"GET {path} served outside bytes", b"S" not in r.body)
                if r.status == 200:
                    check(f"GET {path} body", r.body == inside)

    def lister() -> None:
        with srv.client() as client:
            for _ in range(ROUNDS // 2):
                r = client.get("/d/")
                check("autoindex listed the outside directory", b"only-outside" not in r.body)

    def uploader() -> None:
        with srv.client() as client:
            for i in range(ROUNDS // 2):
                client.request("PUT", f"/upload/sub/p{i}.txt", b"uploaded")
                client.request("DELETE", "/upload/sub/victim.txt")  # the upload handler
                client.request("DELETE", "/d/victim.txt")  # the static handler

    with swapping([(www / "d", outside), (www / "upload" / "sub", outside)]) as swaps:
        workers = [
            threading.Thread(target=getter, args=("/d/f.txt", INSIDE_SMALL)),
            threading.Thread(target=getter, args=("/d/big.bin", b"i" * BIG)),
            threading.Thread(target=lister),
            threading.Thread(target=uploader),
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert swaps() > 0
    assert not failures, sorted(set(failures))
    assert statuses.get(200, 0) > 0  # the race really ran against a serving directory
    assert sorted(p.name for p in outside.iterdir()) == [
        "big.bin",
        "f.txt",
        "only-outside.txt",
        "victim.txt",
    ]  # nothing created (no upload, no temp file), nothing removed outside
    assert (outside / "f.txt").read_bytes() == OUTSIDE_SMALL
