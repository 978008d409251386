#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the modules that turn settings and flags into behaviour; not part of CI.
#
#   bash scripts/mutate.sh deepvis_app/core/app/actions.py [deepvis_app/settings/loader.py ...]
#
# Each MODULE is mutated in a scratch copy of the working tree (the files git tracks or would track, under
# ${MUTATE_DIR:-/tmp/deepvis-mutate}), against the tests that exercise it (the table below; MUTATE_TESTS="..."
# replaces it), "not slow" ones only. Prints mutmut's results and, per module, "MODULE killed/total = score"
# (timeouts count as killed; "no tests" and survivors do not). Survivors: `cd $MUTATE_DIR/<name> &&
# mutmut show <mutant>`. Needs `pip install mutmut` (3.x) in .venv. Scores and kept survivors: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ "$#" -ge 1 ] || { echo "usage: scripts/mutate.sh MODULE.py..." >&2; exit 2; }
mutmut="$root/.venv/bin/mutmut"
[ -x "$mutmut" ] || { echo "mutate.sh: mutmut is not installed: .venv/bin/pip install 'mutmut>=3,<4'" >&2; exit 2; }

tests_for() {   # the test files that exercise a module (what a mutant of it must fail)
  case "$1" in
    deepvis_app/settings/loader.py) echo "tests/core/test_settings.py tests/core/test_settings_legacy.py tests/core/test_settings_mean_image.py tests/core/test_settings_loader_edges.py tests/core/test_hostile_inputs2.py" ;;
    deepvis_app/settings/legacy.py) echo "tests/core/test_settings_legacy.py tests/gui/test_legacy_window_settings.py" ;;
    deepvis_app/core/app/actions.py) echo "tests/core/test_actions.py tests/core/test_actions_cycles.py tests/core/test_keymap.py" ;;
    deepvis_app/core/imaging/display.py) echo "tests/core/test_display.py tests/core/test_display_mutants.py" ;;
    deepvis_app/core/app/render.py) echo "tests/core/test_render_pieces.py tests/core/test_render_unit_images.py tests/core/test_render_snapshot.py tests/core/test_pattern_weights.py tests/core/test_default_views.py tests/core/test_pattern_sources.py" ;;
    deepvis_app/io/playlist.py) echo "tests/io/test_playlist.py tests/io/test_static_files_case.py tests/io/test_images.py tests/core/test_pair_inputs.py" ;;
    deepvis_app/core/unitvis/optimize/regularizers.py) echo "tests/core/test_regularizers.py tests/core/test_regularizers_mutants.py tests/core/test_dream.py::test_tv_operators_gradient_equals_autograd tests/core/test_dream.py::test_sobel_operators_are_cnn_vis_filters" ;;
    deepvis_app/core/unitvis/dream/config.py) echo "tests/core/test_run_configs.py tests/core/test_options.py" ;;
    deepvis_app/core/unitvis/dream/*.py) echo "tests/core/test_dream.py tests/cli/test_dream_cnnvis_cli.py" ;;
    deepvis_app/core/unitvis/optimize/config.py) echo "tests/core/test_run_configs.py tests/core/test_options.py tests/core/test_transform_spec.py" ;;
    *) echo "" ;;
  esac
}

base=${MUTATE_DIR:-/tmp/deepvis-mutate}
mkdir -p "$base"
for module in "$@"; do
  [ -f "$module" ] || { echo "mutate.sh: $module: no such file" >&2; exit 2; }
  tests=${MUTATE_TESTS:-$(tests_for "$module")}
  [ -n "$tests" ] || { echo "mutate.sh: $module: no tests known for it: set MUTATE_TESTS=\"tests/...\"" >&2; exit 2; }
  name=$(echo "$module" | tr '/.' '__')
  work="$base/$name"
  rm -rf "$work" && mkdir -p "$work"
  git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -f "{}" ] && printf "%s\0" "{}"' \
    | tar -c --null -T - | tar -x -C "$work"
  # mutmut reads [tool.mutmut] from pyproject.toml: added to the scratch copy only
  {
    echo ""
    echo "[tool.mutmut]"
    echo "source_paths = [\"deepvis_app\"]"
    echo "only_mutate = [\"$module\"]"
    printf 'pytest_add_cli_args_test_selection = ['; for t in $tests; do printf '"%s", ' "$t"; done; echo ']'
    echo 'pytest_add_cli_args = ["-m", "not slow", "-q", "-p", "no:cacheprovider", "-x"]'
    echo 'also_copy = ["models", "settings", "bench"]'
  } >> "$work/pyproject.toml"
  echo "== $module (tests: $tests)"
  # one torch thread: mutmut forks each mutant's test run from a process whose OpenMP pool already ran,
  # and a forked child's first parallel region then waits forever (the "timeouts" of earlier runs)
  (cd "$work" && QT_QPA_PLATFORM=offscreen DEEPVIS_SETTINGS_LOCAL="" OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$mutmut" run --max-children "${MUTATE_JOBS:-2}" >"$work/run.log" 2>&1) || {
    echo "mutate.sh: mutmut failed on $module; see $work/run.log" >&2; tail -20 "$work/run.log" >&2; exit 1; }
  (cd "$work" && "$mutmut" results --all true >"$work/results.txt" 2>&1 || true)
  "$root/.venv/bin/python" - "$work/results.txt" "$module" <<'PY'
import collections, re, sys
counts = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    match = re.match(r"\s*(\S+): (.+)$", line)
    if match and "__mutmut_" in match[1]:
        counts[match[2].strip()] += 1
total = sum(counts.values())
killed = counts["killed"] + counts["timeout"]
score = f"{100 * killed / total:.1f}%" if total else "n/a"
print(f"{sys.argv[2]} killed {killed}/{total} = {score}  ({dict(counts)})")
PY
done
