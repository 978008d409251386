#!/usr/bin/env bash
# Run the whole test suite (sets everything up first). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/lint-imports            # layers and "Qt only under gui/" ([tool.importlinter] in pyproject.toml)
.venv/bin/mypy                    # core/ and settings/ ([tool.mypy] in pyproject.toml)
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "test.sh: pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
