"""Load a network from settings, offline, ready for visualization.

Three ways to name a model: a folder under models/ (its settings.py says how to build it),
`torchvision:<name>` (built with weights=None, weights from --weights or the file torchvision
itself would have put in the torch hub cache), or `package.module:factory` with --weights.
Checkpoints load with `weights_only=True`; one that needs code execution is refused unless
the user trusts it. The loaded model is frozen, in eval mode, with in-place ReLUs made
out-of-place (so captured activations and ReLU rules see pre-activation values).
"""

from __future__ import annotations

import importlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from deepvis_app.core.layers import LayerInfo, discover_layers
from deepvis_app.core.preprocess import Preprocessor
from deepvis_app.settings.defaults import Settings

IMAGENET_LABELS = Path(__file__).resolve().parents[1] / "data" / "imagenet_classes.txt"
# torchvision builders whose hub weights carry auxiliary heads that inference drops.
_AUX_MODELS = {"googlenet": {"aux_logits": True, "init_weights": False, "transform_input": True},
               "inception_v3": {"aux_logits": True, "init_weights": False, "transform_input": True}}


class ModelError(RuntimeError):
    """A model that cannot be built or loaded; the message says which file and why."""


@dataclass
class LoadedModel:
    """A ready network plus everything the views need to know about it."""

    module: nn.Module
    settings: Settings
    device: torch.device
    labels: list[str]
    layers: list[LayerInfo]
    preprocessor: Preprocessor
    weights_path: Path | None = None

    def layer(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        raise KeyError(f"unknown layer '{name}' (layers: {', '.join(i.name for i in self.layers)})")

    @property
    def layer_names(self) -> list[str]:
        return [info.name for info in self.layers]

    @property
    def output_layer(self) -> str:
        return self.settings.output_layer or self.layers[-1].name

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else str(index)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch names it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ModelError(f"device '{name}': {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device '{name}': CUDA is not available on this machine")
    return device


def load_model(settings: Settings) -> LoadedModel:
    """Build, load weights, freeze, discover layers: the one entry point for every command."""
    builder = settings.builder if settings.builder is not None else settings.model
    module, default_weights = build_module(builder, settings)
    weights = Path(settings.weights) if settings.weights else default_weights
    if weights is not None:
        state = load_state_dict(weights, trust=settings.trust_checkpoint)
        apply_state_dict(module, state, weights)
    _drop_aux_heads(module, builder)
    device = resolve_device(settings.device)
    prepare_for_visualization(module).to(device)
    labels = load_labels(settings, builder, module)
    layers = discover_layers(module, settings, device)
    return LoadedModel(module, settings, device, labels, layers, Preprocessor(settings), weights)


def build_module(builder: Any, settings: Settings) -> tuple[nn.Module, Path | None]:
    """The bare network and the weights file to use when settings name none."""
    if callable(builder) and not isinstance(builder, str):
        return _call_factory(builder, str(builder)), None
    spec = str(builder)
    if spec.startswith("torchvision:"):
        return _build_torchvision(spec.split(":", 1)[1])
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ModelError(f"model '{spec}': cannot import {attr} from {module_name}: {exc}") from None
        module = _call_factory(factory, spec)
        default = getattr(factory, "default_weights", None)
        return module, (Path(default()) if callable(default) else None)
    raise ModelError(f"model '{spec}': no builder (set builder = 'torchvision:<name>' or 'module:factory')")


def _call_factory(factory: Callable[[], nn.Module], spec: str) -> nn.Module:
    module = factory()
    if not isinstance(module, nn.Module):
        raise ModelError(f"model '{spec}': factory returned {type(module).__name__}, not a torch nn.Module")
    return module


def _build_torchvision(name: str) -> tuple[nn.Module, Path]:
    import torchvision

    try:
        module = torchvision.models.get_model(name, weights=None, **_AUX_MODELS.get(name, {}))
    except (ValueError, KeyError) as exc:
        raise ModelError(f"torchvision:{name}: unknown torchvision model ({exc})") from None
    return module, torchvision_hub_file(name)


def torchvision_hub_file(name: str) -> Path:
    """Where torchvision would cache `name`'s default ImageNet weights ($TORCH_HOME/hub/checkpoints)."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def torchvision_weights_meta(name: str) -> dict[str, Any]:
    import torchvision

    return dict(torchvision.models.get_model_weights(name).DEFAULT.meta)


def load_state_dict(path: Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """A state dict from a file: plain, wrapped in {'state_dict'|'model': ...}, or a whole module."""
    if not path.is_file():
        hint = ""
        if "hub" in path.parts and "checkpoints" in path.parts:
            hint = (f"; torchvision would download it from the internet: copy the file there, or pass "
                    f"--weights PATH (it is looked up under $TORCH_HOME, now {torch.hub.get_dir()})")
        raise ModelError(f"weights file {path} does not exist{hint}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust:
            raise ModelError(
                f"{path}: this checkpoint needs code execution to load (it pickles Python objects); "
                f"refused. If you trust its source, pass --trust-checkpoint. ({str(exc).splitlines()[0]})"
            ) from None
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable torch checkpoint ({exc})") from None
    return _unwrap_state_dict(obj, path)


def _unwrap_state_dict(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, nn.Module)):
                return _unwrap_state_dict(obj[key], path)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            prefix = "module."
            if all(k.startswith(prefix) for k in obj):
                return {k[len(prefix):]: v for k, v in obj.items()}
            return dict(obj)
    raise ModelError(f"{path}: holds {type(obj).__name__}, not a state dict")


def apply_state_dict(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Strict load: every key used, every shape checked; errors name the file and the keys."""
    expected = module.state_dict()
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if keys:
            shown = ", ".join(keys[:5]) + (f" ... (+{len(keys) - 5})" if len(keys) > 5 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelError(f"{path}: weights do not fit the model: " + "; ".join(problems))
    module.load_state_dict(state, strict=True)


def _drop_aux_heads(module: nn.Module, builder: Any) -> None:
    if isinstance(builder, str) and builder.split(":")[-1] in _AUX_MODELS:
        module.aux_logits = False
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(module, name):
                setattr(module, name, None)


def prepare_for_visualization(module: nn.Module) -> nn.Module:
    """eval(), parameters frozen, in-place activations made out-of-place."""
    module.eval()
    module.requires_grad_(False)
    for sub in module.modules():
        if getattr(sub, "inplace", False) is True:
            sub.inplace = False
    return module


def load_labels(settings: Settings, builder: Any, module: nn.Module) -> list[str]:
    """Class names: the labels file, else torchvision's own categories, else ImageNet for 1000 outputs."""
    if settings.labels:
        path = Path(settings.labels)
        try:
            return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            raise ModelError(f"labels file {path}: {exc.strerror or exc}") from None
    if isinstance(builder, str) and builder.startswith("torchvision:"):
        categories = torchvision_weights_meta(builder.split(":", 1)[1]).get("categories")
        if categories:
            return list(categories)
    last_linear = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if last_linear and last_linear[-1].out_features == 1000:
        return IMAGENET_LABELS.read_text(encoding="utf-8").splitlines()
    return []

