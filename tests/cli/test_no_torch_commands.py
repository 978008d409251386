"""`deepvis --help`, `deepvis keys` and `deepvis settings` need no model, so they import no torch (which
costs seconds and hundreds of MB): each runs in a fresh process here and torch must stay out of it.
`deepvis --help` lists the commands from `cli.main.COMMANDS`; that table must say what the command
modules register, or a new command would be missing from the help (or run the wrong module)."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest

from deepvis_app.cli.main import COMMAND_MODULES, COMMANDS, main

PROBE = """
import sys
from deepvis_app.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("TORCH-IMPORTED" if "torch" in sys.modules else "TORCH-ABSENT", code)
"""


@pytest.mark.parametrize("argv", [["--help"], ["keys"], ["keys", "--markdown"], ["settings", "--show-origin"],
                                  ["--log-level", "info", "keys"], ["keys", "--help"]])
def test_commands_that_need_no_model_import_no_torch(argv):
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ))
    *shown, last = result.stdout.strip().splitlines()
    assert last == "TORCH-ABSENT 0", (last, result.stderr)
    assert len(shown) > 5   # it printed its table / help


def test_the_command_table_is_what_the_modules_register():
    registered: dict[str, tuple[str, str]] = {}
    for module_name in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module_name).register(subparsers)
        for action in subparsers._choices_actions:
            registered[action.dest] = (module_name, action.help)
    assert registered == COMMANDS


def test_a_command_gets_its_own_options_after_top_level_ones(capsys):
    assert main(["--log-level", "warning", "keys", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("|")
    with pytest.raises(SystemExit) as exit:
        main(["kees"])
    assert exit.value.code == 2 and "invalid choice: 'kees'" in capsys.readouterr().err
