"""`deepvis find-max` file lists / --rank and `deepvis crops` --do-* / --idx-* / --N end to end (issue 11)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepvis_app.cli.main import main
from deepvis_app.core.methods.backprop import backprop_from_unit
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import list_image_files, read_image
from tests.helpers.datasets import make_dataset
from tests.helpers.models import FIND_MAX_SIZE, find_max_model

MODEL = ["--model", "tests.helpers.models:FindMaxNet", "--set", "input_size=(16, 16)", "--device", "cpu"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("images"), count=8)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_file_list_sum_ranking_and_crop_options(dataset, tmp_path, capsys):
    names = [p.relative_to(dataset).as_posix() for p in list_image_files(dataset, recursive=True)]
    file_list = tmp_path / "list.txt"
    file_list.write_text("".join(f"{name} {7 + k}\n" for k, name in enumerate(names)))
    out = tmp_path / "uv"
    assert main(["find-max", str(file_list), "--images-dir", str(dataset), "--layers", "pool", "--top", "3",
                 "--rank", "sum", "--batch", "4", "--workers", "0", "--out", str(out), "--no-progress", *MODEL]) == 0
    summary = _json(capsys)
    assert summary["skipped"] == ["broken.png"] and summary["images"] == len(names)
    doc = json.loads(UnitVisLayout(out).find_max_json("pool").read_text())
    assert doc["rank_by"] == "sum" and doc["file_list"] == str(file_list.resolve())
    net = find_max_model()
    for unit, entries in enumerate(doc["units"]):
        for entry in entries:
            assert entry["label"] == 7 + names.index(entry["path"]) and entry["index"] == names.index(entry["path"])
            x = net.preprocessor.to_tensor(read_image(dataset / entry["path"]))
            with torch.no_grad():
                pooled = net.module.pool(torch.relu(net.module.conv(x)))[0, unit]
            assert entry["value"] == pytest.approx(float(pooled.sum()), rel=1e-5)
            i, j = entry["pos"]
            assert entry["image_pos"] == [8 * i + 3.5, 8 * j + 3.5]

    assert main(["crops", "--out", str(out), "--tile", "10", "--no-progress", "--do-backprop", "--do-deconv-norm",
                 "--do-backprop-norm", "--save-crops", "--idx-begin", "3", "--N", "2", *MODEL]) == 0
    summary = _json(capsys)
    assert summary["units_written"] == {"pool": 2} and summary["norm_methods"] == ["deconv", "gradient"]
    assert "gradient" in summary["methods"]
    layout = UnitVisLayout(out)
    for unit in (3, 4):
        info = layout.crop_info("pool", unit).read_text().splitlines()[2:]
        assert len(info) == 2
        for rank, (line, entry) in enumerate(zip(info, doc["units"][unit], strict=False)):
            fields = line.split()
            assert fields[:3] == [str(rank), str(entry["index"]), str(entry["label"])] and fields[-1] == entry["path"]
            for kind in ("maxim", "backprop", "deconvnorm", "backpropnorm"):
                assert read_image(layout.crop(kind, "pool", unit, rank)).shape == (10, 10, 3)
            # deconv norm = the channel norm of the deconv signal of that position (backprop_from_unit, which
            # test_crops checks the signed deconv crops against), cut by hand, min-max scaled
            i, j = entry["pos"]
            x = net.preprocessor.to_tensor(read_image(dataset / entry["path"]))
            grad = backprop_from_unit(net.module, x, "pool", unit, method="deconv", seed="position",
                                      position=(i, j)).input_grad[0].numpy().transpose(1, 2, 0)
            padded = np.zeros((FIND_MAX_SIZE[0] + 20, FIND_MAX_SIZE[1] + 20, 3))
            padded[10:26, 10:26] = grad
            norm = np.linalg.norm(padded[9 + 8 * i:19 + 8 * i, 9 + 8 * j:19 + 8 * j], axis=2)
            expected = np.rint(255 * (norm - norm.min()) / (norm.max() - norm.min() + 1e-10))
            saved = read_image(layout.crop("deconvnorm", "pool", unit, rank))[..., 0].astype(int)
            assert np.abs(saved - expected).max() <= 1
    assert not layout.crop_info("pool", 2).exists() and not layout.unit_image("max_im", "pool", 2).is_file()
    assert layout.unit_image("max_deconvnorm", "pool", 4).is_file()


def test_bad_file_list_line_is_one_error_before_the_model_loads(dataset, tmp_path, capsys):
    file_list = tmp_path / "list.txt"
    file_list.write_text("img_001.png 2\nimg_002.png two\n")
    assert main(["find-max", str(file_list), "--images-dir", str(dataset), "--layers", "pool", "--out",
                 str(tmp_path / "uv"), "--no-progress", "--model", "no_such_model_anywhere"]) == 2
    err = capsys.readouterr().err
    assert f"{file_list}:2: label 'two' is not an integer" in err and "no_such_model" not in err
    assert len(err.strip().splitlines()) == 1
    assert main(["find-max", str(dataset), "--images-dir", str(dataset), "--layers", "pool", "--out",
                 str(tmp_path / "uv"), "--no-progress", *MODEL]) == 2
    assert "--images-dir" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--idx-begin", "3", "--idx-end", "3"], "--idx-begin 3 / --idx-end 3"),
    (["--idx-begin", "-1"], "--idx-begin -1"),
    (["--N", "0"], "--N 0"),
])
def test_crops_option_errors(tmp_path, capsys, args, message):
    assert main(["crops", "--out", str(tmp_path), "--no-progress", *args, *MODEL]) == 2
    assert message in capsys.readouterr().err


def test_rank_choices_are_checked(dataset, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["find-max", str(dataset), "--layers", "pool", "--rank", "fix", "--out", str(tmp_path), *MODEL])
    assert exc.value.code == 2 and "--rank" in capsys.readouterr().err
