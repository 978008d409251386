#!/usr/bin/env python3
"""Open the deepvis toolbox window (same as `deepvis gui ...`)."""

import sys

from deepvis_app.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
