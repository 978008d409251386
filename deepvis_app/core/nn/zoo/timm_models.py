"""timm models by name (`--model timm:NAME`), built offline.

``timm.create_model(NAME, pretrained=False, **model_kwargs)``: never a download (names that point at
the Hugging Face hub, ``hf-hub:...``, are refused). The model's ``pretrained_cfg`` says how its weights
expect inputs: mean, std and input size (the test size where it has one, the size the ``img_size``
argument or the patch embedding fixes otherwise), offered as defaults the user's settings override; a
1000-class head gets the ImageNet labels. Weights come from ``--weights`` (a torch checkpoint or a
``.safetensors`` file, e.g. timm's own ``model.safetensors``); without them it runs on random weights.
timm is an optional extra: without it, one line says how to install it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from deepvis_app.core.nn.model_error import ModelError, first_line
from deepvis_app.core.nn.zoo.built import Built

IMAGENET_LABELS = Path(__file__).resolve().parents[3] / "data" / "imagenet_classes.txt"
_REMOTE_PREFIXES = ("hf-hub:", "hf_hub:")


def import_timm() -> Any:
    """The timm package, or a ModelError naming the extra that installs it."""
    try:
        import timm
    except ImportError:
        raise ModelError("timm: models named 'timm:NAME' need the timm package: pip install 'deepvis[timm]'") \
            from None
    return timm


def build_timm(name: str, kwargs: Mapping[str, Any]) -> Built:
    spec = f"timm:{name}"
    if name.startswith(_REMOTE_PREFIXES):
        raise ModelError(f"{spec}: a Hugging Face hub name would be downloaded; deepvis never downloads: "
                         f"use timm:ARCHITECTURE with --weights FILE (e.g. the hub's model.safetensors)")
    timm = import_timm()
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see timm.list_models())"
        raise ModelError(f"{spec}: unknown timm model{hint}")
    try:
        module = timm.create_model(name, pretrained=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any builder failure is the user's arguments, reported in one line
        raise ModelError(f"{spec}: building it with model_kwargs {dict(kwargs)!r} failed: "
                         f"{type(exc).__name__}: {first_line(exc)}") from None
    labels = None
    if getattr(module, "num_classes", None) == 1000:
        labels = IMAGENET_LABELS.read_text(encoding="utf-8").splitlines()
    return Built(module, random_init=True, defaults=input_defaults(module, kwargs),
                 defaults_source=f"{spec} pretrained_cfg", labels=labels)


def input_defaults(module: nn.Module, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """mean, std, input_size (and input_channels) as the model's ``pretrained_cfg`` and arguments say."""
    config = dict(getattr(module, "pretrained_cfg", None) or {})
    defaults: dict[str, Any] = {}
    for name in ("mean", "std"):
        if config.get(name) is not None:
            defaults[name] = tuple(float(v) for v in config[name])
    size = config.get("test_input_size") or config.get("input_size")
    if size is not None and len(size) == 3:
        defaults["input_size"] = (int(size[1]), int(size[2]))
        if int(size[0]) in (1, 3):
            defaults["input_channels"] = int(size[0])
    fixed = kwargs.get("img_size", getattr(getattr(module, "patch_embed", None), "img_size", None))
    if isinstance(fixed, int):
        defaults["input_size"] = (fixed, fixed)
    elif isinstance(fixed, (tuple, list)) and len(fixed) == 2:
        defaults["input_size"] = (int(fixed[0]), int(fixed[1]))
    if isinstance(kwargs.get("in_chans"), int) and kwargs["in_chans"] in (1, 3):
        defaults["input_channels"] = kwargs["in_chans"]
    if defaults.get("input_channels") == 1 and len(defaults.get("mean", ())) == 3:
        defaults.pop("mean"), defaults.pop("std", None)
    return defaults
