"""A byte-limited, thread-safe LRU cache for per-unit images.

Per-unit images of a whole model run to gigabytes (the original measured ~1.6 GB for all of
CaffeNet's layers), so the app keeps only a byte budget of them in memory. The loader thread
fills the cache while the UI thread reads it, hence the lock. Unlike the original's FIFO cache,
a hit moves the entry to the back, so units the user keeps returning to stay.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


def size_of(value: Any) -> int:
    """Bytes a value holds: its `.nbytes` (numpy arrays, UnitImages, ...), else 0."""
    return int(getattr(value, "nbytes", 0))


class ByteLRUCache:
    """Least-recently-used eviction once the values' total `nbytes` exceeds `max_bytes`.

    A value larger than the whole budget is not stored (storing it would evict everything
    else and then itself). Values without `.nbytes` count as 0 bytes.
    """

    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.RLock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for `key` (marking it most recently used), or `default`."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return default
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Store `value`, then evict least-recently-used entries until within budget."""
        size = size_of(value)
        with self._lock:
            self._discard(key)
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self._nbytes += size
            while self._nbytes > self.max_bytes:
                self._discard(next(iter(self._items)))

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            item = self._items.get(key)
            self._discard(key)
            return default if item is None else item[0]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._nbytes = 0

    @property
    def nbytes(self) -> int:
        """Total bytes of the stored values."""
        with self._lock:
            return self._nbytes

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _discard(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._nbytes -= item[1]
