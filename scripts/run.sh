#!/usr/bin/env bash
# Open the toolbox on the default model and the sample images (sets everything up first).
# Arguments go to run_toolbox.py, e.g. --model torchvision:resnet18 --weights r18.pth, --input DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python run_toolbox.py "$@"
