"""BoundedCache: an LRU bounded by its number of entries."""

from __future__ import annotations

import random
from collections import OrderedDict

import pytest

from framework.bounded_cache import BoundedCache


def test_a_get_returns_what_was_put_and_none_for_a_missing_key() -> None:
    cache: BoundedCache[str, int] = BoundedCache(4)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("b") is None
    assert len(cache) == 1


def test_when_full_the_least_recently_used_entry_goes_not_all_of_them() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert cache.get("a") == 0  # "a" is now the most recent: "b" is the oldest
    cache.put("d", 3)
    assert "b" not in cache
    assert [cache.get(k) for k in "acd"] == [0, 2, 3]
    assert len(cache) == 3


def test_putting_an_existing_key_replaces_its_value_and_refreshes_it() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)  # "b" is now the oldest
    cache.put("c", 3)
    assert cache.get("a") == 10
    assert "b" not in cache


def test_pop_and_clear_forget_entries() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.pop("a") == 1
    assert cache.pop("a") is None
    cache.clear()
    assert len(cache) == 0 and cache.get("b") is None


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        BoundedCache(0)


def test_random_operations_match_a_reference_lru() -> None:
    rng = random.Random(7)
    cache: BoundedCache[int, int] = BoundedCache(16)
    model: OrderedDict[int, int] = OrderedDict()
    for step in range(20_000):
        key = rng.randrange(40)
        if rng.random() < 0.5:
            expected = model.get(key)
            if expected is not None:
                model.move_to_end(key)
            assert cache.get(key) == expected, step
        else:
            model[key] = step
            model.move_to_end(key)
            if len(model) > 16:
                model.popitem(last=False)
            cache.put(key, step)
        assert len(cache) == len(model)
