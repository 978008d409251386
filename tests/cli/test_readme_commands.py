"""Every shell command in README.md's ```bash blocks works as written (issue 20).

The commands are read from the README itself, so a command added there is tested here without an
edit. Each one is first checked by ``bash -n`` (an unquoted ``(128,128)`` is a syntax error), then run
by bash in a scratch folder that holds what the README's placeholders name (`IMAGES`, `LIST.txt`, `UV`
with find-max results, `SITE`), with:

- the input size and the steps reduced through flags the README shows (`REDUCTIONS`, appended to the
  command; a flag given twice keeps the last);
- the window run headless: `run_toolbox.py` / `deepvis gui` get ``--screenshot`` under
  ``QT_QPA_PLATFORM=offscreen`` and exit once the picture is written;
- `SKIPS`: commands that cannot run here, each with its reason (the user's own files, a server that
  runs until stopped, the set-up scripts).

A command fails the test when it does not parse, exits non-zero, or writes nothing (no file and no
output). A command matching none of the tables runs as it is, with the reductions every command gets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
SMALL = '--set "input_size=(64, 64)"'   # every model command, unless it sets input_size itself
TIMEOUT = 900

# (pattern in the command, reason): commands not run, with why.
SKIPS: list[tuple[str, str]] = [
    (r"^bash scripts/run\.sh", "sets up .venv and opens the window until it is closed (the window is tested "
                               "headless through run_toolbox.py below and in tests/e2e)"),
    (r"^bash scripts/test\.sh", "runs the whole test suite, this test included"),
    (r"\bdeepvis web\b", "serves the browser page until stopped (tests/web run the server)"),
    (r"--weights (?!random\b)\S+", "needs the user's own weights file"),
    (r"\bhf:path/to/folder\b", "needs a Hugging Face save_pretrained folder of the user's"),
    (r"\bmypackage\.", "needs the user's own module"),
    (r"^ssh ", "needs a remote machine"),
]

# (pattern in the command, arguments appended): fewer windows / steps / samples, same code paths.
REDUCTIONS: list[tuple[str, str]] = [
    (r"--method occlusion_layer\b", "--window 16 --stride 16 --batch 64"),
    (r"--method occlusion\b", "--window 16 --stride 16 --batch 64"),
    (r"--method (smoothgrad|gradient_shap|noise_tunnel)\b", "--samples 2"),
    (r"--method integrated_gradients\b", "--steps 4"),
    (r"\bdeepvis optimize\b", "--max-iter 3"),
    (r"--snapshots ", "--snapshots 1,2"),
    (r"\bdeepvis crops\b", "--idx-end 4"),
    (r"\bdeepvis dream\b", "--num_steps 2"),
]
# Commands that keep the model's own input size: they read the shipped per-unit images, whose
# positions are in the default 224 x 224 input.
FULL_SIZE = [r"\bdeepvis report\b(?!.*--unit-vis)", r"--region "]   # --region: in input pixels
# The user's folders the README names, and what stands for them here.
PLACEHOLDERS = {"~/Pictures": "IMAGES", "PYTHONPATH=. ": f"PYTHONPATH={REPO} "}   # `.`: the checkout


def bash_commands(text: str) -> list[str]:
    """The commands of the README's ```bash blocks, one per line (backslash continuations joined)."""
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
    return commands


def without_comment(command: str) -> str:
    """The command less a trailing ``# comment`` (a ``#`` after a blank, outside quotes)."""
    quote = None
    for index, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or command[index - 1].isspace()):
            return command[:index].rstrip()
    return command


def skip_reason(command: str) -> str | None:
    return next((reason for pattern, reason in SKIPS if re.search(pattern, command)), None)


def runnable(command: str, workdir: Path) -> str:
    """The command as it runs here: placeholders, absolute paths to the checkout, reductions."""
    code = without_comment(command)
    for name, stand_in in PLACEHOLDERS.items():
        code = code.replace(name, stand_in)
    code = re.sub(r"(^|\s)\.venv/bin/", rf"\g<1>{VENV_BIN}/", code)
    code = re.sub(r"(^|\s)run_toolbox\.py\b", rf"\g<1>{REPO}/run_toolbox.py", code)
    extra = [args for pattern, args in REDUCTIONS if re.search(pattern, code)]
    if "input_size" not in code and not any(re.search(p, code) for p in FULL_SIZE):
        extra.append(SMALL)
    if re.search(r"run_toolbox\.py|\bdeepvis gui\b", code):
        extra.append(f"--screenshot {workdir / 'window.png'} --after-ms 300")
    return " ".join([code, *extra])


COMMANDS = bash_commands(README.read_text(encoding="utf-8"))
IDS = [re.sub(r"[^\w.:=,-]+", "_", without_comment(command))[:80] for command in COMMANDS]   # names the command


def _environment(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "QT_QPA_PLATFORM": "offscreen",
                "XDG_CACHE_HOME": str(workdir / ".cache"), "XDG_STATE_HOME": str(workdir / ".state"),
                "TORCH_HOME": str(workdir / ".torch"), "PYTHONPATH": str(REPO)})
    env.pop("DEEPVIS_SETTINGS_LOCAL", None)
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder holding what the README's placeholders name: IMAGES (a few sample images), LIST.txt
    (the original's "path label" list of them) and UV (find-max results over IMAGES)."""
    from skimage.transform import resize

    from deepvis_app.io.images import sample_image, write_image

    root = tmp_path_factory.mktemp("readme")
    images = root / "IMAGES"
    images.mkdir()
    names = ("chelsea", "coffee", "astronaut", "rocket", "camera", "horse")
    for name in names:
        picture = resize(sample_image(name), (96, 96), preserve_range=True, anti_aliasing=True).astype("uint8")
        write_image(images / f"{name}.jpg", picture)
    (root / "LIST.txt").write_text("".join(f"{name}.jpg {index}\n" for index, name in enumerate(names)))
    subprocess.run(f"deepvis find-max IMAGES --layers _blocks.5 --out UV --no-progress {SMALL}",
                   shell=True, cwd=root, env=_environment(root), check=True, capture_output=True, timeout=TIMEOUT)
    return root


def _files(folder: Path) -> dict[Path, tuple[float, int]]:
    return {p: (p.stat().st_mtime, p.stat().st_size) for p in folder.rglob("*")
            if p.is_file() and ".cache" not in p.parts and ".state" not in p.parts}


def test_the_readme_has_commands_to_test():
    assert len(COMMANDS) >= 15
    assert any(command.startswith("deepvis attribute") for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_every_readme_command_parses_in_bash(command):
    result = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
    assert result.returncode == 0, f"bash cannot parse {command!r}: {result.stderr.strip()}"


def test_a_comment_is_cut_and_a_quoted_hash_is_kept():
    assert without_comment('deepvis x -o m.png   # a note') == "deepvis x -o m.png"
    assert without_comment("deepvis x --set \"a='#1'\" # note") == "deepvis x --set \"a='#1'\""


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_every_readme_command_runs_and_writes_something(command, workdir):
    reason = skip_reason(command)
    if reason:
        pytest.skip(reason)
    code = runnable(command, workdir)
    before = _files(workdir)
    result = subprocess.run(["bash", "-c", code], cwd=workdir, env=_environment(workdir), capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"{command!r} exited {result.returncode}:\n{result.stderr[-3000:]}"
    written = {p for p, stamp in _files(workdir).items() if before.get(p) != stamp}
    assert written or result.stdout.strip(), f"{command!r} wrote nothing"
