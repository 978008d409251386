"""Still images from bytes to pixels: the one decoder, with the checks hostile files need.

Why a module of its own: a 7 KB JPEG can claim 32768x32768 pixels (6.8 GiB once decoded), a
mutated header makes decoders raise their own exception types or write to stderr, and a phone
photo is stored sideways with an EXIF tag saying so. Every still image deepvis reads (command
line, the window's input list, find-max and crops) comes through `decode_image_file` or
`decode_image_bytes`, which

- reject paths that are folders, symbolic link loops, FIFOs or devices, saying which;
- read the size from the header (Pillow opens lazily) and refuse more than `max_pixels` (the
  `max_image_pixels` setting) before a single pixel is decoded;
- decode with Pillow, limited to the formats deepvis lists (no Ghostscript for EPS and the like);
- apply the EXIF orientation;
- turn every decoder failure into `ImageReadError`: one line naming the file and the problem.

Pillow's own decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`, a process-wide value that
other Pillow users such as skimage's sample loader rely on) is lifted only while our header is
parsed (under a lock) and then restored, so that our check, which names the size and the setting,
is the one that speaks. Pillow's warnings about damaged files and
libtiff's messages ("ZIPDecode: Decoding error at scanline 0", "TIFFFetchDirectory: ...") are not
printed, and Pillow's log records go to our log at debug level (see `_quiet_pillow`,
`_quiet_libtiff`): the file either decodes or becomes an ImageReadError whose message says why.
"""

from __future__ import annotations

import ctypes
import errno
import io
import logging
import os
import stat
import threading
import warnings
from pathlib import Path
from typing import IO

import numpy as np

from deepvis_app.errors import DeepvisError
from deepvis_app.settings.defaults import Settings

log = logging.getLogger("deepvis.io.decode")

DEFAULT_MAX_PIXELS: int = Settings.max_image_pixels
# Formats Pillow may use; everything else (EPS runs Ghostscript, PSD, ICO, ...) is "unknown format".
PIL_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "DIB", "GIF", "PPM")
_OPEN_LOCK = threading.Lock()
_LIBTIFF_QUIET: list[bool] = []  # non-empty once libtiff's handlers were cleared
_PILLOW_MODULES = r"PIL(\.|$)"
_WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})  # more than 8 bits per pixel, gray


class ImageReadError(DeepvisError, OSError):
    """An image (or input array) file that cannot be read; the message names the file and why."""

    path: str | None = None
    problem: str | None = None

    @classmethod
    def about(cls, path: str | os.PathLike, problem: str) -> ImageReadError:
        """`path: problem`, with both kept as attributes (find-max lists the problem per file)."""
        error = cls(f"{path}: {problem}")
        error.path, error.problem = str(path), problem
        return error


def path_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be opened as a file ("no such file", "is a folder", "symbolic link loop",
    ...), or None for an existing regular file."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ENOENT and path.is_symlink():
            return f"broken symbolic link (to {os.readlink(path)})"
        return _os_problem(exc)
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    return None


def _os_problem(exc: OSError) -> str:
    known = {errno.ENOENT: "no such file", errno.ELOOP: "symbolic link loop", errno.EACCES: "permission denied",
             errno.ENOTDIR: "no such file (a part of the path is not a folder)", errno.EISDIR: "is a folder",
             errno.ENAMETOOLONG: "file name too long"}
    return known.get(exc.errno or 0, exc.strerror or str(exc))


def decode_image_file(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """The image at `path` as an HxW, HxWx3 or HxWx4 array (uint8; uint16/int32/float32 for wide
    modes), EXIF orientation applied. Raises `ImageReadError` for anything else."""
    problem = path_problem(path)
    if problem is not None:
        raise ImageReadError.about(path, problem)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ImageReadError.about(path, _os_problem(exc)) from None
    with handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise ImageReadError.about(path, "empty file")
        return _decode(handle, str(path), max_pixels)


def decode_image_bytes(data: bytes, name: str = "<bytes>", max_pixels: int | None = None) -> np.ndarray:
    """Like `decode_image_file`, for encoded bytes in memory; `name` is used in messages."""
    if not data:
        raise ImageReadError.about(name, "empty file")
    return _decode(io.BytesIO(data), name, max_pixels)


def pixel_limit(max_pixels: int | None) -> int:
    """`max_pixels`, or the `max_image_pixels` default when None; at least 1."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else int(max_pixels)
    if limit < 1:
        raise ImageReadError(f"max_image_pixels must be at least 1, got {limit}")
    return limit


def too_large(name: str, width: int, height: int, limit: int) -> ImageReadError:
    """The one message for an image over the pixel limit."""
    return ImageReadError.about(name, f"image too large: {width}x{height} = {width * height / 1e6:.1f} megapixels, "
                                      f"over the max_image_pixels setting ({limit / 1e6:g} MP); "
                                      "raise it (--set max_image_pixels=N) to read this image")


def _decode(handle: IO[bytes], name: str, max_pixels: int | None) -> np.ndarray:
    limit = pixel_limit(max_pixels)
    _quiet_pillow()
    _quiet_libtiff()
    try:
        image = _open_header(handle)
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise ImageReadError.about(name, _decoder_problem(exc)) from exc
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageReadError.about(name, f"image has no pixels ({width}x{height})")
        if width * height > limit:
            raise too_large(name, width, height, limit)
        try:
            image.load()
            return _to_array(_exif_upright(image, name))
        except MemoryError:
            raise ImageReadError.about(name, f"not enough memory to decode {width}x{height} pixels") from None
        except Exception as exc:  # every decoder failure is a read error, whatever its type
            raise ImageReadError.about(name, _decoder_problem(exc)) from exc


class _PillowToOurLog(logging.Handler):
    """Pillow's log records ("More samples per pixel than can be decoded: 62979", at ERROR) become
    debug lines of our log: the file's problem is already reported as an ImageReadError."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("Pillow: %s", record.getMessage())


def _quiet_pillow() -> None:
    """Pillow's warnings about damaged files (corrupt EXIF, truncated metadata) are not printed, and
    its log records go to our log at debug level: the file either decodes or becomes an
    ImageReadError. The warnings filter concerns Pillow's modules only; it is added once (and again
    if something reset the filters, as pytest does per test); thread-safe, unlike
    `warnings.catch_warnings`."""
    if not any(f[0] == "ignore" and f[3] is not None and f[3].pattern == _PILLOW_MODULES for f in warnings.filters):
        warnings.filterwarnings("ignore", module=_PILLOW_MODULES)
    pillow_log = logging.getLogger("PIL")
    if not any(isinstance(handler, _PillowToOurLog) for handler in pillow_log.handlers):
        pillow_log.addHandler(_PillowToOurLog())
        pillow_log.propagate = False


def _quiet_libtiff() -> None:
    """Clear libtiff's process-wide error and warning handlers, which print to stderr (Pillow decodes
    compressed TIFF with libtiff and does not set them). Found through Pillow's own extension, so it
    is the libtiff Pillow uses; where that lookup fails (e.g. Windows) the messages stay."""
    if _LIBTIFF_QUIET:
        return
    with _OPEN_LOCK:
        if _LIBTIFF_QUIET:
            return
        try:
            from PIL import _imaging

            lib = ctypes.CDLL(_imaging.__file__)
            for name in ("TIFFSetErrorHandler", "TIFFSetWarningHandler"):
                setter = getattr(lib, name)
                setter.restype, setter.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
                setter(None)
        except (OSError, AttributeError) as exc:
            log.debug("libtiff messages stay on stderr: %s", exc)
        _LIBTIFF_QUIET.append(True)


def _open_header(handle: IO[bytes]):
    """Pillow's lazy open (header only); its own bomb check is lifted meanwhile so ours speaks."""
    from PIL import Image

    with _OPEN_LOCK:
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(handle, formats=PIL_FORMATS)
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _decoder_problem(exc: Exception) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return ("not a readable image (unknown format or damaged header; deepvis reads JPEG, PNG, WebP, TIFF, "
                "BMP, GIF and PPM)")
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large ({exc})"
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"not a readable image (damaged or truncated: {text})"


def _exif_upright(image, name: str):
    """The image turned as its EXIF orientation tag says (a no-op without one)."""
    from PIL import ImageOps

    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception as exc:  # a damaged EXIF block costs the orientation, not the image
        log.debug("%s: EXIF unreadable (%s), orientation ignored", name, exc, exc_info=True)
        return image
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(image)
    return image


def _to_array(image) -> np.ndarray:
    """Pixels as numpy: L/RGB/RGBA as uint8, wide gray modes as they are, everything else RGB."""
    mode = image.mode
    if mode in _WIDE_MODES:
        array = np.asarray(image)
        return np.clip(array, 0, 65535).astype(np.uint16) if mode == "I" else array.astype(np.uint16)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB")
    return np.asarray(image)
