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
from torch import nn

from deepvis_app.core.model import LoadedModel, prepare_for_visualization
from deepvis_app.core.preprocess import Preprocessor
from deepvis_app.core.unitvis.find_max import FindMaxRequest, find_max
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.topk import TopK, merge_topk
from deepvis_app.io.images import read_image, write_image
from deepvis_app.settings.defaults import Settings

SIZE = (16, 16)
LAYERS = ("conv", "pool", "fc")


class Tiny(nn.Module):
    """conv (spatial), a coarse pool (few positions: many ties), fc (no positions)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(5 * 2 * 2, 4)

    def forward(self, x):
        pooled = self.pool(torch.relu(self.conv(x)))
        return self.fc(pooled.flatten(1))


def tiny_model() -> LoadedModel:
    settings = Settings(input_size=SIZE)
    return LoadedModel(prepare_for_visualization(Tiny()), settings, torch.device("cpu"), [], [],
                       Preprocessor(settings))


def make_dataset(root: Path, count: int = 23, seed: int = 0) -> Path:
    """Random images (several exact duplicates, to force ties), one nested folder, one broken file."""
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 256, (SIZE[0], SIZE[1], 3), dtype=np.uint8) for _ in range(count - 4)]
    images += images[:4]  # duplicates: equal values, broken by image index
    for index, image in enumerate(images):
        folder = root / ("nested" if index % 3 == 0 else "")
        write_image(folder / f"img_{index:03d}.png", image)
    (root / "broken.png").write_bytes(b"not an image")
    return root


def brute_force(model: LoadedModel, dataset: Path, layer: str, top: int) -> list[list[tuple]]:
    """Per unit, sorted (-value, path, pos) of every image, one image at a time."""
    from deepvis_app.core.capture import capture_activations
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
    return json.loads(UnitVisLayout(out).find_max_json(layer).read_text())["units"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    find_max(tiny_model(), FindMaxRequest(dataset, LAYERS, out, top=5, batch_size=4))
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_topk_equals_brute_force(dataset, reference, layer):
    expected = brute_force(tiny_model(), dataset, layer, 5)
    units = read_units(reference, layer)
    assert len(units) == len(expected)
    for got, want in zip(units, expected):
        assert [e["value"] for e in got] == pytest.approx([-w[0] for w in want], rel=1e-5, abs=1e-6)
        # equal values are ordered by path (the file order), so paths match exactly
        assert [e["path"] for e in got] == [w[1] for w in want]
        assert [e.get("pos") for e in got] == [w[2] for w in want]


def test_unreadable_images_are_skipped_and_listed(reference):
    skipped = json.loads(UnitVisLayout(reference).find_max_skipped().read_text())["skipped"]
    assert skipped == ["broken.png"]
    assert all(e["path"] != "broken.png" for unit in read_units(reference, "conv") for e in unit)


def test_interrupted_and_resumed_equals_uninterrupted(dataset, reference, tmp_path):
    class Killed(Exception):
        pass

    def kill_after(batches: int):
        def progress(done, _total, _images):
            if done == batches:
                raise Killed
        return progress

    request = FindMaxRequest(dataset, LAYERS, tmp_path, top=5, batch_size=4, checkpoint_every=2)
    with pytest.raises(Killed):
        find_max(tiny_model(), request, kill_after(3))   # checkpoint holds 2 batches; batch 3 is lost
    with pytest.raises(Killed):
        find_max(tiny_model(), request, kill_after(5))
    result = find_max(tiny_model(), request)
    assert result.resumed_batches == 4
    for layer in LAYERS:
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


def test_two_gloo_processes_equal_one(dataset, reference, tmp_path):
    script = Path(__file__).with_name("find_max_rank.py")
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
    for layer in LAYERS:
        assert read_units(tmp_path, layer) == read_units(reference, layer)
    skipped = json.loads(UnitVisLayout(tmp_path).find_max_skipped().read_text())["skipped"]
    assert skipped == ["broken.png"]
