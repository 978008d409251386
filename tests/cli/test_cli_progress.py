"""Command-line jobs longer than a couple of seconds show a bar with the elapsed time and the ETA on a
terminal, and print nothing of it when stderr is not a terminal (issue 20). ``BAR_DELAY`` is set to 0
here (and the redraw interval too) so that the tiny model's quick jobs show the bar they would show
after 2 s on a real one."""

from __future__ import annotations

import io
import re
import sys

import pytest

from deepvis_app.cli.main import main
from deepvis_app.core import progress

MODEL = ["--model", "tests.helpers.models:session_classifier", "--set", "input_size=(32, 32)", "--device", "cpu"]
BAR = re.compile(r"(\d+)%\|.*\[\d\d:\d\d<\d\d:\d\d")   # "40%|####   | 40/100 [00:03<00:04, ...]": elapsed<ETA


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_delay(monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY", 0.0)
    monkeypatch.setattr(progress, "BAR_INTERVAL", 0.0)   # every update drawn


def run_on_terminal(monkeypatch, argv: list[str]) -> str:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    monkeypatch.undo()
    return terminal.getvalue()


def attribute(tmp_path, *args: str) -> list[str]:
    return ["attribute", "sample:chelsea", *MODEL, "-o", str(tmp_path / "m.png"), *args]


@pytest.mark.parametrize(("args", "desc"), [
    (["--method", "occlusion", "--window", "8", "--stride", "4", "--batch", "4"], "occlusion"),
    (["--method", "integrated_gradients", "--steps", "8", "--batch", "2"], "integrated_gradients"),
    (["--method", "scorecam", "--batch", "2"], "scorecam"),
    (["--method", "occlusion", "--window", "8", "--stride", "8", "--batch", "2", "--all-classes", "ALL"],
     "occlusion, every class"),
    (["--method", "gradient", "--target", "1", "--faithfulness", "--faithfulness-steps", "40"], "faithfulness"),
    (["--method", "gradient", "--target", "1", "--randomization-check"], "randomization check"),
])
def test_slow_attribute_jobs_show_a_bar_with_elapsed_and_eta_on_a_terminal(tmp_path, monkeypatch, args, desc):
    args = [str(tmp_path / "all.npy") if a == "ALL" else a for a in args]
    shown = run_on_terminal(monkeypatch, attribute(tmp_path, *args))
    lines = [line for line in re.split(r"[\r\n]", shown) if line.startswith(f"{desc}:")]
    percents = [int(BAR.search(line).group(1)) for line in lines if BAR.search(line)]
    assert len(percents) >= 2, shown
    assert percents == sorted(percents) and percents[-1] >= 90, shown   # it moves, up to the end


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    assert main(attribute(tmp_path, "--method", "occlusion", "--window", "8", "--stride", "4", "--batch", "4",
                          "--randomization-check")) == 0
    err = capsys.readouterr().err
    assert "%|" not in err and "occlusion:" not in err


def test_a_quick_job_shows_no_bar_within_the_delay(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY", 60.0)
    shown = run_on_terminal(monkeypatch, attribute(tmp_path, "--method", "occlusion", "--window", "8"))
    assert "%|" not in shown
