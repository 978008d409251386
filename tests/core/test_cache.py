"""ByteLRUCache: eviction by bytes in least-recently-used order, thread safety."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.unitvis.store.unit_layout import UnitImages


def block(nbytes: int, fill: int = 0) -> np.ndarray:
    return np.full(nbytes, fill, dtype=np.uint8)


def test_evicts_least_recently_used_by_bytes():
    cache = ByteLRUCache(1000)
    cache.put("a", block(400))
    cache.put("b", block(400))
    assert cache.nbytes == 800 and len(cache) == 2
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", block(400))  # 1200 > 1000: b (least recent) goes, not a (FIFO would drop a)
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.nbytes == 800
    cache.put("d", block(900))  # needs 900: evicts a, then c
    assert cache.keys() == ["d"] and cache.nbytes == 900


def test_replacing_a_key_updates_bytes():
    cache = ByteLRUCache(1000)
    cache.put("a", block(300))
    cache.put("a", block(700, fill=7))
    assert cache.nbytes == 700 and len(cache) == 1 and cache.get("a")[0] == 7


def test_value_larger_than_budget_is_not_stored_and_drops_old_value():
    cache = ByteLRUCache(100)
    cache.put("small", block(10))
    cache.put("a", block(50))
    cache.put("a", block(101))
    assert "a" not in cache and cache.nbytes == 10 and cache.get("a", "default") == "default"


def test_objects_with_nbytes_and_zero_byte_sentinels():
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    cache = ByteLRUCache(1000)
    cache.put(("conv1", 0), UnitImages(image, image, None))
    cache.put(("conv1", 1), UnitImages(None, None, None))  # "not found": 0 bytes
    assert cache.nbytes == 600 and len(cache) == 2
    assert cache.get(("conv1", 1)) is not None


def test_contains_does_not_refresh_and_clear_empties():
    cache = ByteLRUCache(200)
    cache.put("a", block(100))
    cache.put("b", block(100))
    assert "a" in cache  # does not count as a use
    cache.put("c", block(100))
    assert "a" not in cache
    assert cache.pop("b").nbytes == 100 and cache.nbytes == 100
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


def test_negative_budget_is_rejected():
    with pytest.raises(ValueError, match="max_bytes"):
        ByteLRUCache(-1)


def test_concurrent_use_keeps_the_byte_count_exact():
    cache = ByteLRUCache(5000)
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(2000):
                key = rng.randrange(40)
                if rng.random() < 0.5:
                    cache.put(key, block(rng.randrange(1, 600)))
                else:
                    cache.get(key)
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not any(t.is_alive() for t in threads)
    stored = [cache.get(key) for key in cache.keys()]
    assert cache.nbytes == sum(value.nbytes for value in stored) <= 5000
