"""find-max options of the original toolbox: file lists with labels, sum ranking, projected locations;
crops' backprop / norm kinds, info files, unit ranges and N (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepvis_app.core.imaging.display import norm01c, to_uint8
from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
from deepvis_app.core.unitvis.findmax.receptive_field import measure_receptive_field
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
from deepvis_app.core.unitvis.findmax.scan_data import ScanError, read_file_list
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import list_image_files, read_image
from tests.helpers.datasets import make_dataset
from tests.helpers.models import FIND_MAX_LAYERS, FIND_MAX_SIZE, find_max_model


def read_doc(out: Path, layer: str) -> dict:
    return json.loads(UnitVisLayout(out).find_max_json(layer).read_text())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("images"), count=10)


def _loaded(module: torch.nn.Module):
    from deepvis_app.core.nn.model import LoadedModel, prepare_for_visualization
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.defaults import Settings

    settings = Settings(input_size=FIND_MAX_SIZE)
    return LoadedModel(prepare_for_visualization(module), settings, torch.device("cpu"), [], [],
                       Preprocessor(settings))


# --- 1. file lists ---------------------------------------------------------------------------------
def test_file_list_scans_the_listed_images_with_their_labels(dataset, tmp_path):
    names = [p.relative_to(dataset).as_posix() for p in list_image_files(dataset, recursive=True)]
    listed = names[::2]  # every other image, in the list's order (not sorted)
    listed = listed[::-1]
    lines = ["# a comment", ""] + [f"{name} {k * 10}" if k % 2 == 0 else name for k, name in enumerate(listed)]
    file_list = tmp_path / "lists" / "train.txt"
    file_list.parent.mkdir()
    file_list.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    find_max(find_max_model(), FindMaxRequest(file_list, ("fc",), out, top=3, batch_size=2, images_dir=dataset))
    doc = read_doc(out, "fc")
    assert doc["file_list"] == str(file_list.resolve()) and doc["dataset"] == str(dataset.resolve())
    labels = {name: k * 10 for k, name in enumerate(listed) if k % 2 == 0}
    seen = {entry["path"] for unit in doc["units"] for entry in unit}
    assert seen <= set(listed) and len(seen) > 1
    for unit in doc["units"]:
        for entry in unit:
            assert listed[entry["index"]] == entry["path"], "index = the image's place in the list"
            assert entry.get("label") == labels.get(entry["path"])
    # the same images scanned as a folder rank the same way (values equal, by path)
    folder = tmp_path / "folder_copy"
    for name in listed:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((dataset / name).read_bytes())
    find_max(find_max_model(), FindMaxRequest(folder, ("fc",), tmp_path / "out2", top=3, batch_size=2))
    by_folder = read_doc(tmp_path / "out2", "fc")["units"]
    for unit, other in zip(doc["units"], by_folder, strict=True):
        assert [e["value"] for e in unit] == pytest.approx([e["value"] for e in other], rel=1e-6)


def test_file_list_paths_default_to_the_lists_folder_and_may_be_absolute(dataset, tmp_path):
    name = next(p for p in list_image_files(dataset, recursive=True))
    file_list = dataset / "list.txt"
    try:
        file_list.write_text(f"{name.relative_to(dataset).as_posix()} 3\n{name.resolve()}\n")
        source = read_file_list(file_list)
    finally:
        file_list.unlink()
    assert source.root == dataset and source.labels == [3, None]
    assert [p.resolve() for p in source.files] == [name.resolve(), name.resolve()]


@pytest.mark.parametrize("lines, line_number, problem", [
    (["img_001.png 1", "img_002.png cat"], 2, "label 'cat' is not an integer"),
    (["img_001.png", "", "img_002.png 1 2"], 3, "expected 'path [label]', got 3 fields"),
    (["# header", "no_such.png 4"], 2, "no_such.png: no such file"),
    (["nested"], 1, "is a folder"),
])
def test_bad_list_lines_name_the_file_and_line(dataset, tmp_path, lines, line_number, problem):
    file_list = tmp_path / "list.txt"
    file_list.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScanError, match=r"^" + str(file_list).replace("\\", "\\\\") + f":{line_number}: ") as info:
        read_file_list(file_list, dataset)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_several_bad_lines_are_counted_and_empty_lists_refused(dataset, tmp_path):
    file_list = tmp_path / "list.txt"
    file_list.write_text("a.png x\nb.png y\nc.png z\n")
    with pytest.raises(ScanError, match=r"list.txt:1: .*\(and 2 more bad lines\)"):
        read_file_list(file_list, dataset)
    file_list.write_text("# only a comment\n\n")
    with pytest.raises(ScanError, match="names no image"):
        read_file_list(file_list, dataset)
    with pytest.raises(ScanError, match="--images-dir"):
        find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path / "o", images_dir=tmp_path))


# --- 2. sum ranking and projected locations ---------------------------------------------------------
@pytest.mark.parametrize("layer", ["conv", "pool"])
def test_sum_ranking_equals_the_hand_computed_map_sums(dataset, tmp_path, layer):
    loaded = find_max_model()
    net = loaded.module
    rows = []
    for index, path in enumerate(list_image_files(dataset, recursive=True)):
        try:
            image = read_image(path)
        except OSError:
            continue
        x = loaded.preprocessor.to_tensor(image)
        with torch.no_grad():
            act = net.conv(x) if layer == "conv" else net.pool(torch.relu(net.conv(x)))  # conv: before the ReLU
        rows.append((index, path.relative_to(dataset).as_posix(), act[0].sum(dim=(1, 2)).tolist()))
    out = tmp_path / "out"
    find_max(loaded, FindMaxRequest(dataset, (layer,), out, top=4, batch_size=3, rank_by="sum"))
    doc = read_doc(out, layer)
    assert doc["rank_by"] == "sum"
    for unit, entries in enumerate(doc["units"]):
        expected = sorted(rows, key=lambda r: (-r[2][unit], r[0]))[:4]
        assert [e["value"] for e in entries] == pytest.approx([r[2][unit] for r in expected], rel=1e-5, abs=1e-5)
        assert [e["path"] for e in entries] == [r[1] for r in expected]
    max_doc = out / "max"
    find_max(loaded, FindMaxRequest(dataset, (layer,), max_doc, top=4, batch_size=3))
    assert read_doc(max_doc, layer)["units"] != doc["units"], "sum and max rankings differ on this data"


def test_a_checkpoint_of_the_other_ranking_is_discarded(dataset, tmp_path):
    find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path, top=3, batch_size=4))
    again = find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path, top=3, batch_size=4))
    assert again.state_discarded is None and again.batches_run == 0
    summed = find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path, top=3, batch_size=4,
                                                      rank_by="sum"))
    assert "different scan" in summed.state_discarded and summed.resumed_batches == 0
    with pytest.raises(ScanError, match="--rank"):
        find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path, rank_by="fix"))


def test_projected_location_is_the_receptive_field_centre(dataset, tmp_path):
    out = tmp_path / "out"
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=3, batch_size=4))
    for entry in (e for unit in read_doc(out, "conv")["units"] for e in unit):
        assert entry["image_pos"] == [entry["pos"][0], entry["pos"][1]]   # 3x3 pad 1: centred on itself
    for entry in (e for unit in read_doc(out, "pool")["units"] for e in unit):
        i, j = entry["pos"]   # conv 3x3 pad 1, avg-pool 8: window [-1 + 8i, 9 + 8i), centre 8i + 3.5
        assert entry["image_pos"] == [8 * i + 3.5, 8 * j + 3.5]
    assert all("image_pos" not in e and "pos" not in e for unit in read_doc(out, "fc")["units"] for e in unit)


def test_projected_location_on_a_strided_net_matches_the_measured_window(dataset, tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=2, padding=2), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 3, 3, stride=2))
    loaded = _loaded(net)
    find_max(loaded, FindMaxRequest(dataset, ("2",), tmp_path, top=5, batch_size=4))
    entries = [e for unit in read_doc(tmp_path, "2")["units"] for e in unit]
    for entry in entries:
        i, j = entry["pos"]
        # layer 0: jump 2, size 5, start -2; layer 2: jump 4, size 5 + 2*2 = 9, start -2: centre 4i + 2
        assert entry["image_pos"] == [4 * i + 2, 4 * j + 2]
    # the measured gradient support agrees where the window lies inside the image
    for i, j in ((1, 1), (2, 1)):
        top, left, bottom, right = measure_receptive_field(loaded.module, (3, *FIND_MAX_SIZE), "2", (i, j))
        assert ((top + bottom - 1) / 2, (left + right - 1) / 2) == (4 * i + 2, 4 * j + 2)


# --- 3. crops: backprop / norm kinds, info files, unit range, N ---------------------------------------
def _hand_window(signal_hwc: np.ndarray, i: int, j: int) -> np.ndarray:
    """The pool layer's window [-1 + 8i, 9 + 8i) cut from a 16x16 signal, zero outside."""
    padded = np.zeros((FIND_MAX_SIZE[0] + 20, FIND_MAX_SIZE[1] + 20, signal_hwc.shape[2]))
    padded[10:10 + FIND_MAX_SIZE[0], 10:10 + FIND_MAX_SIZE[1]] = signal_hwc
    return padded[9 + 8 * i:19 + 8 * i, 9 + 8 * j:19 + 8 * j]


def test_backprop_and_norm_crops_info_unit_range_and_n(dataset, tmp_path):
    loaded = find_max_model()
    out = tmp_path / "out"
    find_max(loaded, FindMaxRequest(dataset, ("pool",), out, top=4, batch_size=4))
    request = CropRequest(out, ("pool",), methods=("gradient",), tile=10, save_crops=True,
                          norm_methods=("deconv", "gradient"), idx_begin=1, idx_end=3, top=2)
    assert make_crops(loaded, request).layers == {"pool": 2}
    layout = UnitVisLayout(out)
    doc = read_doc(out, "pool")
    for unit in range(5):
        written = unit in (1, 2)
        for kind in ("max_im", "max_backprop", "max_deconvnorm", "max_backpropnorm"):
            assert layout.unit_image(kind, "pool", unit).is_file() is written
        assert layout.crop_info("pool", unit).is_file() is written
    net = loaded.module
    for unit in (1, 2):
        assert not layout.crop("maxim", "pool", unit, 2).exists(), "--N 2: only the two best images"
        assert read_image(layout.unit_image("max_backpropnorm", "pool", unit)).shape == (2 * 10 + 3,) * 2 + (3,)
        info = layout.crop_info("pool", unit).read_text().splitlines()
        assert info[0].startswith("# ") and len(info) == 2 + 2
        for rank, entry in enumerate(doc["units"][unit][:2]):
            i, j = entry["pos"]
            x = loaded.preprocessor.to_tensor(read_image(dataset / entry["path"])).requires_grad_(True)
            net.pool(torch.relu(net.conv(x)))[0, unit, i, j].backward()      # plain gradient, by hand
            window = _hand_window(x.grad[0].numpy().transpose(1, 2, 0), i, j)
            norm = np.linalg.norm(window, axis=2)
            expected_norm = np.rint(255 * (norm - norm.min()) / (norm.max() - norm.min() + 1e-10))
            for kind in ("maxim", "backprop", "deconvnorm", "backpropnorm"):
                assert read_image(layout.crop(kind, "pool", unit, rank)).shape == (10, 10, 3)
            saved_norm = read_image(layout.crop("backpropnorm", "pool", unit, rank)).astype(int)
            assert np.abs(saved_norm[..., 0] - expected_norm).max() <= 1
            assert (saved_norm[..., 0] == saved_norm[..., 1]).all(), "norm images are gray"
            limit = np.percentile(np.abs(window), 99.5)
            expected_signed = to_uint8(norm01c(np.clip(window, -limit, limit)))
            saved = read_image(layout.crop("backprop", "pool", unit, rank)).astype(int)
            assert np.abs(saved - expected_signed).max() <= 1
            fields = info[2 + rank].split()
            assert fields[:3] == [str(rank), "-", "-"]   # folder scan: no list index, no label
            assert float(fields[3]) == pytest.approx(entry["value"], rel=1e-6)
            assert fields[4:10] == [str(v) for v in (i, j, -1 + 8 * i, -1 + 8 * j, 9 + 8 * i, 9 + 8 * j)]
            assert fields[10] == entry["path"]
    again = make_crops(loaded, request)
    assert again.layers == {"pool": 0}, "finished units are skipped"


def test_crops_read_an_old_find_max_result_without_the_new_fields(dataset, tmp_path):
    loaded = find_max_model()
    find_max(loaded, FindMaxRequest(dataset, ("pool",), tmp_path, top=2, batch_size=4))
    path = UnitVisLayout(tmp_path).find_max_json("pool")
    doc = json.loads(path.read_text())
    old = {"layer": doc["layer"], "top": doc["top"], "dataset": doc["dataset"],
           "units": [[{"path": e["path"], "value": e["value"], "pos": e["pos"]} for e in unit]
                     for unit in doc["units"]]}
    path.write_text(json.dumps(old))
    assert make_crops(loaded, CropRequest(tmp_path, ("pool",), tile=10)).layers == {"pool": 5}
    info = UnitVisLayout(tmp_path).crop_info("pool", 0).read_text().splitlines()
    assert "value = the unit's max" in info[0] and len(info) == 4
