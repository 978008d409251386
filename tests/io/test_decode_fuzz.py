"""Property: whatever bytes come in, the image reader returns an image or raises `ImageReadError`.

Mutated JPEG/PNG/WebP/TIFF/BMP/GIF seeds (tests/helpers/image_seeds.py) go through the decoder. No other
exception type may come out, no library may write to stderr, and each input must finish within
the Hypothesis deadline. Deterministic for CI (derandomized, no example database) and bounded to a
few seconds; `bench/fuzz_images.py` is the long, random run.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepvis_app.io.decode import ImageReadError, decode_image_bytes
from deepvis_app.io.images import read_image
from tests.helpers.image_seeds import INTERESTING, apply, fix_png_crcs, seeds

MAX_PIXELS = 4_000_000  # mutated headers that claim more are refused before decoding

positions = st.one_of(st.integers(0, 63), st.integers(0, 4096))  # biased towards headers
operations = st.one_of(
    st.tuples(st.just("set"), positions, st.integers(0, 255)),
    st.tuples(st.just("int"), positions, st.sampled_from([1, 2, 4]), st.booleans(),
              st.one_of(st.sampled_from(INTERESTING), st.integers(0, 2**32 - 1))),
    st.tuples(st.just("truncate"), st.integers(0, 4096)),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("copy"), st.integers(0, 4096), positions, st.integers(1, 128)),
)
FUZZ_SETTINGS = settings(derandomize=True, database=None, max_examples=600, deadline=timedelta(seconds=2),
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _check(data: bytes) -> None:
    try:
        image = decode_image_bytes(data, "fuzz", MAX_PIXELS)
    except ImageReadError as exc:
        assert str(exc).startswith("fuzz: ")
        return
    assert image.ndim in (2, 3) and 0 not in image.shape
    assert image.ndim == 2 or image.shape[2] in (3, 4)


def test_mutated_images_give_an_image_or_our_error(capfd):
    @FUZZ_SETTINGS
    @given(name=st.sampled_from(sorted(seeds())), ops=st.lists(operations, min_size=1, max_size=5),
           fix_crcs=st.booleans())
    def check(name, ops, fix_crcs):
        data = apply(seeds()[name], ops)
        _check(fix_png_crcs(data) if fix_crcs else data)

    check()
    assert capfd.readouterr().err == "", "a decoder wrote to stderr"


def test_every_seed_decodes_to_its_pattern():
    """The seeds themselves are valid: the fuzz test starts from images that decode."""
    for name, data in seeds().items():
        image = decode_image_bytes(data, name)
        assert image.shape[:2] == ((24, 16) if name == "jpeg_exif6" else (16, 24)), name


def test_truncated_files_are_read_errors_without_stderr(tmp_path, capfd):
    """Every seed cut in half, read from a file: our error, and nothing printed (cv2 printed
    libjpeg/libpng warnings, libtiff prints its own)."""
    for name, data in seeds().items():
        path = tmp_path / f"{name}.img"
        path.write_bytes(data[: len(data) // 2])
        try:
            image = read_image(path)
        except ImageReadError as exc:
            assert str(exc).startswith(str(path))
        else:  # a few formats decode what is there
            assert image.dtype == np.uint8 and image.ndim == 3
    assert capfd.readouterr().err == ""


def test_pillow_log_records_go_to_our_log_at_debug(tmp_path):
    """A TIFF claiming 62979 samples per pixel (found by bench/fuzz_images.py): Pillow logs an ERROR
    record, which a stderr log handler printed; it becomes a debug line of deepvis.io.decode. In a
    child process, as the app runs (pytest attaches its own handlers to every logger)."""
    import subprocess
    import sys

    data = bytearray(seeds()["tiff_raw"])
    tag = data.find(b"\x15\x01\x03\x00\x01\x00\x00\x00")  # SamplesPerPixel, SHORT, count 1 (little-endian)
    assert tag > 0
    data[tag + 8:tag + 10] = (62979).to_bytes(2, "little")
    (tmp_path / "spp.tif").write_bytes(bytes(data))
    script = (
        "import logging, sys\n"
        "from deepvis_app.io.images import read_image\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "ours = logging.getLogger('deepvis.io.decode')\n"
        "ours.setLevel(logging.DEBUG)\n"
        "ours.propagate = False  # debug lines to stdout only; stderr keeps what the root handler prints\n"
        "ours.addHandler(logging.StreamHandler(sys.stdout))\n"
        "try:\n    read_image(sys.argv[1])\nexcept OSError as exc:\n    print('ERROR', exc)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "spp.tif")], capture_output=True, text=True,
                          timeout=120)
    assert done.stderr == ""
    assert "Pillow: More samples per pixel than can be decoded: 62979" in done.stdout
    assert "ERROR " in done.stdout and "spp.tif: not a readable image" in done.stdout
