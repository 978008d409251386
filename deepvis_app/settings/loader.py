"""Merge the settings layers and remember which layer set each value.

Layers, lowest first: the documented defaults (`defaults.Settings`) <- the model's
`models/<model>/settings.py` <- the local settings file <- command-line `--set key=value`. Override
files are plain Python, run with `runpy`, so they may hold functions (a layer filter, a pretty-name
function), as in the original toolbox. Names starting with `_` and imported modules are ignored; any
other unknown name is an error with a did-you-mean, except the original toolbox's own names
(`caffevis_*`, `window_panes`, `caffe_root`, ...), which `legacy` maps to ours or answers with one
note each (logged as a warning and kept in `LoadedSettings.notes`). Values are checked against their field type and
against each other (input size, channels, mean/std, key overrides), and every problem found is reported
at once, naming the file (or `--set`) that set the value.

Where things are: `models_root()` is the one place that finds the model folders (the top-level `models/`
of a source checkout, or the copy shipped inside the installed package as `deepvis_app/models`). The local
settings file is `settings/settings_local.py` in a source checkout, `$XDG_CONFIG_HOME/deepvis/settings_local.py`
(default `~/.config/deepvis/`) in an installed package, or the file named by `DEEPVIS_SETTINGS_LOCAL`
(which must exist; an empty value means "no local settings").
"""

from __future__ import annotations
import __future__

import dataclasses
import logging
import os
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from deepvis_app.errors import DeepvisError
from deepvis_app.settings import legacy
from deepvis_app.settings.defaults import PATH_FIELDS, RANDOM_WEIGHTS, Settings, setting_names
from deepvis_app.settings.file_runner import SettingsFileProblem, run_settings_code
from deepvis_app.settings.limits import LimitError, literal
from deepvis_app.settings.options import conform, option_fields, type_name, value_problem
from deepvis_app.settings.suggest import did_you_mean, unbalanced

log = logging.getLogger("deepvis.settings")

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
LOCAL_ENV = "DEEPVIS_SETTINGS_LOCAL"
DEFAULT_ORIGIN = "default"
CLI_ORIGIN = "--set"
SET_NUMBER_LIMIT = float(2**63)   # a --set number beyond any setting's range (and finite)


class SettingsError(DeepvisError):
    """One or more settings problems; the message lists each, naming its file."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedSettings:
    """The merged settings plus, for each name, the layer (file path or --set) that set it; `notes`:
    one line per setting of the original toolbox that does not apply here (what to use instead)."""

    settings: Settings
    origins: Mapping[str, str]
    notes: tuple[str, ...] = ()


def models_root() -> Path:
    """Folder holding one sub-folder per model: DEEPVIS_MODELS_DIR when set, else the copy shipped in the
    installed package (`deepvis_app/models`), else the source checkout's top-level `models/`."""
    if os.environ.get("DEEPVIS_MODELS_DIR"):
        return Path(os.environ["DEEPVIS_MODELS_DIR"])
    shipped = PACKAGE_DIR / "models"
    return shipped if shipped.is_dir() else REPO_ROOT / "models"


def _in_source_checkout() -> bool:
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "deepvis_app").is_dir()


def model_settings_file(model: str) -> Path | None:
    """The settings.py describing `model`, or None for `torchvision:` and `module:factory` models."""
    as_path = Path(model).expanduser()
    if as_path.is_dir() and (as_path / "settings.py").is_file():
        return as_path / "settings.py"
    candidate = models_root() / model / "settings.py"
    if candidate.is_file():
        return candidate
    return None


def available_models() -> list[str]:
    """Names of the model folders shipped or added under models/."""
    root = models_root()
    return sorted(p.parent.name for p in root.glob("*/settings.py")) if root.is_dir() else []


def default_local_settings_file() -> Path:
    """settings/settings_local.py in a source checkout, else under $XDG_CONFIG_HOME/deepvis (need not exist)."""
    if _in_source_checkout():
        return REPO_ROOT / "settings" / "settings_local.py"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "deepvis" / "settings_local.py"


def local_settings_file() -> Path | None:
    """The user's settings_local.py: the file named by DEEPVIS_SETTINGS_LOCAL (None when it is set but
    empty), else the default one (which need not exist)."""
    named = os.environ.get(LOCAL_ENV)
    if named is None:
        return default_local_settings_file()
    return Path(named).expanduser() if named.strip() else None


def _check_named_local_file(path: Path | None, problems: list[str]) -> None:
    """A file named by DEEPVIS_SETTINGS_LOCAL must be a readable file: a typo is never silently ignored."""
    if path is None or os.environ.get(LOCAL_ENV) is None:
        return
    if path.is_dir():
        problems.append(f"{path}: is a folder, not a settings file ({LOCAL_ENV}={os.environ[LOCAL_ENV]})")
    elif not path.is_file():
        problems.append(f"{path}: no such settings file ({LOCAL_ENV}={os.environ[LOCAL_ENV]}; "
                        f"set it to an empty value for no local settings)")


def load_settings(
    model: str | None = None,
    overrides: Iterable[str] = (),
    local_file: Path | None = None,
    extra: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Merge all layers; raise SettingsError listing every problem found.

    `model` (from --model) picks the model layer; without it the local file may choose one
    with `model = ...`, else the default model is used. `extra` holds values set by dedicated
    command-line flags (--weights, --device), applied like --set.
    """
    problems: list[str] = []
    notes: list[str] = []
    values: dict[str, Any] = {}
    origins: dict[str, str] = {name: DEFAULT_ORIGIN for name in setting_names()}
    local_path = local_file if local_file is not None else local_settings_file()
    if local_file is None:
        _check_named_local_file(local_path, problems)
    local_values = _run_settings_file(local_path, problems, notes) if local_path and local_path.is_file() else {}

    cli_values = _parse_overrides(overrides, problems)
    cli_values.update(extra or {})
    chosen = model or cli_values.get("model") or local_values.get("model") or Settings.model
    model_file = model_settings_file(str(chosen))
    if model_file is None and ":" not in str(chosen):
        known = ", ".join(available_models()) or "none"
        problems.append(
            f"model '{chosen}': no folder {models_root() / str(chosen)} with a settings.py, and not "
            f"'torchvision:<name>', 'timm:<name>', 'hf:<folder>' or 'package.module:factory' (model folders: {known})"
        )
    layers: list[tuple[str, Mapping[str, Any], Path | None]] = []
    if model_file is not None:
        model_values = _run_settings_file(model_file, problems, notes)
        model_values.setdefault("model_dir", str(model_file.parent))
        layers.append((str(model_file), model_values, model_file.parent))
    if local_path is not None:
        layers.append((str(local_path), local_values, local_path.parent))
    layers.append((CLI_ORIGIN, cli_values, Path.cwd()))
    values["model"] = _resolve_path("model", str(chosen), Path.cwd())
    origins["model"] = CLI_ORIGIN if model else origins["model"]

    for origin, layer_values, base_dir in layers:
        for name, value in layer_values.items():
            if name == "model" and origin != CLI_ORIGIN and model:
                continue
            values[name] = _resolve_path(name, value, base_dir)
            origins[name] = origin
    settings = build_settings(values, origins, problems)
    problems.extend(validate(settings, origins))
    if problems:
        raise SettingsError(problems)
    for note in notes:
        log.warning("%s", note)
    return LoadedSettings(settings=settings, origins=origins, notes=tuple(notes))


def _run_settings_file(path: Path, problems: list[str], notes: list[str] | None = None) -> dict[str, Any]:
    """Run one override file and return the settings it assigns (the original toolbox's names translated)."""
    try:  # every exception, exit and os._exit of the file is one line (see settings.file_runner)
        namespace = run_settings_code(path)
    except SettingsFileProblem as exc:
        problems.append(str(exc))
        return {}
    known = set(setting_names())
    values: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, __future__._Feature):  # `from __future__ import annotations`
            continue
        if name in known:
            values[name] = legacy.expand_dvt_root(value, path.parent)
        else:
            foreign[name] = value
    translated = legacy.translate(foreign, values, known, path.parent)
    for name in translated.unknown:
        problems.append(f"{path}: unknown setting '{name}'{did_you_mean(name)}")
    values.update(translated.values)  # it maps no name the file also sets; window_size is scaled
    if notes is not None:
        notes.extend(f"{path}: {note}" for note in translated.notes)
    return values


def _parse_overrides(overrides: Iterable[str], problems: list[str]) -> dict[str, Any]:
    """Parse `key=value` strings; values are Python literals, or plain strings otherwise."""
    known = set(setting_names())
    values: dict[str, Any] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            problems.append(f"--set {item!r}: expected key=value")
            continue
        if name not in known:
            problems.append(f"--set {name}: unknown setting{did_you_mean(name)}")
            continue
        try:
            values[name] = literal(text, f"--set {name}", limit=SET_NUMBER_LIMIT)
        except LimitError as exc:  # too long, too deep, a number out of range: refused, not read as text
            problems.append(str(exc))
        except (ValueError, SyntaxError):
            if problem := unbalanced(text):   # not a string meant as one: a bracket or quote left open
                problems.append(f"--set {name}={text}: {problem} (quote the value: --set \"{name}=...\")")
                continue
            values[name] = text
    return values


def _resolve_path(name: str, value: Any, base_dir: Path | None) -> Any:
    """Paths (and an `hf:FOLDER` model's folder) made absolute against the file that set them."""
    if name in ("model", "builder") and isinstance(value, str) and value.startswith("hf:") and base_dir:
        return f"hf:{(base_dir / Path(value[3:]).expanduser()).resolve()}"   # an absolute folder stays
    if name in PATH_FIELDS and isinstance(value, (str, os.PathLike)) and base_dir and \
            (name, value) != ("weights", RANDOM_WEIGHTS) and not str(value).startswith("sample:"):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base_dir / path).resolve())
    return value


def build_settings(values: dict[str, Any], origins: Mapping[str, str], problems: list[str],
           cls: type = Settings) -> Any:
    """Check each value against its declared type (`options.conform`: lists become tuples, ints
    floats), build ``cls`` (Settings)."""
    hints = typing.get_type_hints(cls)
    checked: dict[str, Any] = {}
    for name, value in values.items():
        fitted, ok = conform(value, hints[name])
        if ok:
            checked[name] = fitted
        else:
            problems.append(
                f"{origins.get(name, CLI_ORIGIN)}: setting '{name}' = {value!r} is not {type_name(hints[name])}"
            )
    try:
        return cls(**checked)
    except TypeError as exc:  # pragma: no cover - names were checked above
        problems.append(str(exc))
        return cls()


def validate(settings: Any, origins: Mapping[str, str]) -> list[str]:
    """Problems with values that have the right type but cannot work, each naming the file or `--set`
    that set the value: the rules declared on each field (`options.value_problem`: choices, bounds,
    its check), then the rules between settings (`cross_field_problems`)."""
    problems = []
    for field in option_fields(type(settings)):
        value = getattr(settings, field.name)
        if (why := value_problem(field, value)) is not None:
            problems.append(f"{origins.get(field.name, DEFAULT_ORIGIN)}: setting '{field.name}' = {value!r}: {why}")
    return problems + cross_field_problems(settings, origins)


def cross_field_problems(settings: Settings, origins: Mapping[str, str]) -> list[str]:
    """The rules no single declaration can say, all of them: `mean` and `std` hold 1 value or 1 per
    input channel. The problem names the file to fix: the one that set the count (when the values
    are the defaults) or the one that set the values."""
    problems: list[str] = []
    channels = settings.input_channels
    for name in ("mean", "std"):
        values = getattr(settings, name)
        if channels not in (1, 3) or len(values) in (1, channels):
            continue
        count = "1 value" if channels == 1 else f"1 or {channels} values"
        set_by = origins.get("input_channels", DEFAULT_ORIGIN)
        if origins.get(name, DEFAULT_ORIGIN) == DEFAULT_ORIGIN:
            problems.append(f"{set_by}: setting 'input_channels' = {channels} needs '{name}' with {count}; "
                            f"set it too (the default is {values!r})")
        else:
            problems.append(f"{origins[name]}: setting '{name}' = {values!r}: needs {count} for "
                            f"input_channels = {channels} (set by {set_by})")
    return problems


def settings_table(loaded: LoadedSettings) -> list[tuple[str, Any, str]]:
    """(name, value, origin) rows for every setting, in declaration order."""
    return [
        (f.name, getattr(loaded.settings, f.name), loaded.origins.get(f.name, DEFAULT_ORIGIN))
        for f in dataclasses.fields(loaded.settings)
    ]
