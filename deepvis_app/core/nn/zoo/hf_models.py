"""Hugging Face `transformers` models from a local folder (`--model hf:FOLDER`), built offline.

The folder is what ``save_pretrained`` writes (config.json plus model.safetensors or
pytorch_model.bin). It loads with ``AutoModelForImageClassification`` when the architecture has an
image-classification head, else with ``AutoModel`` (an encoder: CLIP / DINO-style embeddings), with
``local_files_only=True`` and no remote code, in float32 and with eager attention (plain modules that
hooks and backward passes see). ``model_kwargs`` are config overrides (``from_pretrained``'s keyword
arguments). The folder's ``preprocessor_config.json`` gives mean, std, input size and scaling as
defaults the user's settings override; ``config.id2label`` gives the labels. The model returns a
``ModelOutput``; which field is explained is the outputs module's business, not this one's.
transformers is an optional extra: without it, one line says how to install it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

from deepvis_app.core.nn.model_error import ModelError, first_line
from deepvis_app.core.nn.zoo.built import Built

log = logging.getLogger("deepvis.core.model")

PREPROCESSOR_FILE = "preprocessor_config.json"
_MAX_JSON_BYTES = 1 << 20   # a preprocessor config is a few hundred bytes


def import_transformers() -> Any:
    """The transformers package, or a ModelError naming the extra that installs it."""
    try:
        import transformers
    except ImportError:
        raise ModelError("hf: models named 'hf:FOLDER' need the transformers package: "
                         "pip install 'deepvis[hf]'") from None
    return transformers


def build_hf(folder_text: str, kwargs: Mapping[str, Any], random_weights: bool = False) -> Built:
    """The model saved in ``folder_text``; with ``random_weights`` its architecture only (from config.json)."""
    folder = Path(folder_text).expanduser()
    spec = f"hf:{folder_text}"
    if not folder.is_dir():
        raise ModelError(f"{spec}: no such folder (a folder written by save_pretrained, holding config.json)")
    if not (folder / "config.json").is_file():
        raise ModelError(f"{spec}: {folder / 'config.json'} is missing (is this a save_pretrained folder?)")
    transformers = import_transformers()
    options = {"attn_implementation": "eager", **kwargs}
    try:
        config = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True,
                                                         trust_remote_code=False, **options)
    except Exception as exc:  # noqa: BLE001 - a bad config.json fails in many ways
        raise ModelError(f"{spec}: cannot read {folder / 'config.json'}: {type(exc).__name__}: "
                         f"{first_line(exc)}") from None
    module, missing = _load(transformers, folder, config, spec, random_weights)
    module = module.float()
    defaults = preprocessor_defaults(folder, spec)
    if "input_size" not in defaults:   # no processor config: the size the model was configured for
        size = _size(getattr(config, "image_size", None))
        if size is not None:
            defaults["input_size"] = size
    channels = getattr(config, "num_channels", None)
    if channels in (1, 3):
        defaults.setdefault("input_channels", channels)
    notes = []
    if missing:
        shown = ", ".join(sorted(missing)[:3]) + (f" ... (+{len(missing) - 3})" if len(missing) > 3 else "")
        notes.append(f"{spec}: {len(missing)} weights are not in the folder and were initialized randomly "
                     f"({shown})")
    return Built(module, defaults=defaults, defaults_source=str(folder / PREPROCESSOR_FILE),
                 labels=_labels(config), notes=notes)


def _load(transformers: Any, folder: Path, config: Any, spec: str, random_weights: bool) -> tuple[Any, set[str]]:
    """(model, names of weights the folder lacked). The class the folder was saved from comes first
    (config.architectures), then the image-classification auto class if it is a classifier, then
    `AutoModel`: an encoder's folder must not get a randomly initialized classification head."""
    architectures = [name for name in (getattr(config, "architectures", None) or []) if isinstance(name, str)]
    candidates = [getattr(transformers, name) for name in architectures if hasattr(transformers, name)]
    if not architectures or any(name.endswith("ForImageClassification") for name in architectures):
        candidates.append(transformers.AutoModelForImageClassification)
    candidates.append(transformers.AutoModel)
    problems = []
    bars = transformers.utils.logging.is_progress_bar_enabled()
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.disable_progress_bar()   # no "Loading weights" bar on stderr
    transformers.utils.logging.set_verbosity_error()    # missing weights become a note, not a table
    try:
        for candidate in dict.fromkeys(candidates):
            try:
                if random_weights:
                    return candidate.from_config(config), set()
                module, info = candidate.from_pretrained(str(folder), config=config, local_files_only=True,
                                                         trust_remote_code=False, output_loading_info=True)
                return module, set(info.get("missing_keys") or ())
            except Exception as exc:  # noqa: BLE001 - a missing head, missing weights, a damaged file
                problems.append(f"{candidate.__name__}: {type(exc).__name__}: {first_line(exc)}")
                log.debug("%s: %s failed", spec, candidate.__name__, exc_info=True)
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
    raise ModelError(f"{spec}: cannot load the model ({'; '.join(problems)})")


def _labels(config: Any) -> list[str] | None:
    id2label = getattr(config, "id2label", None) or {}
    try:
        by_index = {int(k): str(v) for k, v in id2label.items()}
    except (TypeError, ValueError):
        return None
    if not by_index or sorted(by_index) != list(range(len(by_index))):
        return None
    return [by_index[i] for i in range(len(by_index))]


def preprocessor_defaults(folder: Path, spec: str) -> dict[str, Any]:
    """mean, std, input_size, input_scale from the folder's preprocessor_config.json ({} without one)."""
    path = folder / PREPROCESSOR_FILE
    if not path.is_file():
        log.info("%s: no %s; mean, std and input size come from the settings", spec, PREPROCESSOR_FILE)
        return {}
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise ValueError(f"larger than {_MAX_JSON_BYTES} bytes")
        config = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
        return _read_preprocessor(config)
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelError(f"{path}: not a usable preprocessor config ({first_line(exc)})") from None


def _read_preprocessor(config: dict[str, Any]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    size = _size(config.get("crop_size")) if config.get("do_center_crop") else None
    size = size or _size(config.get("size"))
    if size is not None:
        defaults["input_size"] = size
    if config.get("do_normalize", True):
        for ours, theirs in (("mean", "image_mean"), ("std", "image_std")):
            value = config.get(theirs)
            if value is not None:
                values = value if isinstance(value, (list, tuple)) else [value]
                defaults[ours] = tuple(float(v) for v in values)
    else:
        defaults["mean"], defaults["std"] = (0.0,), (1.0,)
    if config.get("do_rescale", True):
        defaults["input_scale"] = round(float(config.get("rescale_factor", 1 / 255)) * 255.0, 9)
    else:
        defaults["input_scale"] = 255.0
    return defaults


def _size(value: Any) -> tuple[int, int] | None:
    """transformers' size spellings: {"height", "width"}, {"shortest_edge"}, an int, [h, w]."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, dict):
        if "height" in value and "width" in value:
            return (int(value["height"]), int(value["width"]))
        if "shortest_edge" in value:
            return (int(value["shortest_edge"]), int(value["shortest_edge"]))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    return None
