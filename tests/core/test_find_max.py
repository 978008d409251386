"""find-max against a brute-force scan, interrupted-and-resumed runs, unreadable files, 2-process gloo."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
from deepvis_app.core.unitvis.findmax.topk import TopK, merge_topk
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image, write_image
from tests.helpers.datasets import Killed, kill_after, make_dataset
from tests.helpers.hostile_images import jpeg_claiming, png_bytes, write
from tests.helpers.models import FIND_MAX_LAYERS, FIND_MAX_SIZE, find_max_model


def brute_force(model: LoadedModel, dataset: Path, layer: str, top: int) -> list[list[tuple]]:
    """Per unit, sorted (-value, path, pos) of every image, one image at a time."""
    from deepvis_app.core.nn.hooks import capture_activations
    from deepvis_app.io.images import list_image_files

    rows: dict[int, list[tuple]] = {}
    for path in list_image_files(dataset, recursive=True):
        try:
            image = read_image(path)
        except OSError:
            continue
        _, acts = capture_activations(model.module, model.preprocessor.to_tensor(image), [layer])
        act = acts[layer][0]
        for unit in range(act.shape[0]):
            flat = act[unit].reshape(-1)
            arg = int(flat.argmax())
            pos = list(np.unravel_index(arg, tuple(act.shape[1:]))) if act.dim() > 1 else None
            rows.setdefault(unit, []).append((-float(flat[arg]), path.relative_to(dataset).as_posix(), pos))
    return [sorted(rows[u], key=lambda r: r[0])[:top] for u in sorted(rows)]


def read_units(out: Path, layer: str) -> list[list[dict]]:
    """The record's units, values to 6 significant digits and entries of equal value by path: two images
    with the same content score the same up to float noise that depends on their batch (multi-threaded
    conv), which may swap them between runs."""
    units = json.loads(UnitVisLayout(out).find_max_json(layer).read_text())["units"]
    rounded = [[{**entry, "value": float(f"{entry['value']:.6g}")} for entry in unit] for unit in units]
    return [sorted(unit, key=lambda entry: (-entry["value"], entry["path"])) for unit in rounded]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=5, batch_size=4))
    return out


@pytest.mark.parametrize("layer", FIND_MAX_LAYERS)
def test_topk_equals_brute_force(dataset, reference, layer):
    expected = brute_force(find_max_model(), dataset, layer, 5)
    units = read_units(reference, layer)
    assert len(units) == len(expected)
    for got, want in zip(units, expected, strict=True):
        assert [e["value"] for e in got] == pytest.approx([-w[0] for w in want], rel=1e-5, abs=1e-6)
        # equal values are ordered by path (the file order), so paths match exactly
        assert [e["path"] for e in got] == [w[1] for w in want]
        assert [e.get("pos") for e in got] == [w[2] for w in want]


def test_unreadable_images_are_skipped_and_listed(reference):
    skipped = json.loads(UnitVisLayout(reference).find_max_skipped().read_text())["skipped"]
    assert skipped == ["broken.png"]
    assert all(e["path"] != "broken.png" for unit in read_units(reference, "conv") for e in unit)


def test_interrupted_and_resumed_equals_uninterrupted(dataset, reference, tmp_path):
    request = FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=5, batch_size=4, checkpoint_every=2)
    with pytest.raises(Killed):
        find_max(find_max_model(), request, kill_after(3))   # checkpoint holds 2 batches; batch 3 is lost
    with pytest.raises(Killed):
        find_max(find_max_model(), request, kill_after(5))
    result = find_max(find_max_model(), request)
    assert result.resumed_batches == 4
    for layer in FIND_MAX_LAYERS:
        assert read_units(tmp_path, layer) == read_units(reference, layer)


def test_merge_is_order_independent():
    torch.manual_seed(1)
    values = torch.randint(0, 4, (3, 12)).float()  # many ties
    table = TopK(values, torch.arange(12).expand(3, 12).clone(), torch.zeros((3, 12, 0), dtype=torch.int64))
    parts = [TopK(table.values[:, s], table.index[:, s], table.pos[:, s]) for s in (slice(0, 5), slice(5, 12))]
    a = merge_topk(parts[0], parts[1], 4)
    b = merge_topk(parts[1], parts[0], 4)
    assert torch.equal(a.values, b.values) and torch.equal(a.index, b.index)
    for row in range(3):
        expected = sorted(range(12), key=lambda i: (-values[row, i].item(), i))[:4]
        assert a.index[row].tolist() == expected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_equal_one(dataset, reference, tmp_path):
    script = Path(__file__).parents[1] / "helpers" / "find_max_rank.py"
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, str(script), str(dataset), str(tmp_path)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for layer in FIND_MAX_LAYERS:
        assert read_units(tmp_path, layer) == read_units(reference, layer)
    skipped = json.loads(UnitVisLayout(tmp_path).find_max_skipped().read_text())["skipped"]
    assert skipped == ["broken.png"]


# --- issue 8: bad images never abort a scan; resume notices changed images --------------------------
def _with_hostile_images(root: Path) -> Path:
    make_dataset(root)
    write(root / "huge_claim.jpg", jpeg_claiming(32768, 32768))          # decoded to 3 GiB before
    write(root / "nested" / "over_opencv.png", png_bytes(65536, 65536, rows=0))  # raised cv2.error before
    (root / "folder.png").mkdir()                                          # not a file: not listed
    return root


@pytest.mark.parametrize("workers", [0, 1])
def test_oversized_images_are_listed_with_the_problem_and_skipped(reference, tmp_path, workers):
    dataset = _with_hostile_images(tmp_path / "images")
    out = tmp_path / "out"
    request = FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=5, batch_size=4, workers=workers)
    result = find_max(find_max_model(), request)
    assert result.skipped == ["broken.png", "huge_claim.jpg", "nested/over_opencv.png"]
    assert "32768x32768" in result.problems["huge_claim.jpg"]
    assert "max_image_pixels" in result.problems["nested/over_opencv.png"]
    assert "not a readable image" in result.problems["broken.png"]
    for layer in FIND_MAX_LAYERS:  # the readable images rank exactly as without the hostile ones
        assert read_units(out, layer) == read_units(reference, layer)
    listed = json.loads(UnitVisLayout(out).find_max_skipped().read_text())
    assert listed["skipped"] == result.skipped and listed["problems"] == result.problems


def test_resume_notices_replaced_images(tmp_path):
    dataset = make_dataset(tmp_path / "images")
    request = FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path / "out", top=5, batch_size=4)
    first = find_max(find_max_model(), request)
    assert first.state_discarded is None
    rng = np.random.default_rng(7)
    for name in ("img_001.png", "img_002.png", "nested/img_003.png", "img_004.png"):  # same names, new pixels
        write_image(dataset / name, rng.integers(0, 256, (FIND_MAX_SIZE[0], FIND_MAX_SIZE[1], 3), dtype=np.uint8))
    rerun = find_max(find_max_model(), request)
    assert rerun.state_discarded is not None and "images changed" in rerun.state_discarded
    assert rerun.resumed_batches == 0 and rerun.batches_run == 6
    fresh = tmp_path / "fresh"
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, fresh, top=5, batch_size=4))
    for layer in FIND_MAX_LAYERS:
        assert read_units(request.out, layer) == read_units(fresh, layer)
    again = find_max(find_max_model(), request)
    assert again.state_discarded is None and again.batches_run == 0, "unchanged images: resumed at its end"


def test_a_checkpoint_with_unexpected_errors_is_not_resumed(dataset, tmp_path, monkeypatch):
    """A bug while preprocessing (not a bad image) fails every image; the rerun after the fix must not resume
    a scan that remembers them all as skipped, and the failing run names the problem."""
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.errors import DeepvisError

    request = FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=5, batch_size=4)
    with monkeypatch.context() as patch:
        patch.setattr(Preprocessor, "fit_frame", lambda *_a, **_k: (_ for _ in ()).throw(AttributeError("boom")))
        with pytest.raises(DeepvisError, match=r"no readable image \(\d+ skipped; img_\d+.png: unexpected error "
                                               r"\(AttributeError: boom\)\)"):
            find_max(find_max_model(), request)
    rerun = find_max(find_max_model(), request)
    assert "unexpected errors" in rerun.state_discarded and rerun.resumed_batches == 0
    assert rerun.skipped == ["broken.png"]   # only the really broken image


def test_a_checkpoint_of_another_scan_is_discarded_and_said(dataset, tmp_path):
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=5, batch_size=4))
    result = find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=3, batch_size=4))
    assert "different scan" in result.state_discarded and result.resumed_batches == 0


def test_missing_or_file_dataset_is_one_clear_error(tmp_path):
    from deepvis_app.errors import DeepvisError

    (tmp_path / "file.jpg").write_bytes(b"x")
    for name, problem in (("none", "no such folder"), ("file.jpg", "is a file, not a folder")):
        with pytest.raises(DeepvisError, match=problem):
            find_max(find_max_model(), FindMaxRequest(tmp_path / name, FIND_MAX_LAYERS, tmp_path / "out"))
