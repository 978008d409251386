#!/usr/bin/env bash
# Set up everything deepvis needs, once: a virtual environment in .venv with deepvis installed
# (editable, with the test extra). Safe to run again: it only reinstalls when pyproject.toml changed.
# As root on Debian/Ubuntu it also installs the system libraries Qt needs, Xvfb/xdotool for
# the real-window test, and chromium with its driver for the browser tests of `deepvis web`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=""
  for pkg in libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
             libxcb-shape0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libfontconfig1 libdbus-1-3 \
             xvfb xdotool x11-apps imagemagick chromium chromium-driver; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
  done
  if [ -n "$need" ]; then
    echo "bootstrap: apt-get install$need"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null) \
      || echo "bootstrap: warning: apt-get failed; the real-window and browser tests will be skipped"
  fi
fi

# pip warns about optional local package indexes that a machine may lack: keep the output readable.
quiet_pip() { .venv/bin/python -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.deepvis-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  quiet_pip install -q --upgrade pip
  if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
    # On x86_64 Linux pin the releases known to import together (torchvision needs a matching torch).
    if [ "$(uname -m)" = x86_64 ] && [ "$(uname -s)" = Linux ]; then
      quiet_pip install -q ${DEEPVIS_TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}
    fi
  fi
  quiet_pip install -q -e ".[test,dev]"
  echo "$want" > "$stamp"
fi
