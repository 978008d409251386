"""find-max --search-min, the per-unit activation range and --summaries (the arikpoz fork's min tracker
and max-tracker pictures), each against a brute-force per-image numpy computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
from deepvis_app.core.unitvis.findmax.topk import TopK, batch_candidates, empty_topk, merge_topk, negated
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import list_image_files, read_image
from tests.helpers.datasets import Killed, kill_after, make_dataset
from tests.helpers.models import FIND_MAX_LAYERS, find_max_model

TOP = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("images"), count=14)


@pytest.fixture(scope="module")
def per_image(dataset) -> dict[str, list[tuple[int, str, np.ndarray]]]:
    """Per layer: (file index, relative path, the (C, ...) activation) of every readable image, one at a time."""
    from deepvis_app.core.nn.hooks import capture_activations

    model = find_max_model()
    found: dict[str, list] = {name: [] for name in FIND_MAX_LAYERS}
    for index, path in enumerate(list_image_files(dataset, recursive=True)):
        try:
            image = read_image(path)
        except OSError:
            continue
        _, acts = capture_activations(model.module, model.preprocessor.to_tensor(image), list(FIND_MAX_LAYERS))
        for name in FIND_MAX_LAYERS:
            found[name].append((index, path.relative_to(dataset).as_posix(), acts[name][0].numpy()))
    return found


@pytest.fixture(scope="module")
def scanned(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, out, top=TOP, batch_size=3,
                                              search_min=True, summaries=True))
    return out


def _maxes(entries) -> np.ndarray:
    return np.stack([act.reshape(act.shape[0], -1).max(axis=1) for _, _, act in entries])


@pytest.mark.parametrize("layer", FIND_MAX_LAYERS)
def test_search_min_keeps_the_lowest_maxima_lowest_first(per_image, scanned, layer):
    units = json.loads(UnitVisLayout(scanned).find_min_json(layer).read_text())["units"]
    entries = per_image[layer]
    for unit, got in enumerate(units):
        rows = []
        for index, path, act in entries:
            flat = act[unit].reshape(-1)
            pos = list(np.unravel_index(int(flat.argmax()), act.shape[1:])) if act.ndim > 1 else None
            rows.append((float(flat.max()), index, path, pos))
        want = sorted(rows, key=lambda r: (r[0], r[1]))[:TOP]
        assert [e["value"] for e in got] == pytest.approx([w[0] for w in want], rel=1e-5, abs=1e-6)
        assert [e["path"] for e in got] == [w[2] for w in want]
        assert [e.get("pos") for e in got] == [w[3] for w in want]


def test_search_min_leaves_the_max_record_as_without_it(dataset, scanned, tmp_path):
    find_max(find_max_model(), FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=TOP, batch_size=3))
    for layer in FIND_MAX_LAYERS:
        plain = json.loads(UnitVisLayout(tmp_path).find_max_json(layer).read_text())
        assert json.loads(UnitVisLayout(scanned).find_max_json(layer).read_text()) == plain
    assert not UnitVisLayout(tmp_path).find_min_json("conv").exists()
    assert not UnitVisLayout(tmp_path).layer_inactivity("conv").exists()


@pytest.mark.parametrize("layer", FIND_MAX_LAYERS)
def test_unit_range_is_the_lowest_and_highest_activation_over_the_dataset(per_image, scanned, layer):
    doc = json.loads(UnitVisLayout(scanned).find_max_json(layer).read_text())
    acts = np.stack([act for _, _, act in per_image[layer]])
    flat = acts.reshape(acts.shape[0], acts.shape[1], -1)
    assert doc["unit_min"] == pytest.approx(flat.min(axis=(0, 2)).tolist(), rel=1e-5, abs=1e-6)
    assert doc["unit_max"] == pytest.approx(flat.max(axis=(0, 2)).tolist(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("layer", FIND_MAX_LAYERS)
def test_summary_numbers_equal_a_brute_force_computation(per_image, scanned, layer):
    layout = UnitVisLayout(scanned)
    record = json.loads(layout.find_max_summary(layer).read_text())
    maxes = _maxes(per_image[layer]).astype(np.float64)
    assert record["images"] == len(maxes)
    for unit, got in enumerate(record["units"]):
        counts, edges = np.histogram(maxes[:, unit], bins=50)
        assert got["counts"] == counts.tolist()
        assert got["edges"] == pytest.approx(edges.tolist(), rel=1e-5, abs=1e-6)
        assert got["inactive"] == pytest.approx(float(np.mean(maxes[:, unit] <= 0)))
        assert layout.max_histogram(layer, unit).is_file()
    activity = 100 * (1 - np.mean(maxes <= 0, axis=0))
    assert record["activity_percent"]["counts"] == np.histogram(activity, bins=20, range=(0, 100))[0].tolist()
    expected = np.nan_to_num(np.corrcoef(maxes.T))
    np.fill_diagonal(expected, 1)
    matrix = np.load(layout.channels_correlation_matrix(layer))
    np.testing.assert_allclose(matrix, expected, atol=1e-4)
    order = np.asarray(record["correlation_order"])
    assert sorted(order.tolist()) == list(range(maxes.shape[1]))
    assert np.all(np.diff(expected[-1, order]) >= -1e-4), "np.lexsort order: by the last row first"
    for picture in (layout.layer_inactivity(layer), layout.channels_correlation(layer)):
        image = read_image(picture)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0


def test_summaries_cover_the_first_images_by_file_index(dataset, per_image, tmp_path):
    find_max(find_max_model(), FindMaxRequest(dataset, ("fc",), tmp_path, top=2, batch_size=4,
                                              summaries=True, summary_images=6))
    record = json.loads(UnitVisLayout(tmp_path).find_max_summary("fc").read_text())
    kept = [entry for entry in per_image["fc"] if entry[0] < 6]   # an unreadable file among them has no row
    maxes = _maxes(kept)
    assert record["images"] == len(kept) < 6
    assert [u["counts"] for u in record["units"]] == [np.histogram(maxes[:, u], bins=50)[0].tolist()
                                                      for u in range(maxes.shape[1])]


def test_resumed_scan_with_min_and_summaries_equals_an_uninterrupted_one(dataset, scanned, tmp_path):
    request = FindMaxRequest(dataset, FIND_MAX_LAYERS, tmp_path, top=TOP, batch_size=3, checkpoint_every=2,
                             search_min=True, summaries=True)
    with pytest.raises(Killed):
        find_max(find_max_model(), request, kill_after(3))
    assert find_max(find_max_model(), request).resumed_batches == 2
    first, second = UnitVisLayout(scanned), UnitVisLayout(tmp_path)
    for layer in FIND_MAX_LAYERS:
        for path in ("find_max_json", "find_min_json", "find_max_summary"):
            a, b = getattr(first, path)(layer), getattr(second, path)(layer)
            assert json.loads(a.read_text()) == json.loads(b.read_text()), (layer, path)
        assert np.array_equal(np.load(first.channels_correlation_matrix(layer)),
                              np.load(second.channels_correlation_matrix(layer)))


def test_lowest_tables_merge_order_independently_and_skip_nan_maps():
    torch.manual_seed(3)
    acts = torch.randint(0, 4, (10, 3, 2, 2)).float()   # many ties
    acts[2, 1] = float("nan")                             # a map that is all NaN: never among the lowest
    index = torch.arange(10)
    whole = batch_candidates(acts, index, lowest=True)
    parts = [batch_candidates(acts[s], index[s], lowest=True) for s in (slice(0, 4), slice(4, 10))]
    empty = empty_topk(3, 4, 2)
    a = merge_topk(merge_topk(empty, parts[0], 4), parts[1], 4)
    b = merge_topk(merge_topk(empty, parts[1], 4), parts[0], 4)
    assert torch.equal(a.index, b.index) and torch.equal(a.index, merge_topk(empty, whole, 4).index)
    maxes = acts.reshape(10, 3, -1).amax(dim=2)
    for unit in range(3):
        valid = [i for i in range(10) if not torch.isnan(maxes[i, unit])]
        expected = sorted(valid, key=lambda i: (maxes[i, unit].item(), i))[:4]
        assert a.index[unit].tolist() == expected
        assert negated(a).values[unit].tolist() == [maxes[i, unit].item() for i in expected]
    assert isinstance(negated(a), TopK)


@pytest.mark.slow
def test_two_gloo_processes_equal_one(dataset, scanned, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "helpers" / "find_max_rank_min.py"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, str(script), str(dataset), str(tmp_path), str(TOP)],
                              env=dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
                                       MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rank in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    first, second = UnitVisLayout(scanned), UnitVisLayout(tmp_path)
    for layer in FIND_MAX_LAYERS:
        for path in ("find_max_json", "find_min_json", "find_max_summary"):
            a, b = getattr(first, path)(layer), getattr(second, path)(layer)
            assert json.loads(a.read_text()) == json.loads(b.read_text()), (layer, path)


def test_nan_activations_are_left_out_of_extremes_and_summaries():
    import warnings

    from deepvis_app.core.unitvis.findmax.summary import map_extremes, summarize

    acts = torch.randn(4, 3, 2, 2)
    acts[0, 1, 0, 0] = float("nan")   # one NaN value: left out
    acts[2, 2] = float("nan")          # a whole map: NaN extremes
    lowest, highest = map_extremes(acts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # nanmin of an all-NaN map
        flat = acts.reshape(4, 3, -1).numpy()
        np.testing.assert_array_equal(lowest.numpy(), np.nanmin(flat, axis=2))
        np.testing.assert_array_equal(highest.numpy(), np.nanmax(flat, axis=2))
    rows = np.vstack([highest.numpy(), np.full((2, 3), np.nan)])   # two images never scanned
    summary = summarize(rows)
    assert summary.images == 4
    assert summary.histograms[2][0].sum() == 3 and summary.histograms[0][0].sum() == 4
    assert summary.inactive[2] == pytest.approx(np.mean(highest.numpy()[[0, 1, 3], 2] <= 0))
    complete = highest.numpy()[[0, 1, 3]].astype(np.float64)
    expected = np.nan_to_num(np.corrcoef(complete.T))
    np.fill_diagonal(expected, 1)
    np.testing.assert_allclose(summary.correlation, expected, atol=1e-9)
