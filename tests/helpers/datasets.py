"""Image folders and videos the tests write: a find-max dataset with ties and a broken file, and
MJPG clips of known frames (decodable or garbled), and a progress callback that kills a scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers.models import FIND_MAX_SIZE


def make_dataset(root: Path, count: int = 23, seed: int = 0) -> Path:
    """Random FIND_MAX_SIZE images (several exact duplicates, to force ties), one nested folder, one
    broken file."""
    from deepvis_app.io.images import write_image

    rng = np.random.default_rng(seed)
    height, width = FIND_MAX_SIZE
    images = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count - 4)]
    images += images[:4]  # duplicates: equal values, broken by image index
    for index, image in enumerate(images):
        folder = root / ("nested" if index % 3 == 0 else "")
        write_image(folder / f"img_{index:03d}.png", image)
    (root / "broken.png").write_bytes(b"not an image")
    return root


def write_video(path: Path, frames: int = 12, fps: float = 60.0) -> Path:
    """An MJPG clip whose frame i is a uniform gray of 20 * i (RGB = BGR for gray)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((24, 32, 3), 20 * i, dtype=np.uint8))
    writer.release()
    return path


def write_undecodable_video(path: Path) -> Path:
    """A video whose header OpenCV accepts but whose frames do not decode (data garbled)."""
    import cv2

    data = bytearray(write_video(path, frames=8).read_bytes())
    for i in range(400, len(data) - 200):
        data[i] = (data[i] * 7 + 3) % 256
    path.write_bytes(bytes(data))
    capture = cv2.VideoCapture(str(path))
    opened, decoded = capture.isOpened(), capture.isOpened() and capture.read()[0]
    capture.release()
    assert opened and not decoded, "precondition: OpenCV opens the file but decodes no frame"
    return path


class Killed(Exception):
    """Stands for a scan killed mid-way (raised from its progress callback)."""


def kill_after(batches: int):
    """A find-max progress callback that raises `Killed` once ``batches`` batches are done."""
    def progress(done, _total, _images):
        if done == batches:
            raise Killed
    return progress
