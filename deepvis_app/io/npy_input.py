"""`.npy` network inputs: an already-preprocessed float array, checked before it reaches the model.

`deepvis attribute x.npy` feeds the array without mean/std, so it must be what the network takes:
float, (C, H, W) or (1, C, H, W) with C the model's input channels, finite, and not larger than the
`max_image_pixels` setting allows for H x W. An array with more pixels than the network's input
(`size`) is fitted the way a large image is (centre-cropped to the input's aspect, area-resized),
so a 3x4000x4000 array costs its own 192 MB, not gigabytes of activations; a smaller one is fed as
it is. The shape and dtype are read from the file header before any data is loaded, so a file
claiming a huge array costs nothing. Problems are `ImageReadError`s naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepvis_app.io.decode import ImageReadError, path_problem, pixel_limit


def read_npy_input(path: str | os.PathLike, channels: int, max_pixels: int | None = None,
                   size: tuple[int, int] | None = None) -> np.ndarray:
    """The array in `path` as contiguous float32 (C, H, W), fitted to `size` (height, width) when it
    has more pixels; raises `ImageReadError`."""
    problem = path_problem(path)
    if problem is not None:
        raise ImageReadError.about(path, problem)
    dtype, full_shape, fortran, offset = _header(Path(path))
    shape = full_shape[1:] if len(full_shape) == 4 and full_shape[0] == 1 else full_shape
    if len(shape) != 3 or shape[0] != channels or not np.issubdtype(dtype, np.floating):
        raise ImageReadError.about(path, f"expected a float (C,H,W) array (or (1,C,H,W)) with C={channels}, "
                                         f"got {dtype} {full_shape}")
    limit = pixel_limit(max_pixels)
    if shape[1] * shape[2] > limit:
        raise ImageReadError.about(path, f"array too large: {shape[1]}x{shape[2]} = {shape[1] * shape[2] / 1e6:.1f} "
                                         f"megapixels, over the max_image_pixels setting ({limit / 1e6:g} MP)")
    try:
        channels_read = _planes(Path(path), dtype, full_shape, shape, fortran, offset)
        planes = [_fitted_plane(plane, size) for plane in channels_read]
    except MemoryError:
        raise ImageReadError.about(path, f"not enough memory to read a {dtype} {'x'.join(map(str, shape))} array"
                                         ) from None
    bad = sum(count for _, count in planes)
    if bad:
        raise ImageReadError.about(path, f"contains {bad} NaN or infinite value{'s' if bad != 1 else ''}; "
                                         "inputs must be finite")
    return np.ascontiguousarray(np.stack([plane for plane, _ in planes]), dtype=np.float32)


def _planes(path: Path, dtype: np.dtype, full_shape: tuple[int, ...], shape: tuple[int, ...], fortran: bool,
            offset: int):
    """The array's (H, W) channels one at a time: read from the file one by one, so a large array never
    needs more than one channel's memory before it is fitted (a Fortran-order file is read whole)."""
    if fortran:
        try:
            whole = np.load(path, allow_pickle=False).reshape(shape)
        except (ValueError, OSError, EOFError) as exc:  # the data part is truncated
            raise ImageReadError.about(path, f"not a readable .npy file ({_short(exc)})") from None
        yield from whole
        return
    count = shape[1] * shape[2]
    with open(path, "rb") as handle:
        for channel in range(shape[0]):
            handle.seek(offset + channel * count * dtype.itemsize)
            plane = np.fromfile(handle, dtype=dtype, count=count)
            if plane.size != count:
                raise ImageReadError.about(path, f"not a readable .npy file (truncated: {full_shape} {dtype} "
                                                 "needs more data)")
            yield plane.reshape(shape[1:])


def _fitted_plane(plane: np.ndarray, size: tuple[int, int] | None) -> tuple[np.ndarray, int]:
    """(the channel as float32, fitted to `size` when it has more pixels; its count of non-finite values)."""
    bad = int(np.count_nonzero(~np.isfinite(plane)))
    plane = plane.astype(np.float32, copy=False)
    if bad or size is None or plane.shape[0] * plane.shape[1] <= size[0] * size[1]:
        return np.ascontiguousarray(plane), bad
    return fit_array(plane[None], size)[0], 0


def fit_array(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (C, H, W) float32 array centre-cropped to the aspect of `size` and area-resized to it, as
    `Preprocessor.fit_frame` fits a large image."""
    import cv2

    height, width = size
    rows, cols = array.shape[1:]
    if cols * height > rows * width:   # too wide: crop columns
        keep = max(1, round(rows * width / height))
        array = array[:, :, (cols - keep) // 2:(cols - keep) // 2 + keep]
    else:
        keep = max(1, round(cols * height / width))
        array = array[:, (rows - keep) // 2:(rows - keep) // 2 + keep]
    planes = [cv2.resize(np.ascontiguousarray(plane), (width, height), interpolation=cv2.INTER_AREA)
              for plane in array]
    return np.ascontiguousarray(np.stack(planes), dtype=np.float32)


def _header(path: Path) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """dtype, shape, Fortran order and the data's offset, from the .npy header (no data is read)."""
    from numpy.lib import format as npy_format

    readers = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
            if magic[:4] == b"PK\x03\x04":
                raise ImageReadError.about(path, "an .npz archive, not a single .npy array")
            if magic != b"\x93NUMPY":
                raise ImageReadError.about(path, "not a .npy file (no NUMPY header)")
            handle.seek(0)
            version = npy_format.read_magic(handle)
            if version not in readers:
                raise ImageReadError.about(path, f"unsupported .npy format version {version}")
            shape, fortran, dtype = readers[version](handle)
            offset = handle.tell()
    except ImageReadError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ImageReadError.about(path, f"not a readable .npy file ({_short(exc)})") from None
    return dtype, tuple(int(n) for n in shape), bool(fortran), offset


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]
