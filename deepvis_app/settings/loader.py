"""Merge the settings layers and remember which layer set each value.

Layers, lowest first: the documented defaults (`defaults.Settings`) <- the model's
`models/<model>/settings.py` <- `settings/settings_local.py` (or the file named by
`DEEPVIS_SETTINGS_LOCAL`) <- command-line `--set key=value`. Override files are plain Python,
run with `runpy`, so they may hold functions (a layer filter, a pretty-name function), as in
the original toolbox. Names starting with `_` and imported modules are ignored; any other
unknown name is an error with a did-you-mean. Every problem found is reported at once.
"""

from __future__ import annotations
import __future__

import ast
import collections.abc
import dataclasses
import difflib
import os
import runpy
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from deepvis_app.settings.defaults import PATH_FIELDS, Settings, setting_names

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_ROOT = REPO_ROOT / "models"
LOCAL_SETTINGS = REPO_ROOT / "settings" / "settings_local.py"
DEFAULT_ORIGIN = "default"
CLI_ORIGIN = "--set"


class SettingsError(ValueError):
    """One or more settings problems; the message lists each, naming its file."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedSettings:
    """The merged settings plus, for each name, the layer (file path or --set) that set it."""

    settings: Settings
    origins: Mapping[str, str]


def models_root() -> Path:
    """Folder holding one sub-folder per model (overridable by DEEPVIS_MODELS_DIR)."""
    return Path(os.environ.get("DEEPVIS_MODELS_DIR", MODELS_ROOT))


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


def local_settings_file() -> Path:
    """The user's settings_local.py (it need not exist)."""
    return Path(os.environ.get("DEEPVIS_SETTINGS_LOCAL", LOCAL_SETTINGS))


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
    values: dict[str, Any] = {}
    origins: dict[str, str] = {name: DEFAULT_ORIGIN for name in setting_names()}
    local_path = local_file if local_file is not None else local_settings_file()
    local_values = _run_settings_file(local_path, problems) if local_path.is_file() else {}

    cli_values = _parse_overrides(overrides, problems)
    cli_values.update(extra or {})
    chosen = model or cli_values.get("model") or local_values.get("model") or Settings.model
    model_file = model_settings_file(str(chosen))
    if model_file is None and ":" not in str(chosen):
        known = ", ".join(available_models()) or "none"
        problems.append(
            f"model '{chosen}': no folder {models_root() / str(chosen)} with a settings.py, and not "
            f"'torchvision:<name>' or 'package.module:factory' (model folders: {known})"
        )
    layers: list[tuple[str, Mapping[str, Any], Path | None]] = []
    if model_file is not None:
        model_values = _run_settings_file(model_file, problems)
        model_values.setdefault("model_dir", str(model_file.parent))
        layers.append((str(model_file), model_values, model_file.parent))
    layers.append((str(local_path), local_values, local_path.parent))
    layers.append((CLI_ORIGIN, cli_values, Path.cwd()))
    values["model"] = str(chosen)
    origins["model"] = CLI_ORIGIN if model else origins["model"]

    for origin, layer_values, base_dir in layers:
        for name, value in layer_values.items():
            if name == "model" and origin != CLI_ORIGIN and model:
                continue
            values[name] = _resolve_path(name, value, base_dir)
            origins[name] = origin
    settings = _build(values, origins, problems)
    if problems:
        raise SettingsError(problems)
    return LoadedSettings(settings=settings, origins=origins)


def _run_settings_file(path: Path, problems: list[str]) -> dict[str, Any]:
    """Run one override file and return the setting names it assigns."""
    try:
        namespace = runpy.run_path(str(path), run_name="deepvis_settings")
    except SyntaxError as exc:
        problems.append(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}")
        return {}
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported, not raised
        problems.append(f"{path}: running it failed: {type(exc).__name__}: {exc}")
        return {}
    known = set(setting_names())
    values: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, __future__._Feature):  # `from __future__ import annotations`
            continue
        if name not in known:
            problems.append(f"{path}: unknown setting '{name}'{_did_you_mean(name)}")
            continue
        values[name] = value
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
            problems.append(f"--set {name}: unknown setting{_did_you_mean(name)}")
            continue
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, setting_names(), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _resolve_path(name: str, value: Any, base_dir: Path | None) -> Any:
    if name in PATH_FIELDS and isinstance(value, (str, os.PathLike)) and base_dir is not None:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base_dir / path).resolve())
    return value


def _build(values: dict[str, Any], origins: Mapping[str, str], problems: list[str]) -> Settings:
    """Check each value against its field type, coerce lists to tuples, build Settings."""
    hints = typing.get_type_hints(Settings)
    checked: dict[str, Any] = {}
    for name, value in values.items():
        coerced, ok = _coerce(value, hints[name])
        if ok:
            checked[name] = coerced
        else:
            problems.append(
                f"{origins.get(name, CLI_ORIGIN)}: setting '{name}' = {value!r} is not {_type_name(hints[name])}"
            )
    try:
        return Settings(**checked)
    except TypeError as exc:  # pragma: no cover - names were checked above
        problems.append(str(exc))
        return Settings()


def _coerce(value: Any, hint: Any) -> tuple[Any, bool]:
    """(value converted to `hint`, whether it fits). Lenient where a user would expect it."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value, True
    if origin in (typing.Union, types.UnionType):
        for option in args:
            coerced, ok = _coerce(value, option)
            if ok:
                return coerced, True
        return value, False
    if hint is type(None):
        return value, value is None
    if hint is bool:
        return value, isinstance(value, bool)
    if hint is int:
        return value, isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value) if ok else value), ok
    if hint is str:
        return (str(value) if isinstance(value, os.PathLike) else value), isinstance(value, (str, os.PathLike))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return value, False
        item_hints = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(item_hints) != len(value):
            return value, False
        items = [_coerce(v, h) for v, h in zip(value, item_hints)]
        return tuple(v for v, _ in items), all(ok for _, ok in items)
    if origin is dict:
        if not isinstance(value, dict):
            return value, False
        return {k: (tuple(v) if isinstance(v, list) else v) for k, v in value.items()}, True
    if origin is collections.abc.Callable:
        return value, callable(value)
    return value, True


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def settings_table(loaded: LoadedSettings) -> list[tuple[str, Any, str]]:
    """(name, value, origin) rows for every setting, in declaration order."""
    return [
        (f.name, getattr(loaded.settings, f.name), loaded.origins.get(f.name, DEFAULT_ORIGIN))
        for f in dataclasses.fields(loaded.settings)
    ]
