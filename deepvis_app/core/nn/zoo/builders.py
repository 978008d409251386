"""One entry point from a builder spelling to a network: `build(builder, model_kwargs)`.

Spellings: ``torchvision:NAME``, ``timm:NAME``, ``hf:FOLDER``, ``package.module:factory``, or a callable.
Every kind gets the ``model_kwargs`` setting as keyword arguments. A factory that takes ``weights`` /
``weights_backbone`` by name gets None for them (torchvision-style builders download otherwise), and a
torchvision builder named by its module path is the same as ``torchvision:NAME`` (its hub-cache
weights, its labels). A user's factory may name its own weights file with a ``default_weights()``
attribute.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any, Callable, Mapping

from torch import nn

from deepvis_app.core.nn.model_error import ModelError, first_line
from deepvis_app.core.nn.zoo.built import Built
from deepvis_app.core.nn.zoo.hf_models import build_hf
from deepvis_app.core.nn.zoo.timm_models import build_timm
from deepvis_app.core.nn.zoo.torchvision_models import build_torchvision, no_download_kwargs, registered_name

log = logging.getLogger("deepvis.core.model")


def build(builder: Any, model_kwargs: Mapping[str, Any], random_weights: bool = False) -> Built:
    """The bare network for ``builder``, with what its kind knows about inputs and weights."""
    kwargs = dict(model_kwargs)
    if callable(builder) and not isinstance(builder, str):
        return _from_factory(builder, str(builder), kwargs)
    spec = str(builder)
    kind, sep, rest = spec.partition(":")
    if sep and kind == "torchvision":
        return build_torchvision(rest, kwargs)
    if sep and kind == "timm":
        return build_timm(rest, kwargs)
    if sep and kind == "hf":
        return build_hf(rest, kwargs, random_weights=random_weights)
    if sep:
        try:
            factory = getattr(importlib.import_module(kind), rest)
        except (ImportError, AttributeError) as exc:
            raise ModelError(f"model '{spec}': cannot import {rest} from {kind}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - importing the user's module ran its code
            log.debug("importing %s failed", kind, exc_info=True)
            raise ModelError(f"model '{spec}': importing {kind} failed: {type(exc).__name__}: "
                             f"{first_line(exc)}") from None
        return _from_factory(factory, spec, kwargs)
    raise ModelError(f"model '{spec}': no builder (set builder = 'torchvision:<name>', 'timm:<name>', "
                     f"'hf:<folder>' or 'module:factory')")


def _from_factory(factory: Any, spec: str, kwargs: dict[str, Any]) -> Built:
    name = registered_name(factory)
    if name is not None:
        return build_torchvision(name, kwargs)
    module = call_factory(factory, spec, kwargs)
    default = getattr(factory, "default_weights", None)
    return Built(module, default_weights=Path(default()) if callable(default) else None)


def call_factory(factory: Callable[..., nn.Module], spec: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """``factory(**kwargs)`` (weights/weights_backbone None where it takes them), checked to be a module."""
    if not callable(factory):
        raise ModelError(f"model '{spec}': {type(factory).__name__} is not a factory (a function returning "
                         f"a torch nn.Module)")
    try:
        module = factory(**no_download_kwargs(factory, kwargs))
    except Exception as exc:  # noqa: BLE001 - the user's factory: its failure is reported, not a deepvis bug
        log.debug("model factory %s failed", spec, exc_info=True)
        given = f" with model_kwargs {dict(kwargs)!r}" if kwargs else ""
        raise ModelError(f"model '{spec}': calling it{given} failed ({type(exc).__name__}: {first_line(exc)}); "
                         f"a model factory takes the model_kwargs setting's keyword arguments and returns a "
                         f"torch nn.Module") from None
    if not isinstance(module, nn.Module):
        raise ModelError(f"model '{spec}': factory returned {type(module).__name__}, not a torch nn.Module")
    return module
