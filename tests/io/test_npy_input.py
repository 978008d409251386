""".npy network inputs: shapes accepted, NaN/inf and oversized arrays refused (header only), one line."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib import format as npy_format

from deepvis_app.cli.main import main
from deepvis_app.io.decode import ImageReadError
from deepvis_app.io.npy_input import read_npy_input

MODEL = ["--model", "tests.helpers.models:FindMaxNet", "--set", "input_size=(16, 16)", "--device", "cpu"]


@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 3, 5, 7)])
def test_chw_and_nchw_with_one_image_are_accepted(tmp_path, shape):
    values = np.random.default_rng(0).standard_normal(shape)
    np.save(tmp_path / "x.npy", values)
    array = read_npy_input(tmp_path / "x.npy", channels=3)
    assert array.dtype == np.float32 and array.shape == (3, 5, 7) and array.flags.c_contiguous
    np.testing.assert_allclose(array, values.reshape(3, 5, 7).astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(tmp_path, bad):
    values = np.zeros((3, 4, 4), np.float32)
    values[1, 2, 3] = bad
    np.save(tmp_path / "x.npy", values)
    with pytest.raises(ImageReadError, match=r"x\.npy: contains 1 NaN or infinite value;"):
        read_npy_input(tmp_path / "x.npy", channels=3)


def test_a_huge_array_is_refused_from_its_header(tmp_path):
    """A 128-byte file claiming 3 x 100000 x 100000 floats (120 GB): refused before any read."""
    path = tmp_path / "huge.npy"
    with open(path, "wb") as handle:
        npy_format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                   "shape": (3, 100_000, 100_000)})
    with pytest.raises(ImageReadError, match="100000x100000 .* max_image_pixels"):
        read_npy_input(path, channels=3)
    np.save(tmp_path / "small.npy", np.zeros((3, 40, 50), np.float32))
    with pytest.raises(ImageReadError, match="40x50"):
        read_npy_input(tmp_path / "small.npy", channels=3, max_pixels=1999)


@pytest.mark.parametrize("make, problem", [
    (lambda p: np.save(p, np.zeros((64, 64), np.float32)), "expected a float (C,H,W) array (or (1,C,H,W))"),
    (lambda p: np.save(p, np.zeros((2, 3, 4, 4), np.float32)), "expected a float"),
    (lambda p: np.save(p, np.zeros((3, 4, 4), np.uint8)), "expected a float"),
    (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0 a jpeg, renamed"), "not a .npy file"),
    (lambda p: np.savez(open(p, "wb"), a=np.zeros(3)), "an .npz archive"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00" + b"\x20" * 10), "not a readable .npy file"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_other_files_are_one_line_errors(tmp_path, make, problem):
    path = tmp_path / "x.npy"
    make(path)
    with pytest.raises(ImageReadError) as caught:
        read_npy_input(path, channels=3)
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)


def test_attribute_command_reports_a_nan_input_in_one_line(tmp_path, capsys):
    values = np.zeros((1, 3, 16, 16), np.float32)
    values[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "x.npy", values)
    code = main(["attribute", str(tmp_path / "x.npy"), "--method", "gradient", "--npy", str(tmp_path / "o.npy"),
                 *MODEL])
    err = capsys.readouterr().err
    assert code == 2 and "x.npy: contains 1 NaN or infinite value" in err and "Traceback" not in err
    assert not (tmp_path / "o.npy").exists()
    np.save(tmp_path / "ok.npy", np.zeros((1, 3, 16, 16), np.float32))  # (1,C,H,W) runs
    assert main(["attribute", str(tmp_path / "ok.npy"), "--method", "gradient", "--npy", str(tmp_path / "o.npy"),
                 *MODEL]) == 0
    assert np.load(tmp_path / "o.npy").shape == (3, 16, 16)
