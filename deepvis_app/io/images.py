"""Reading and writing image files, and the built-in sample images: the API the rest of deepvis uses.

Bad input must never crash the app or eat its memory: every failure here is an `ImageReadError`
(a `DeepvisError`) whose message names the file and the problem, so the command line prints one
line, the window shows it in the status bar and find-max lists the file and moves on. Decoding
itself (pixel limit from the header, EXIF orientation, Pillow) lives in `io.decode`; `.npy`
network inputs in `io.npy_input`. Writes are atomic: a temp file beside the target, then a rename.

The sample images come from `skimage.data` (on disk, no download): `SAMPLE_NAMES` are the ones
the window cycles through by default, `SAMPLE_SET_NAMES` the larger offline folder that the
shipped per-unit images and the find-max benchmark scan (`core.unitvis.sample_set`). One loader,
`sample_image`, serves both.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from deepvis_app.io.decode import ImageReadError, decode_image_file, path_problem
from deepvis_app.io.image_arrays import as_rgb_uint8
from deepvis_app.io.opencv import import_cv2

__all__ = ["IMAGE_SUFFIXES", "SAMPLE_NAMES", "SAMPLE_SET_NAMES", "ImageReadError", "list_image_files",
           "load_input", "path_problem", "read_image", "sample_image", "write_bytes_atomic", "write_image"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
SAMPLE_PREFIX = "sample:"
# Shown by the window when no input is given (and accepted as `sample:<name>`).
SAMPLE_NAMES = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left", "cat", "hubble_deep_field")
# The offline image folder of `core.unitvis.sample_set` (its file names are `<name>_<variant>.jpg`).
SAMPLE_SET_NAMES = ("astronaut", "cat", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "rocket",
                    "retina", "stereo_motorcycle", "colorwheel", "logo", "camera", "coins", "moon", "page", "text",
                    "clock", "grass", "gravel", "brick", "horse", "checkerboard")
# Sample names that are not skimage.data function names: the left view of the stereo pair.
_SKIMAGE_NAMES = {"motorcycle_left": "stereo_motorcycle"}


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (gray expanded, alpha dropped, 16-bit reduced, EXIF
    orientation applied). `max_pixels`: the `max_image_pixels` setting (None: its default)."""
    return as_rgb_uint8(decode_image_file(path, max_pixels))


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 92) -> None:
    """Write an RGB image atomically (temp file in the same folder, then rename)."""
    cv2 = import_cv2()
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
    """A sample image (any of SAMPLE_NAMES or SAMPLE_SET_NAMES) as HxWx3 uint8: stereo pairs give the
    left view, binary masks 0/255."""
    from skimage import data

    if name not in SAMPLE_NAMES and name not in SAMPLE_SET_NAMES:
        raise ImageReadError.about(f"{SAMPLE_PREFIX}{name}",
                                   f"unknown sample image (known: {', '.join(SAMPLE_NAMES)})")
    image = getattr(data, _SKIMAGE_NAMES.get(name, name))()
    if name in ("motorcycle_left", "stereo_motorcycle"):
        image = image[0]
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    return as_rgb_uint8(image)


def list_image_files(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files in a folder, sorted by path."""
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_input(spec: str, max_pixels: int | None = None) -> np.ndarray:
    """An image from a path or `sample:<name>` (how the CLI names built-in images); `max_pixels` as
    for `read_image`."""
    if spec.startswith(SAMPLE_PREFIX):
        return sample_image(spec.split(":", 1)[1])
    return read_image(spec, max_pixels)

