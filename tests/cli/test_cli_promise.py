"""The command line's promise: a user error exits 2 with one line per problem naming the file (or setting)
and the problem, never a traceback; anything else is an internal error: exit 1, one line on stderr, the
traceback in the log file. Run in-process through `deepvis_app.cli.main.main` (argument errors raise
SystemExit(2) from argparse), and as real processes where the exit code or the stream matters."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from deepvis_app.cli.main import main
from tests.helpers.cli import TINY, run_main
from tests.helpers.models import cli_classifier

ROOT = Path(__file__).resolve().parents[2]




def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and err.strip(), err
    for fragment in fragments:
        assert fragment in err, err
    assert all(line.startswith("deepvis") and "error: " in line for line in err.strip().splitlines()), err


@pytest.mark.parametrize("command", ["layers", "gui"])
@pytest.mark.parametrize("size", ["(0,0)", "(-5,-5)", "(100000,100000)"])
def test_impossible_input_size_is_one_line(capsys, command, size):
    code, out, err = run_main(capsys, command, "--set", f"input_size={size}")
    assert_user_error(code, err, "--set: setting 'input_size'", "between 1 and")
    assert len(err.strip().splitlines()) == 1


def test_input_channels_that_do_not_fit_name_the_files(capsys):
    code, _, err = run_main(capsys, "classify", "sample:chelsea", "--set", "input_channels=1")
    assert_user_error(code, err, str(Path("models") / "efficientnet_lite0" / "settings.py"), "setting 'mean'",
                      "input_channels = 1 (set by --set)")


def test_input_channels_the_network_cannot_take_names_the_settings(capsys):
    code, _, err = run_main(capsys, "classify", "sample:chelsea", *TINY, "--set", "input_channels=1",
                            "--set", "mean=(0.5,)", "--set", "std=(0.25,)")
    assert_user_error(code, err, "cannot run on a 1x1x16x16 input", "input_channels from --set")


@pytest.mark.parametrize("top", ["-3", "0", "many"])
def test_top_must_be_positive(capsys, top):
    code, out, err = run_main(capsys, "classify", "sample:chelsea", "--top", top)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--top" in err, err


@pytest.mark.parametrize("device, fragment", [
    ("meta", "device 'meta': the meta device holds no numbers"),
    ("mps", "device 'mps'"),
    ("nonsense:3", "device 'nonsense:3'"),
])
def test_unusable_devices(capsys, device, fragment):
    code, _, err = run_main(capsys, "layers", "--device", device)
    assert_user_error(code, err, fragment)
    assert len(err.strip().splitlines()) == 1 and len(err) < 400


@pytest.mark.parametrize("model, fragment", [
    ("os:system", "model 'os:system': calling it failed (TypeError"),
    ("os:sep", "model 'os:sep': str is not a factory"),
])
def test_factories_that_are_not_networks(capsys, model, fragment):
    code, _, err = run_main(capsys, "layers", "--model", model)
    assert_user_error(code, err, fragment)


@pytest.mark.parametrize("trust", [[], ["--trust-checkpoint"]])
@pytest.mark.parametrize("payload", [random.Random(0).randbytes(1000), b"\x80\x02" + random.Random(1).randbytes(500),
                                     b"hello world"])
def test_random_bytes_are_not_a_checkpoint(capsys, tmp_path, payload, trust):
    weights = tmp_path / "random.pth"
    weights.write_bytes(payload)
    code, _, err = run_main(capsys, "layers", *TINY, "--weights", str(weights), *trust)
    assert_user_error(code, err, f"{weights}: not a")
    assert "checkpoint" in err and "needs code execution" not in err


def test_nan_weights_are_reported_not_ranked(capsys, tmp_path):
    state = cli_classifier().state_dict()
    state["4.weight"] = torch.full_like(state["4.weight"], float("nan"))
    torch.save(state, tmp_path / "nan.pth")
    code, out, err = run_main(capsys, "classify", "sample:chelsea", *TINY, "--weights", str(tmp_path / "nan.pth"))
    assert_user_error(code, err.split("\n", 1)[-1], "sample:chelsea: the model's output holds NaN", "nan.pth")
    assert "nan" not in out.lower()
    assert "warning" in err.lower() and "NaN" in err.splitlines()[0]  # said at load time too


def test_zero_std_is_a_settings_error(capsys):
    code, out, err = run_main(capsys, "classify", "sample:chelsea", "--set", "std=(0,0,0)")
    assert_user_error(code, err, "setting 'std'", "must not be 0")
    assert out == ""


def test_nan_mean_in_a_settings_file_names_it(capsys, tmp_path, monkeypatch):
    local = tmp_path / "local.py"
    local.write_text("mean = (float('nan'),) * 3\n")
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(local))
    code, _, err = run_main(capsys, "classify", "sample:chelsea")
    assert_user_error(code, err, f"{local}: setting 'mean'", "finite")


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_settings_local_env_must_name_a_file(capsys, tmp_path, monkeypatch, kind):
    target = tmp_path / ("nope.py" if kind == "missing" else "")
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(target))
    code, _, err = run_main(capsys, "settings")
    assert_user_error(code, err, str(target), "DEEPVIS_SETTINGS_LOCAL")


def test_settings_file_calling_sys_exit_is_named(capsys, tmp_path, monkeypatch):
    local = tmp_path / "local.py"
    local.write_text("device = 'cpu'\nimport sys\nsys.exit(3)\n")
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(local))
    code, _, err = run_main(capsys, "settings")
    assert_user_error(code, err, f"{local}:3: calls sys.exit(3)")


def test_mean_count_and_missing_layers_name_the_file(capsys, tmp_path, monkeypatch):
    local = tmp_path / "local.py"
    local.write_text("mean = (0.5, 0.5)\n")
    monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", str(local))
    code, _, err = run_main(capsys, "layers")
    assert_user_error(code, err, f"{local}: setting 'mean'")
    local.write_text("layers = ('_blocks.1', '_blok.2')\n")
    code, _, err = run_main(capsys, "layers", "--device", "cpu")
    assert_user_error(code, err, f"{local}: setting 'layers'", "'_blok.2' (did you mean '_blocks.2'?)")


@pytest.mark.parametrize("shot, fragment", [
    ("{tmp}", "is a directory"),
    ("{tmp}/shot.bmpx", "unknown extension '.bmpx'"),
    ("{tmp}/file.txt/shot.png", "is a file, not a folder"),
    ("/proc/deepvis-shot.png", "not writable"),
])
def test_screenshot_path_is_checked_before_anything_runs(capsys, tmp_path, monkeypatch, shot, fragment):
    (tmp_path / "file.txt").write_text("x")
    import deepvis_app.cli.common as common

    monkeypatch.setattr(common, "load_settings", lambda **_: pytest.fail("computed before checking the output"))
    code, _, err = run_main(capsys, "gui", "--screenshot", shot.format(tmp=tmp_path))
    assert_user_error(code, err, fragment)


def test_log_level_flag_and_environment(capsys, monkeypatch, tmp_path):
    code, _, err = run_main(capsys, "--log-level", "info", "layers", *TINY)
    assert code == 0 and "deepvis: INFO: model " in err
    code, _, err = run_main(capsys, "layers", *TINY)
    assert code == 0 and "INFO" not in err
    monkeypatch.setenv("DEEPVIS_LOG_LEVEL", "debug")
    code, _, err = run_main(capsys, "layers", *TINY)
    assert code == 0 and "deepvis: INFO deepvis.core.model: model " in err
    monkeypatch.setenv("DEEPVIS_LOG_LEVEL", "loud")
    code, _, err = run_main(capsys, "layers", *TINY)
    assert_user_error(code, err, "DEEPVIS_LOG_LEVEL=loud: not a log level")


def test_log_file_option(capsys, tmp_path):
    log_file = tmp_path / "logs" / "run.log"
    code, _, err = run_main(capsys, "layers", *TINY, "--log-file", str(log_file))
    assert code == 0 and "INFO" not in err
    text = log_file.read_text()
    assert "INFO deepvis.core.model" in text and "layers --model=" in text
    code, _, err = run_main(capsys, "layers", "--log-file", str(tmp_path))
    assert_user_error(code, err, "is a directory")


def test_window_logs_to_the_state_folder_by_default(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code, _, err = run_main(capsys, "gui", "--set", "input_size=(0,0)")
    assert code == 2
    log_file = tmp_path / "state" / "deepvis" / "deepvis.log"
    assert "deepvis gui --set input_size=(0,0)" in log_file.read_text()


def test_any_other_exception_is_an_internal_error(capsys, tmp_path, monkeypatch):
    import deepvis_app.keymap as keymap

    def broken(*_args, **_kwargs):
        raise ValueError("boom: a bug, not the user's mistake")

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(keymap, "help_rows", broken)
    code, out, err = run_main(capsys, "keys")
    log_file = tmp_path / "state" / "deepvis" / "deepvis.log"
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "internal error" in err and str(log_file) in err and "boom" in err
    logged = log_file.read_text()
    assert "Traceback (most recent call last)" in logged and "ValueError: boom" in logged and "deepvis keys" in logged


def test_error_types_are_deepvis_errors():
    from deepvis_app.core.nn.model import ModelError
    from deepvis_app.errors import DeepvisError
    from deepvis_app.io.images import ImageReadError
    from deepvis_app.io.playlist import InputError
    from deepvis_app.settings.loader import SettingsError

    for error in (SettingsError, ModelError, ImageReadError, InputError):
        assert issubclass(error, DeepvisError), error


# --- as real processes ---------------------------------------------------------------------------------------


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "state")}


def test_internal_error_in_a_real_process(tmp_path):
    script = ("import sys, deepvis_app.keymap as k\n"
              "k.help_rows = lambda *a, **kw: {}['missing']\n"
              "from deepvis_app.cli.main import main\n"
              "sys.exit(main(['keys']))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "KeyError" in (tmp_path / "state" / "deepvis" / "deepvis.log").read_text()


@pytest.mark.parametrize("args", [["keys"], ["layers", "--json", *TINY[:1], "--set", "input_size=(16,16)"]])
def test_reader_closing_the_pipe_ends_quietly(tmp_path, args):
    proc = subprocess.Popen([sys.executable, "-m", "deepvis_app", *args], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head` that already quit
    _, err = proc.communicate(timeout=120)
    assert err.decode() == ""
    assert proc.returncode == 141


def test_help_speaks_to_users(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    intro = out.split("\n\n")[1]
    assert intro.startswith("Look inside") and "classify" in intro and "entry point" not in out


def test_run_toolbox_help_names_itself(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "run_toolbox.py"), "--help"], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: run_toolbox.py "), done.stdout
    assert "--screenshot" in done.stdout and "--log-file" in done.stdout


def test_window_reports_exceptions_escaping_slots_and_threads(capsys, tmp_path, monkeypatch):
    import argparse
    import sys
    import threading

    from deepvis_app.cli.logs import LogSetup

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    before = sys.excepthook, threading.excepthook
    logs = LogSetup(["gui"])
    logs.start(argparse.Namespace(log_to_file=True, command="gui"))
    try:
        try:
            raise ZeroDivisionError("in a slot")
        except ZeroDivisionError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        worker = threading.Thread(target=lambda: {}["in a thread"], name="compute")
        worker.start()
        worker.join()
    finally:
        logs.stop()
    assert (sys.excepthook, threading.excepthook) == before
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "internal error in the window (ZeroDivisionError: in a slot)" in err[0]
    assert "internal error in thread compute (KeyError" in err[1]
    logged = (tmp_path / "state" / "deepvis" / "deepvis.log").read_text()
    assert logged.count("Traceback (most recent call last)") == 2
