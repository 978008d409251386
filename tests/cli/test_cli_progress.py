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
from deepvis_app.core.base import progress

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
    """What the command wrote on stderr, a terminal."""
    terminal, real = Terminal(), sys.stderr
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        assert main(argv) == 0
    finally:
        sys.stderr = real
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
                          "--faithfulness")) == 0
    err = capsys.readouterr().err
    assert "%|" not in err and "occlusion:" not in err


def test_a_quick_job_shows_no_bar_within_the_delay(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "BAR_DELAY", 60.0)
    shown = run_on_terminal(monkeypatch, attribute(tmp_path, "--method", "occlusion", "--window", "8"))
    assert "%|" not in shown


# --- the per-unit pipeline, optimize and dream -------------------------------------------------------

UNIT_MODEL = ["--model", "tests.helpers.models:FindMaxNet", "--set", "input_size=(16, 16)", "--device", "cpu"]


@pytest.fixture(scope="module")
def unit_vis(tmp_path_factory):
    """A dataset and its find-max results (no bar: not on a terminal)."""
    from tests.helpers.datasets import make_dataset

    dataset = make_dataset(tmp_path_factory.mktemp("images"), count=9)
    out = tmp_path_factory.mktemp("uv")
    assert main(["find-max", str(dataset), "--layers", "conv", "--top", "3", "--batch", "3", "--workers", "1",
                 "--out", str(out), *UNIT_MODEL]) == 0
    return dataset, out


def shown_bar(shown: str, desc: str) -> list[int]:
    """The percentages the bar named ``desc`` showed, in order."""
    lines = [line for line in re.split(r"[\r\n]", shown) if line.startswith(f"{desc}:")]
    return [int(match.group(1)) for line in lines if (match := BAR.search(line))]


@pytest.mark.slow
def test_find_max_crops_and_report_details_show_bars_on_a_terminal(unit_vis, tmp_path, monkeypatch):
    dataset, out = unit_vis
    scan = run_on_terminal(monkeypatch, ["find-max", str(dataset), "--layers", "conv", "--top", "3", "--batch", "2",
                                         "--workers", "1", "--out", str(tmp_path / "uv"), *UNIT_MODEL])
    assert shown_bar(scan, "find-max")[-1] == 100, scan
    crops = run_on_terminal(monkeypatch, ["crops", "--out", str(out), "--tile", "8", "--force", *UNIT_MODEL])
    assert shown_bar(crops, "conv")[-1:] == [100], repr(crops)   # the bar is named after the layer being cropped
    report = run_on_terminal(monkeypatch, ["report", "--out", str(tmp_path / "site"), "--unit-vis", str(out),
                                           "--details", "0-2", "--dataset", str(dataset), *UNIT_MODEL])
    assert shown_bar(report, "report details")[-1] == 100, report


def test_optimize_and_dream_show_bars_on_a_terminal(tmp_path, monkeypatch):
    optimized = run_on_terminal(monkeypatch, ["optimize", "--layer", "conv", "--units", "0-1", "--max-iter", "6",
                                              "--out", str(tmp_path / "uv"), *UNIT_MODEL])
    assert shown_bar(optimized, "conv")[-1] == 100, optimized
    dreamt = run_on_terminal(monkeypatch, ["dream", "--layer", "conv", "--num_steps", "4", "--iter_behavior", "",
                                           "--initial_size", "16x16", "--final_size", "16x16", "-o",
                                           str(tmp_path / "d.png"), *UNIT_MODEL])
    assert shown_bar(dreamt, "dream")[-1] == 100, dreamt


@pytest.mark.slow
def test_find_max_and_crops_print_no_bar_when_not_on_a_terminal(unit_vis, tmp_path, capsys):
    dataset, out = unit_vis
    assert main(["find-max", str(dataset), "--layers", "conv", "--top", "3", "--batch", "2", "--workers", "1",
                 "--out", str(tmp_path / "uv"), *UNIT_MODEL]) == 0
    assert main(["crops", "--out", str(out), "--tile", "8", "--force", *UNIT_MODEL]) == 0
    assert "%|" not in capsys.readouterr().err


@pytest.mark.slow   # the find-max fixture takes a few seconds
def test_report_details_from_a_folder_without_the_images_exit_1_with_one_line_each(unit_vis, tmp_path, capsys):
    _, out = unit_vis
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    code = main(["report", "--out", str(tmp_path / "site"), "--unit-vis", str(out), "--details", "0-2",
                 "--dataset", str(empty), *UNIT_MODEL])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert [line for line in err if "conv unit" in line and "no such file" in line.lower()].__len__() == 3, err
    assert "3 detail(s) not drawn" in err[-1]
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.slow   # the find-max fixture takes a few seconds
def test_report_details_with_a_dataset_that_is_no_folder_exit_2_before_loading(unit_vis, tmp_path, capsys):
    _, out = unit_vis
    code = main(["report", "--out", str(tmp_path / "site"), "--unit-vis", str(out), "--details", "0-2",
                 "--dataset", str(tmp_path / "WRONG"), *UNIT_MODEL])
    assert code == 2
    assert "--dataset" in capsys.readouterr().err and not (tmp_path / "site" / "index.html").exists()


@pytest.mark.slow   # the find-max fixture takes a few seconds
def test_report_details_from_the_right_folder_exit_0(unit_vis, tmp_path):
    dataset, out = unit_vis
    assert main(["report", "--out", str(tmp_path / "site"), "--unit-vis", str(out), "--details", "0-2",
                 "--dataset", str(dataset), *UNIT_MODEL]) == 0


@pytest.mark.slow   # the find-max fixture takes a few seconds
def test_find_max_and_crops_say_each_skipped_image_on_stderr_with_a_summary(unit_vis, tmp_path, capsys):
    dataset, out = unit_vis
    assert main(["find-max", str(dataset), "--layers", "conv", "--top", "3", "--batch", "3", "--workers", "1",
                 "--out", str(tmp_path / "uv"), *UNIT_MODEL]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert [line for line in err if line.startswith("deepvis find-max: broken.png: ")] and \
        err[-1] == "deepvis find-max: 1 image(s) skipped; the results cover the others"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert main(["crops", "--out", str(tmp_path / "uv"), "--dataset", str(elsewhere), "--tile", "8",
                 *UNIT_MODEL]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("deepvis crops: ") and "image(s) not cropped" in err[-1]
    assert sum(": missing from the dataset" in line or "no such file" in line.lower() for line in err) >= 2
