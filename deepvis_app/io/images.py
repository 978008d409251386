"""Reading images from disk and the built-in sample images, with errors that name the file.

Bad input must never crash the app: every failure here is an `ImageReadError` whose message
names the file and the problem, so the GUI can show it in the status bar and move on.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from deepvis_app.core.preprocess import as_rgb_uint8

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
SAMPLE_NAMES = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left", "cat", "hubble_deep_field")


class ImageReadError(OSError):
    """An image file that cannot be read; the message names the file and why."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (gray expanded, alpha dropped, 16-bit reduced)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageReadError(f"{path}: not a readable image (empty, truncated or unknown format)")
    if image.ndim == 3 and image.shape[2] >= 3:
        image = image[:, :, [2, 1, 0]] if image.shape[2] == 3 else image[:, :, [2, 1, 0, 3]]
    return as_rgb_uint8(image)


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 92) -> None:
    """Write an RGB image atomically (temp file in the same folder, then rename)."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = as_rgb_uint8(image)
    suffix = path.suffix.lower() or ".png"
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix in (".jpg", ".jpeg") else []
    ok, encoded = cv2.imencode(suffix, rgb[:, :, ::-1], params)
    if not ok:
        raise OSError(f"{path}: could not encode image as {suffix}")
    write_bytes_atomic(path, encoded.tobytes())


def write_bytes_atomic(path: str | os.PathLike, payload: bytes) -> None:
    """Write bytes to a temp file beside `path`, then rename over it: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600 files; keep the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sample_image(name: str) -> np.ndarray:
    """One of skimage.data's images (all on disk, no download) as HxWx3 uint8."""
    from skimage import data

    if name == "motorcycle_left":  # the left view of skimage's stereo pair
        return as_rgb_uint8(data.stereo_motorcycle()[0])
    loader = getattr(data, name, None)
    if loader is None or name not in SAMPLE_NAMES:
        raise ImageReadError(f"sample:{name}: unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
    return as_rgb_uint8(loader())


def list_image_files(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files in a folder, sorted by path."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_input(spec: str) -> np.ndarray:
    """An image from a path or `sample:<name>` (how the CLI names built-in images)."""
    if spec.startswith("sample:"):
        return sample_image(spec.split(":", 1)[1])
    return read_image(spec)
