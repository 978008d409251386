#!/usr/bin/env bash
# Open the toolbox on the default model and the sample images (sets everything up first).
# Arguments go to run_toolbox.py, e.g. --model torchvision:resnet18 --weights r18.pth, --input DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
# Without a display Qt aborts with a misleading xcb message: say so at once, before the set-up (the same
# line as `deepvis gui`, deepvis_app/cli/gui_command.py).
if [ "$(uname -s)" = Linux ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run.sh: error: no display (DISPLAY and WAYLAND_DISPLAY are unset): run the window under \`xvfb-run\`, use" \
       "\`deepvis web\` for the toolbox in a browser, or set QT_QPA_PLATFORM=offscreen for --screenshot" >&2
  exit 2
fi
bash scripts/bootstrap.sh
exec .venv/bin/python run_toolbox.py "$@"
