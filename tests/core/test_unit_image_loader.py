"""UnitImageLoader: background loads through the cache, latest request wins, clean shutdown."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from deepvis_app.core.app.unit_image_loader import UnitImageLoader, sprite_key
from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.unitvis.store.unit_layout import UNIT_IMAGE_KINDS, UnitImages, UnitVisLayout

DEADLINE_S = 10.0


def wait_until(predicate, timeout: float = DEADLINE_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(0.005)
    pytest.fail(f"condition not met within {timeout} s")


def cv2_rgb(path) -> np.ndarray:
    """Independent reference reader (cv2 straight, not deepvis's read_image)."""
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]


@pytest.fixture
def layout(tmp_path) -> UnitVisLayout:
    layout = UnitVisLayout(tmp_path / "unit_vis")
    rng = np.random.default_rng(0)
    for kind in UNIT_IMAGE_KINDS:
        layout.write_unit_image(kind, "conv1", 3, rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    layout.write_unit_image("max_im", "conv1", 4, rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    return layout


@pytest.fixture
def make_loader():
    """UnitImageLoader factory: closes every loader and fails on threads left running."""
    before = set(threading.enumerate())
    loaders: list[UnitImageLoader] = []

    def make(*args, **kwargs) -> UnitImageLoader:
        loaders.append(UnitImageLoader(*args, **kwargs))
        return loaders[-1]

    yield make
    for loader in loaders:
        loader.close()
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, f"threads left running after close(): {leaked}"


def test_loads_in_background_then_answers_from_cache(make_loader, layout):
    ready: list = []
    loader = make_loader(layout, ByteLRUCache(10**6), on_ready=ready.append)
    assert loader.request("conv1", 3) is None
    wait_until(lambda: ("conv1", 3) in ready or None)
    images = loader.request("conv1", 3)
    for kind in UNIT_IMAGE_KINDS:
        np.testing.assert_array_equal(getattr(images, kind), cv2_rgb(layout.unit_image(kind, "conv1", 3)))
    assert loader.cache.nbytes == 3 * 16 * 24 * 3


def test_partial_unit_has_only_what_is_on_disk(make_loader, layout):
    loader = make_loader(layout, ByteLRUCache(10**6), synchronous=True)
    images = loader.request("conv1", 4)
    assert [kind for kind, _ in images.present()] == ["max_im"]


def test_missing_unit_is_cached_as_empty_and_not_reloaded(make_loader, layout):
    loader = make_loader(layout, ByteLRUCache(10**6))
    loader.request("conv2", 0)
    empty = wait_until(lambda: loader.request("conv2", 0))
    assert empty.present() == []
    layout.write_unit_image("max_im", "conv2", 0, np.zeros((4, 4, 3), np.uint8))
    assert loader.request("conv2", 0).present() == []  # answered from the cache, not the disk


def test_compute_fallback_runs_in_the_loader_thread(make_loader, layout):
    made = np.full((8, 8, 3), 9, dtype=np.uint8)
    threads: list[str] = []

    def compute(layer: str, unit: int) -> UnitImages | None:
        threads.append(threading.current_thread().name)
        return UnitImages(made, None, None) if unit == 1 else None

    loader = make_loader(layout, ByteLRUCache(10**6), compute=compute)
    loader.request("fc", 1)
    images = wait_until(lambda: loader.request("fc", 1))
    np.testing.assert_array_equal(images.regularized_opt, made)
    loader.request("fc", 2)
    assert wait_until(lambda: loader.request("fc", 2)).present() == []
    loader.request("conv1", 3)  # on disk: compute is not called
    wait_until(lambda: loader.request("conv1", 3))
    assert threads == ["deepvis-unit-images"] * 2


def test_failing_compute_becomes_a_message(make_loader, layout):
    def compute(layer: str, unit: int) -> UnitImages | None:
        raise RuntimeError("no model")

    loader = make_loader(layout, ByteLRUCache(10**6), compute=compute)
    loader.request("fc", 5)
    assert wait_until(lambda: loader.request("fc", 5)).present() == []
    assert any("fc:5" in m and "no model" in m for m in loader.pop_messages())


def test_failing_on_ready_does_not_stop_the_loader(make_loader, layout):
    def on_ready(key) -> None:
        raise RuntimeError("bad slot")

    loader = make_loader(layout, ByteLRUCache(10**6), on_ready=on_ready)
    loader.request("conv1", 3)
    wait_until(lambda: loader.request("conv1", 3))
    loader.request("conv1", 4)
    assert wait_until(lambda: loader.request("conv1", 4)).max_im is not None
    assert any("bad slot" in m for m in loader.pop_messages())


def test_latest_request_wins(make_loader, layout):
    release = threading.Event()
    calls: list[tuple[str, int]] = []

    def compute(layer: str, unit: int) -> UnitImages | None:
        calls.append((layer, unit))
        release.wait(DEADLINE_S)
        return None

    loader = make_loader(layout, ByteLRUCache(10**6), compute=compute)
    loader.request("fc", 0)
    wait_until(lambda: calls or None)  # the thread is busy with unit 0
    for unit in range(1, 6):
        loader.request("fc", unit)
    release.set()
    wait_until(lambda: loader.request("fc", 5))
    assert calls == [("fc", 0), ("fc", 5)]


def test_cache_budget_evicts_old_units(make_loader, layout):
    loader = make_loader(layout, ByteLRUCache(3 * 16 * 24 * 3), synchronous=True)
    loader.request("conv1", 3)
    loader.request("conv1", 4)
    assert ("conv1", 3) not in loader.cache and ("conv1", 4) in loader.cache


def test_sprite_tiles(make_loader, tmp_path):
    layout = UnitVisLayout(tmp_path)
    tiles = [np.full((8, 8, 3), 40 + 30 * i, dtype=np.uint8) for i in range(5)]
    layout.write_sprite("conv1", tiles)
    ready: list = []
    loader = make_loader(layout, ByteLRUCache(10**6), on_ready=ready.append)
    assert loader.request_sprite("conv1", 5) is None
    wait_until(lambda: sprite_key("conv1", 5) in ready or None)
    loaded = loader.request_sprite("conv1", 5)
    assert len(loaded) == 5
    for got, want in zip(loaded, tiles, strict=True):
        assert got.shape == want.shape and np.abs(got.astype(int) - want).mean() < 3  # JPEG
    loader.request_sprite("fc", 10)
    assert wait_until(lambda: loader.request_sprite("fc", 10)) == []


def test_black_sprite_tiles_are_units_without_an_image(make_loader, tmp_path):
    """The pipeline fills units it did not optimize with black: those come back as None."""
    layout = UnitVisLayout(tmp_path)
    tiles = [np.full((8, 8, 3), 120, dtype=np.uint8), np.zeros((8, 8, 3), np.uint8),
             np.full((8, 8, 3), 200, dtype=np.uint8)]
    layout.write_sprite("conv1", tiles)
    loader = make_loader(layout, ByteLRUCache(10**6), synchronous=True)
    loaded = loader.request_sprite("conv1", 3)
    assert loaded[1] is None and loaded[0] is not None and loaded[2] is not None


def test_no_thread_before_start(layout):
    before = set(threading.enumerate())
    loader = UnitImageLoader(layout, ByteLRUCache(10**6))
    assert set(threading.enumerate()) - before == set()
    loader.start()
    assert len(set(threading.enumerate()) - before) == 1
    loader.close()


def test_close_joins_and_later_requests_do_not_restart(layout):
    before = set(threading.enumerate())
    loader = UnitImageLoader(layout, ByteLRUCache(10**6))
    loader.start()
    assert len(set(threading.enumerate()) - before) == 1
    loader.close()
    loader.close()
    assert loader.request("conv1", 3) is None
    assert {t for t in set(threading.enumerate()) - before if t.is_alive()} == set()
