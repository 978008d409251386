"""`python -m deepvis_app ...` runs the command line (also under torchrun)."""

import sys

from deepvis_app.cli.main import main

sys.exit(main())
