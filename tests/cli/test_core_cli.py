"""The command-line contract of `deepvis layers`, `classify` and `settings` (run as a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def deepvis(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "deepvis_app", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def test_layers_json_shape_contract():
    result = deepvis("layers", "--json")
    assert result.returncode == 0, result.stderr
    layers = json.loads(result.stdout)
    assert layers[0] == {"name": "_stem_act", "kind": "ReLU6", "shape": [32, 112, 112]}
    assert layers[-1] == {"name": "_fc", "kind": "Linear", "shape": [1000]}


def test_classify_json(tmp_path):
    from deepvis_app.io.images import sample_image, write_image

    write_image(tmp_path / "cat.png", sample_image("chelsea"))
    result = deepvis("classify", str(tmp_path / "cat.png"), "--top", "3", "--json", "--device", "cpu")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [sorted(row) for row in rows] == [["index", "label", "prob"]] * 3
    assert rows[0]["index"] in range(281, 286) and rows[0]["prob"] >= rows[1]["prob"] >= rows[2]["prob"]


@pytest.mark.parametrize("args, fragment", [
    (("classify", "/no/such.jpg"), "/no/such.jpg: no such file"),
    (("layers", "--set", "fast_move_dis=3"), "did you mean 'fast_move_dist'"),
    (("layers", "--model", "torchvision:resnet18", "--weights", "/no/w.pth"), "weights file /no/w.pth does not exist"),
    (("layers", "--model", "nosuchmodel"), "model 'nosuchmodel'"),
])
def test_user_errors_exit_2_with_one_message(args, fragment):
    result = deepvis(*args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_unreadable_image_is_named(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    result = deepvis("classify", str(bad))
    assert result.returncode == 2 and f"{bad}: not a readable image" in result.stderr


def test_settings_show_origin(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("fast_move_dist = 4\n")
    result = deepvis("settings", "--show-origin", "--set", "device='cpu'", env={"DEEPVIS_SETTINGS_LOCAL": str(local)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"fast_move_dist = 4    # {local}" in lines
    assert "device = 'cpu'    # --set" in lines
    assert any(line.startswith("input_size = (224, 224)    # ") and "efficientnet_lite0" in line for line in lines)
