"""Settings layers: defaults <- model file <- local file <- --set, with provenance and clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deepvis_app.settings.defaults import Settings, setting_docs, setting_names
from deepvis_app.settings.loader import SettingsError, load_settings


def _model_dir(root: Path, body: str) -> Path:
    folder = root / "models" / "mynet"
    folder.mkdir(parents=True)
    (folder / "settings.py").write_text(textwrap.dedent(body))
    return folder


@pytest.fixture
def models_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPVIS_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path


def test_layers_override_in_order_with_origins(models_root):
    folder = _model_dir(models_root, """
        builder = "torchvision:resnet18"
        input_size = (128, 96)
        fast_move_dist = 5
        labels = "labels.txt"
    """)
    local = models_root / "local.py"
    local.write_text("fast_move_dist = 7\ndevice = 'cpu'\nstatic_files_dir = 'pics'\n")
    loaded = load_settings(model="mynet", overrides=["device='cuda:1'", "boost_gamma_choices=[1, 0.5]"],
                           local_file=local)
    s = loaded.settings
    assert s.input_size == (128, 96) and s.fast_move_dist == 7 and s.device == "cuda:1"
    assert s.boost_gamma_choices == (1.0, 0.5)
    assert s.labels == str(folder / "labels.txt"), "relative paths resolve against the file that set them"
    assert s.static_files_dir == str(models_root / "pics")
    assert loaded.origins["input_size"] == str(folder / "settings.py")
    assert loaded.origins["fast_move_dist"] == str(local)
    assert loaded.origins["device"] == "--set"
    assert loaded.origins["grad_norm_blur_radius"] == "default"
    assert s.model_dir == str(folder)


def test_unknown_names_get_did_you_mean_and_all_problems_at_once(models_root):
    _model_dir(models_root, "input_sise = (1, 2)\n_helper = 3\nimport os\n")
    local = models_root / "local.py"
    local.write_text("fast_move_dis = 2\n")
    with pytest.raises(SettingsError) as info:
        load_settings(model="mynet", overrides=["boost_gama_choices=(1,)", "device=3"], local_file=local)
    message = str(info.value)
    assert "unknown setting 'input_sise' (did you mean 'input_size'?)" in message
    assert "unknown setting 'fast_move_dis' (did you mean 'fast_move_dist'?)" in message
    assert "--set boost_gama_choices: unknown setting (did you mean 'boost_gamma_choices'?)" in message
    assert "setting 'device' = 3 is not str" in message
    assert len(info.value.problems) == 4


def test_syntax_error_names_file_and_line(models_root):
    local = models_root / "local.py"
    local.write_text("device = 'cpu'\nfast_move_dist = = 3\n")
    with pytest.raises(SettingsError, match=rf"{local}:2: syntax error"):
        load_settings(local_file=local)


def test_settings_files_may_hold_functions(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("def layer_filter(name):\n    return 'bn' not in name\n")
    s = load_settings(local_file=local).settings
    assert s.layer_filter("conv1") and not s.layer_filter("bn1")


def test_local_file_from_environment(tmp_path, monkeypatch):
    local = tmp_path / "mine.py"
    local.write_text("fast_move_dist = 11\n")
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(local))
    assert load_settings().settings.fast_move_dist == 11


def test_unknown_model_lists_known_folders(models_root):
    _model_dir(models_root, "builder = 'torchvision:resnet18'\n")
    with pytest.raises(SettingsError, match="model 'nope'.*model folders: mynet"):
        load_settings(model="nope", local_file=models_root / "none.py")


def test_every_setting_is_documented():
    docs = setting_docs()
    undocumented = [name for name in setting_names() if not docs.get(name)]
    assert not undocumented
    assert Settings().model == "efficientnet_lite0"


def test_settings_local_env_must_exist_unless_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(tmp_path / "typo.py"))
    with pytest.raises(SettingsError, match=rf"{tmp_path / 'typo.py'}: no such settings file"):
        load_settings()
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(tmp_path))
    with pytest.raises(SettingsError, match=rf"{tmp_path}: is a folder, not a settings file"):
        load_settings()
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", "")
    loaded = load_settings()
    assert loaded.settings.fast_move_dist == Settings().fast_move_dist
    assert all(origin in ("default", "--set") or "models" in origin for origin in loaded.origins.values())


def test_settings_file_failures_name_the_line(tmp_path):
    local = tmp_path / "local.py"
    local.write_text("device = 'cpu'\n\nraise SystemExit\n")
    with pytest.raises(SettingsError, match=rf"{local}:3: calls sys.exit\(\)"):
        load_settings(local_file=local)
    local.write_text("import sys\ndef _f():\n    return {}['x']\nfast_move_dist = _f()\n")
    with pytest.raises(SettingsError, match=rf"{local}:3: running it failed: KeyError"):
        load_settings(local_file=local)


@pytest.mark.parametrize("override, fragment", [
    ("input_size=(0, 0)", "'input_size' = (0, 0): values must be between 1 and 8192"),
    ("input_size=(-5, 7)", "'input_size' = (-5, 7)"),
    ("input_size=(100000, 100000)", "between 1 and 8192"),
    ("input_channels=2", "'input_channels' = 2: choose from 3, 1"),
    ("std=(0.2, 0, 0.2)", "'std' = (0.2, 0.0, 0.2): values must not be 0"),
    ("input_scale=0", "'input_scale' = 0.0: must be a finite, non-zero number"),
    ("channel_order='GBR'", "'channel_order' = 'GBR': choose from RGB, BGR"),
    ("unit_backprop='guidde'", "'unit_backprop' = 'guidde': choose from auto, deconv, guided, gradient "
                               "(did you mean 'guided'?)"),
    ("optimize_on_request_steps=0", "'optimize_on_request_steps' = 0: must be between 1 and 100000"),
    ("font_scale=0", "'font_scale' = 0.0: must be above 0 and at most 10"),
    ("font_scale=11", "'font_scale' = 11.0: must be above 0 and at most 10"),
    ("token_grid={'x': (0, 4)}", "entry 'x': (0, 4) must map a layer-name prefix"),
    ("optimize_on_request_preset=''", "name a preset of `deepvis optimize`"),
    ("layers=()", "'layers' = (): lists no layer"),
    ("key_overrides={'toggle_help': ('l',)}", "key_overrides bind a key to several actions"),
])
def test_values_that_cannot_work_are_named(tmp_path, override, fragment):
    with pytest.raises(SettingsError) as info:
        load_settings(overrides=[override], local_file=tmp_path / "none.py")
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("--set: ") and fragment in info.value.problems[0]


def test_mean_std_count_names_the_model_file(models_root):
    folder = _model_dir(models_root, "builder = 'torchvision:resnet18'\ninput_channels = 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(model="mynet", local_file=models_root / "none.py")
    model_file = folder / "settings.py"
    assert info.value.problems == [
        f"{model_file}: setting 'input_channels' = 1 needs 'mean' with 1 value; set it too "
        f"(the default is (0.485, 0.456, 0.406))",
        f"{model_file}: setting 'input_channels' = 1 needs 'std' with 1 value; set it too "
        f"(the default is (0.229, 0.224, 0.225))",
    ]
    local = models_root / "local.py"
    local.write_text("mean = (0.5, 0.5, 0.5)\nstd = (0.5,)\n")
    with pytest.raises(SettingsError) as info:
        load_settings(model="mynet", local_file=local)
    assert info.value.problems == [
        f"{local}: setting 'mean' = (0.5, 0.5, 0.5): needs 1 value for input_channels = 1 (set by {model_file})"]


def test_models_root_prefers_the_shipped_copy(tmp_path, monkeypatch):
    from deepvis_app.settings import loader

    monkeypatch.delenv("DEEPVIS_MODELS_DIR", raising=False)
    assert loader.models_root() == loader.REPO_ROOT / "models"  # this source checkout
    assert (loader.models_root() / "efficientnet_lite0" / "settings.py").is_file()
    (tmp_path / "pkg" / "models").mkdir(parents=True)
    monkeypatch.setattr(loader, "PACKAGE_DIR", tmp_path / "pkg")
    assert loader.models_root() == tmp_path / "pkg" / "models"  # an installed wheel


def test_installed_package_keeps_local_settings_in_the_config_folder(tmp_path, monkeypatch):
    from deepvis_app.settings import loader

    assert loader.default_local_settings_file() == loader.REPO_ROOT / "settings" / "settings_local.py"
    monkeypatch.setattr(loader, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert loader.default_local_settings_file() == tmp_path / "config" / "deepvis" / "settings_local.py"
