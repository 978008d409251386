"""What the command-line tests share: a tiny model's flags and `main` run in-process with its output."""

from __future__ import annotations

from deepvis_app.cli.main import main

TINY = ["--model=tests.helpers.models:cli_classifier", "--set", "input_size=(16, 16)", "--device", "cpu"]


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``deepvis ARGS`` (argparse's own exit included)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
