#!/usr/bin/env python3
"""Open the deepvis toolbox window (same as `deepvis gui ...`, with the same options and errors)."""

import sys

from deepvis_app.cli.gui_command import standalone_parser
from deepvis_app.cli.main import run

if __name__ == "__main__":
    sys.exit(run(lambda: standalone_parser("run_toolbox.py"), sys.argv[1:]))
