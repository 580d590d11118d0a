"""settle_heap: what a config load left in cycles is collected, the rest is frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from framework.server import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session keeps its usual collector


def test_settle_heap_collects_garbage_cycles_and_freezes_what_is_alive(thawed: None) -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    dead = weakref.ref(a)
    alive = _Node()
    del a, b
    settle_heap()
    assert dead() is None
    assert gc.get_freeze_count() > 0
    assert not any(obj is alive for obj in gc.get_objects())  # frozen: out of the GC's sight


def test_a_second_settle_thaws_first_so_cycles_frozen_earlier_are_collected(
    thawed: None,
) -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    dead = weakref.ref(a)
    settle_heap()  # the cycle is alive here: frozen
    del a, b
    settle_heap()
    assert dead() is None
