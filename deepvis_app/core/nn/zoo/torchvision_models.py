"""torchvision's models by name, every family, built so that nothing is ever downloaded.

`torchvision:<name>` (and a torchvision builder named as `torchvision.models.segmentation:<name>`) is
built with ``weights=None`` and, where the builder takes one, ``weights_backbone=None``: left at its
default, a segmentation or detection builder fetches its backbone's ImageNet weights from the internet.
The weights come from ``--weights`` or the file torchvision itself would have put in the torch hub cache
(`torchvision_hub_file`). Builders whose hub weights carry auxiliary heads (GoogLeNet, Inception v3,
FCN and DeepLabV3's ``aux_classifier``) are built with them so that those weights fit, and the heads
are dropped for inference. Video and optical-flow models (clips and frame pairs, not one image) and
quantized ones (their weights need a quantized network) are refused with one line.
"""

from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from deepvis_app.core.nn.model_error import ModelError, first_line
from deepvis_app.core.nn.zoo.built import Built

# Builder arguments that make the hub weights fit (auxiliary heads), per builder.
_AUX_KWARGS = {"googlenet": {"aux_logits": True, "init_weights": False, "transform_input": True},
               "inception_v3": {"aux_logits": True, "init_weights": False, "transform_input": True}}
_AUX_HEADS = ("aux1", "aux2", "AuxLogits", "aux_classifier")
NO_DOWNLOAD_ARGUMENTS = ("weights", "weights_backbone")


def no_download_kwargs(factory: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` plus ``weights=None`` / ``weights_backbone=None`` where ``factory`` takes them by
    name and the user did not set them (torchvision-style builders download when these are left)."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to inspect
        return dict(kwargs)
    extra = {name: None for name in NO_DOWNLOAD_ARGUMENTS if name in parameters and name not in kwargs}
    return {**extra, **kwargs}


def registered_name(factory: Any) -> str | None:
    """The torchvision model name whose builder ``factory`` is, or None."""
    import torchvision

    name = getattr(factory, "__name__", None)
    if not isinstance(name, str) or not str(getattr(factory, "__module__", "")).startswith("torchvision.models"):
        return None
    try:
        return name if torchvision.models.get_model_builder(name) is factory else None
    except ValueError:
        return None


def build_torchvision(name: str, kwargs: Mapping[str, Any]) -> Built:
    """``torchvision:<name>`` with the user's builder arguments (the ``model_kwargs`` setting)."""
    import torchvision
    from torchvision.models import optical_flow, quantization, video

    known = torchvision.models.list_models()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see torchvision.models.list_models())"
        raise ModelError(f"torchvision:{name}: unknown torchvision model{hint}")
    if name in torchvision.models.list_models(module=video) + torchvision.models.list_models(module=optical_flow):
        raise ModelError(f"torchvision:{name}: video and optical-flow models take clips or frame pairs, "
                         f"not one image; deepvis shows image models")
    if name in torchvision.models.list_models(module=quantization):
        raise ModelError(f"torchvision:{name}: quantized models are not supported (their weights need a "
                         f"quantized network); use torchvision:{name.removeprefix('quantized_')}")
    builder = torchvision.models.get_model_builder(name)
    arguments = {**_AUX_KWARGS.get(name, {}), **kwargs}
    if "aux_loss" in inspect.signature(builder).parameters:
        arguments.setdefault("aux_loss", True)   # FCN / DeepLabV3 hub weights hold the aux head
    try:
        module = builder(**no_download_kwargs(builder, arguments))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"torchvision:{name}: building it with model_kwargs {dict(kwargs)!r} failed: "
                         f"{first_line(exc)}") from None
    dropped = drop_aux_heads(module)
    return Built(module, default_weights=torchvision_hub_file(name), random_init=True,
                 labels=_categories(name, module, kwargs), ignored_prefixes=tuple(f"{h}." for h in dropped))


def drop_aux_heads(module: nn.Module) -> list[str]:
    """Remove the auxiliary heads training used (inference ignores them); their names."""
    if getattr(module, "aux_logits", None) is True:
        module.aux_logits = False  # type: ignore[assignment]  # Module.__setattr__ is typed for tensors/modules
    dropped = [name for name in _AUX_HEADS if isinstance(getattr(module, name, None), nn.Module)]
    for name in dropped:
        setattr(module, name, None)
    return dropped


def torchvision_hub_file(name: str) -> Path:
    """Where torchvision would cache `name`'s default weights ($TORCH_HOME/hub/checkpoints)."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def torchvision_weights_meta(name: str) -> dict[str, Any]:
    import torchvision

    return dict(torchvision.models.get_model_weights(name).DEFAULT.meta)


def _categories(name: str, module: nn.Module, kwargs: Mapping[str, Any]) -> list[str] | None:
    """The default weights' class names, unless ``num_classes`` in the builder arguments changed them."""
    categories = torchvision_weights_meta(name).get("categories")
    if not categories:
        return None
    if "num_classes" in kwargs and kwargs["num_classes"] != len(categories):
        return None
    return list(categories)
