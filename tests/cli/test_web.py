"""`deepvis web` on the command line: its options checked in one line each, the address with its token
printed first, Ctrl+C ends it cleanly, and a missing extra names `pip install deepvis[web]`."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deepvis_app.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--model=tests.helpers.models:cli_classifier", "--set", "input_size=(16, 16)", "--device", "cpu"]
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})$")


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("size", [("100000", "100000"), ("-5", "-5"), ("0", "600"), ("640", "4097")])
def test_a_bad_size_is_one_line_and_exit_2(capsys, size):
    # A missing input after the size: were the size let through, the command would stop there, not serve.
    code, out, err = run_main(capsys, "web", "--size", *size, "--input", "/nonexistent/x.png", *TINY)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"deepvis: error: --size {size[0]} {size[1]}: each side must be 64 to 4096 "
                                        "pixels"]


def test_a_bad_port_is_one_line(capsys):
    code, _out, err = run_main(capsys, "web", "--port", "70000", "--input", "/nonexistent/x.png", *TINY)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--port 70000" in err


def test_without_the_web_extra_the_message_names_it(capsys, monkeypatch):
    for name in [n for n in sys.modules if n == "deepvis_app.web" or n.startswith("deepvis_app.web.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "uvicorn", None)     # "not installed"
    code, _out, err = run_main(capsys, "web", *TINY)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "pip install deepvis[web]" in err


def test_a_port_in_use_is_one_clear_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, out, err = run_main(capsys, "web", "--port", str(port), "--input", "sample:chelsea", *TINY)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"deepvis: error: cannot listen on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.slow
def test_the_address_with_its_token_comes_first_and_ctrl_c_ends_it(tmp_path):
    env = {**os.environ, "DEEPVIS_SETTINGS_LOCAL": "", "XDG_STATE_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "deepvis_app", "web", "--port", "0", "--input",
                                "sample:chelsea", *TINY], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        first = _first_line(process, timeout=60)
        match = URL_LINE.match(first)
        assert match, first
        port, token = match.groups()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/state?token={token}", timeout=30) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err, err


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                return process.stdout.readline().rstrip("\n")
            assert process.poll() is None, process.stderr.read()
    pytest.fail("deepvis web printed nothing in time")
