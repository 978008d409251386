"""The image reader against the files of issue 8: too big, broken, odd, sideways; and its paths."""

from __future__ import annotations

import dataclasses
import io
import os
import time

import numpy as np
import pytest
from PIL import Image

from deepvis_app.errors import DeepvisError
from deepvis_app.io.decode import ImageReadError, decode_image_bytes
from deepvis_app.io.images import SAMPLE_NAMES, SAMPLE_SET_NAMES, load_input, read_image, sample_image, write_image
from deepvis_app.io.playlist import entries_from_paths
from deepvis_app.io.sources import InputManager
from deepvis_app.settings.defaults import Settings
from tests.helpers.hostile_images import jpeg_claiming, png_bytes, write


def test_read_error_is_ours_and_an_os_error():
    assert issubclass(ImageReadError, DeepvisError) and issubclass(ImageReadError, OSError)


@pytest.mark.parametrize("name, data, size", [
    ("claims.jpg", lambda: jpeg_claiming(32768, 32768), "32768x32768"),        # 7 KB -> 6.8 GiB before
    ("over_opencv.png", lambda: png_bytes(65536, 65536, rows=0), "65536x65536"),  # raw cv2.error before
    ("real_64mp.png", lambda: png_bytes(8000, 8000), "8000x8000"),            # a valid PNG over 50 MP
])
def test_too_many_pixels_is_refused_from_the_header(tmp_path, name, data, size):
    path = write(tmp_path / name, data())
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and size in message and "max_image_pixels" in message
    assert "\n" not in message


def test_the_limit_is_the_setting(tmp_path):
    path = tmp_path / "small.png"
    write_image(path, np.zeros((40, 50, 3), np.uint8))
    assert read_image(path, max_pixels=2000).shape == (40, 50, 3)
    with pytest.raises(ImageReadError, match="50x40"):
        read_image(path, max_pixels=1999)
    with pytest.raises(ImageReadError, match="50x40"):
        load_input(str(path), 1999)
    assert Settings().max_image_pixels == 50_000_000


@pytest.mark.parametrize("name, data, problem", [
    ("empty.jpg", b"", "empty file"),
    ("text.jpg", b"hello, not a jpeg at all", "not a readable image"),
    ("truncated.png", png_bytes(64, 64)[:60], "not a readable image"),
    ("bad_tiff.tif", b"II*\x00\xff\xff\xff\x7f" + b"\x00" * 32, "not a readable image"),
    ("bad_bmp.bmp", b"BM" + b"\xff" * 60, "not a readable image"),
    ("eps.jpg", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "unknown format"),  # never Ghostscript
])
def test_every_decoder_failure_is_a_read_error(tmp_path, name, data, problem):
    path = write(tmp_path / name, data)
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)


def test_paths_that_are_not_files_say_what_they_are(tmp_path):
    (tmp_path / "folder.jpg").mkdir()
    os.symlink(tmp_path / "loop_a.jpg", tmp_path / "loop_b.jpg")
    os.symlink(tmp_path / "loop_b.jpg", tmp_path / "loop_a.jpg")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")  # reading it would block forever
    expected = {"folder.jpg": "is a folder", "loop_a.jpg": "symbolic link loop", "missing.jpg": "no such file",
                "dangling.jpg": "broken symbolic link", "pipe.jpg": "not a regular file"}
    for name, problem in expected.items():
        with pytest.raises(ImageReadError, match=problem):
            read_image(tmp_path / name)
    entries, messages = entries_from_paths([str(tmp_path / "loop_a.jpg")], r".*\.jpg$")
    assert entries == [] and "symbolic link loop" in messages[0]


def _exif_image(fmt: str, orientation: int) -> bytes:
    pixels = np.zeros((20, 40, 3), np.uint8)   # 40 wide, 20 high: red left half, blue right half
    pixels[:, :20, 0] = 255
    pixels[:, 20:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(tmp_path, fmt):
    """Orientation 6 (a phone held upright): the stored 40x20 picture is shown turned 90 degrees
    clockwise, 20 wide and 40 high, the left (red) half on top."""
    path = write(tmp_path / f"phone.{fmt.lower()}", _exif_image(fmt, 6))
    image = read_image(path)
    assert image.shape == (40, 20, 3)
    assert image[5, 10, 0] > 200 and image[5, 10, 2] < 50      # top: red
    assert image[35, 10, 2] > 200 and image[35, 10, 0] < 50    # bottom: blue
    assert read_image(write(tmp_path / f"plain.{fmt.lower()}", _exif_image(fmt, 1))).shape == (20, 40, 3)


def test_modes_become_rgb_uint8(tmp_path):
    gray16 = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500)
    buffer = io.BytesIO()
    Image.fromarray(gray16).save(buffer, "PNG")
    image = read_image(write(tmp_path / "gray16.png", buffer.getvalue()))
    np.testing.assert_array_equal(image[:, :, 0], (gray16 >> 8).astype(np.uint8))
    rgba = np.random.default_rng(1).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    np.testing.assert_array_equal(read_image(write(tmp_path / "rgba.png", buffer.getvalue())), rgba[:, :, :3])
    assert decode_image_bytes(buffer.getvalue()).shape == (8, 9, 4)


def test_one_sample_loader_for_both_lists():
    """The app's samples and the offline sample set come from the same loader (masks as 0/255)."""
    assert set(SAMPLE_NAMES) - {"motorcycle_left"} <= set(SAMPLE_SET_NAMES)
    horse = sample_image("horse")
    assert horse.dtype == np.uint8 and horse.shape[2] == 3 and set(np.unique(horse)) == {0, 255}
    np.testing.assert_array_equal(sample_image("motorcycle_left"), sample_image("stereo_motorcycle"))
    with pytest.raises(ImageReadError, match="sample:nope: unknown sample image"):
        load_input("sample:nope")


def test_the_window_input_list_uses_the_setting(tmp_path):
    """The GUI's input player skips an image over max_image_pixels with the message, shows the next."""
    write_image(tmp_path / "a_big.png", np.zeros((40, 40, 3), np.uint8))
    write_image(tmp_path / "b_small.png", np.full((20, 20, 3), 7, np.uint8))
    settings = dataclasses.replace(Settings(), max_image_pixels=1000)
    manager = InputManager(settings, str(tmp_path))
    try:
        frame = manager.wait_for_frame(-1, 10.0)
        assert frame is not None and frame.name == "b_small.png"
        deadline, messages = time.monotonic() + 10.0, []
        while not any("a_big.png" in m for m in messages) and time.monotonic() < deadline:
            messages += manager.pop_messages()
            time.sleep(0.01)
        assert any("a_big.png" in m and "40x40" in m and "max_image_pixels" in m for m in messages), messages
    finally:
        manager.close()
