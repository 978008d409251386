"""Load a network from settings, offline, ready for visualization.

Three ways to name a model: a folder under models/ (its settings.py says how to build it),
`torchvision:<name>` (built with weights=None, weights from --weights or the file torchvision
itself would have put in the torch hub cache), or `package.module:factory` with --weights.
Checkpoints load with `weights_only=True`; one that needs code execution is refused unless
the user trusts it, and a file that is no checkpoint at all is called that. The loaded model is
frozen, in eval mode, with in-place ReLUs made out-of-place (so captured activations and ReLU rules
see pre-activation values). Every way a user's model, weights, device or settings can fail to make a
working network is a `ModelError` naming the file or setting; anything else is a bug.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from deepvis_app.core.layers import LayerInfo, discover_layers
from deepvis_app.core.preprocess import Preprocessor
from deepvis_app.errors import DeepvisError
from deepvis_app.settings.defaults import Settings

log = logging.getLogger("deepvis.core.model")

IMAGENET_LABELS = Path(__file__).resolve().parents[1] / "data" / "imagenet_classes.txt"
# torchvision builders whose hub weights carry auxiliary heads that inference drops.
_AUX_MODELS = {"googlenet": {"aux_logits": True, "init_weights": False, "transform_input": True},
               "inception_v3": {"aux_logits": True, "init_weights": False, "transform_input": True}}


class ModelError(DeepvisError):
    """A model that cannot be built or loaded; the message says which file and why."""


class LayerNotFoundError(ModelError, KeyError):
    """A layer name the model does not have (also a KeyError, for lookups)."""

    __str__ = Exception.__str__  # KeyError would quote the message


class NonFiniteError(ModelError):
    """The network produced NaN or infinity: bad weights, a zero std, or a broken input."""


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
        raise LayerNotFoundError(f"unknown layer '{name}' (layers: {', '.join(i.name for i in self.layers)})")

    @property
    def layer_names(self) -> list[str]:
        return [info.name for info in self.layers]

    @property
    def output_layer(self) -> str:
        return self.settings.output_layer or self.layers[-1].name

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else str(index)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch names it, once it is known to
    hold data and to work on this machine (a tiny allocation is the probe)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"device '{name}': {_first_line(exc)} (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "meta":
        raise ModelError(f"device '{name}': the meta device holds no numbers and cannot compute (use cpu or cuda)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(f"device '{name}': CUDA is not available on this machine")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ModelError(f"device '{name}': this machine has {count} CUDA device(s): cuda:0 to cuda:{count - 1}")
    if device.type != "cpu":
        try:
            torch.empty(1, device=device)
        except Exception as exc:  # noqa: BLE001 - whatever the backend says, the device is unusable
            raise ModelError(f"device '{name}': not usable on this machine ({_first_line(exc)})") from None
    return device


def load_model(settings: Settings, origins: Mapping[str, str] | None = None) -> LoadedModel:
    """Build, load weights, freeze, discover layers: the one entry point for every command.

    ``origins`` (setting name -> file or --set that set it, from the settings loader) lets errors about
    the layer list or the input shape name the file to fix.
    """
    device = resolve_device(settings.device)
    builder = settings.builder if settings.builder is not None else settings.model
    module, default_weights = build_module(builder, settings)
    weights = Path(settings.weights) if settings.weights else default_weights
    if weights is not None:
        state = load_state_dict(weights, trust=settings.trust_checkpoint)
        apply_state_dict(module, state, weights)
    _drop_aux_heads(module, builder)
    prepare_for_visualization(module).to(device)
    labels = load_labels(settings, builder, module)
    layers = _discover(module, settings, device, origins or {})
    log.info("model %s on %s: %d layers, weights %s", settings.model, device, len(layers), weights or "(none)")
    return LoadedModel(module, settings, device, labels, layers, Preprocessor(settings), weights)


def _discover(module: nn.Module, settings: Settings, device: torch.device,
              origins: Mapping[str, str]) -> list[LayerInfo]:
    """`discover_layers`, with a listed layer the model lacks, or a model that cannot run on the configured
    input at all, reported as a ModelError naming the settings file."""
    def origin(name: str) -> str:
        return origins.get(name, "default")

    if settings.layers is not None:
        names = [name for name, _ in module.named_modules() if name]
        unknown = [name for name in settings.layers if name not in names]
        if unknown:
            hints = [f"'{n}' (did you mean '{close[0]}'?)" if (close := difflib.get_close_matches(n, names, 1))
                     else f"'{n}'" for n in unknown[:5]]
            raise ModelError(f"{origin('layers')}: setting 'layers' names modules the model does not have: "
                             f"{', '.join(hints)} (see `deepvis layers --set layers=None`)")
    try:
        return discover_layers(module, settings, device)
    except ValueError as exc:  # a listed module that emits no tensor
        raise ModelError(f"{origin('layers')}: {exc}") from None
    except (RuntimeError, MemoryError) as exc:
        log.debug("forward pass on a blank input failed", exc_info=True)
        shape = "x".join(str(n) for n in (1, settings.input_channels, *settings.input_size))
        raise ModelError(
            f"model '{settings.model}' cannot run on a {shape} input (input_channels from "
            f"{origin('input_channels')}, input_size from {origin('input_size')}): {_first_line(exc)}"
        ) from None


def check_finite(loaded: LoadedModel, tensor: torch.Tensor, what: str) -> None:
    """Raise `NonFiniteError` when ``tensor`` (e.g. ``what`` = "the output for cat.jpg") holds NaN or
    infinity, saying whether the weights are the cause."""
    if bool(torch.isfinite(tensor).all()):
        return
    kind = "NaN" if bool(torch.isnan(tensor).any()) else "infinity"
    bad_weights = [name for name, value in loaded.module.state_dict().items()
                   if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad_weights:
        cause = f"the weights ({loaded.weights_path or 'as built'}) hold NaN or infinity in {bad_weights[0]}"
    else:
        cause = "check the input and the mean/std/input_scale settings"
    raise NonFiniteError(f"{what} holds {kind}: {cause}")


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The gist of an exception's message: its first line, cut to its first sentence when long."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    if len(line) > limit and ". " in line:
        line = line.split(". ", 1)[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."


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
        except Exception as exc:  # noqa: BLE001 - importing the user's module ran its code
            log.debug("importing %s failed", module_name, exc_info=True)
            raise ModelError(f"model '{spec}': importing {module_name} failed: {type(exc).__name__}: "
                             f"{_first_line(exc)}") from None
        module = _call_factory(factory, spec)
        default = getattr(factory, "default_weights", None)
        return module, (Path(default()) if callable(default) else None)
    raise ModelError(f"model '{spec}': no builder (set builder = 'torchvision:<name>' or 'module:factory')")


def _call_factory(factory: Callable[[], nn.Module], spec: str) -> nn.Module:
    if not callable(factory):
        raise ModelError(f"model '{spec}': {type(factory).__name__} is not a factory (a function returning "
                         f"a torch nn.Module)")
    try:
        module = factory()
    except Exception as exc:  # noqa: BLE001 - the user's factory: its failure is reported, not a deepvis bug
        log.debug("model factory %s failed", spec, exc_info=True)
        raise ModelError(f"model '{spec}': calling it failed ({type(exc).__name__}: {_first_line(exc)}); "
                         f"a model factory takes no arguments and returns a torch nn.Module") from None
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
    if path.is_dir():
        raise ModelError(f"weights file {path} is a folder, not a file")
    if not path.is_file():
        hint = ""
        if "hub" in path.parts and "checkpoints" in path.parts:
            hint = (f"; torchvision would download it from the internet: copy the file there, or pass "
                    f"--weights PATH (it is looked up under $TORCH_HOME, now {torch.hub.get_dir()})")
        raise ModelError(f"weights file {path} does not exist{hint}")
    if not _looks_like_checkpoint(path):
        raise ModelError(f"{path}: not a torch checkpoint (torch.save writes a zip archive or a pickle; "
                         f"this file is neither)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _needs_code(exc):
            raise ModelError(f"{path}: not a readable torch checkpoint (damaged, or not written by torch.save)") \
                from None
        if not trust:
            raise ModelError(
                f"{path}: this checkpoint needs code execution to load (it pickles Python objects); "
                f"refused. If you trust its source, pass --trust-checkpoint. ({_first_line(exc)})"
            ) from None
        obj = _load_trusted(path)
    except Exception as exc:  # noqa: BLE001 - torch reports a damaged file with many exception types
        raise ModelError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {_first_line(exc)})") \
            from None
    return _unwrap_state_dict(obj, path)


def _needs_code(exc: pickle.UnpicklingError) -> bool:
    """Whether torch's safe unpickler stopped at a Python class or function (rather than at garbage)."""
    text = str(exc)
    return any(marker in text for marker in ("Unsupported global", "Unsupported class", "unrecognized function"))


def _looks_like_checkpoint(path: Path) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle stream (the legacy format starts with PROTO)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return zipfile.is_zipfile(path) or (len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5)


def _load_trusted(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - unpickling a damaged file fails in any way
        log.debug("trusted load of %s failed", path, exc_info=True)
        raise ModelError(f"{path}: not a readable torch checkpoint, even with --trust-checkpoint "
                         f"({type(exc).__name__}: {_first_line(exc)})") from None


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
    non_finite = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if non_finite:
        log.warning("%s: %d tensors hold NaN or infinity (first: %s); the model's outputs will too",
                    path, len(non_finite), non_finite[0])


def _drop_aux_heads(module: nn.Module, builder: Any) -> None:
    if isinstance(builder, str) and builder.split(":")[-1] in _AUX_MODELS:
        module.aux_logits = False  # type: ignore[assignment]  # Module.__setattr__ is typed for tensors/modules
        for name in ("aux1", "aux2", "AuxLogits"):
            if hasattr(module, name):
                setattr(module, name, None)


def prepare_for_visualization(module: nn.Module) -> nn.Module:
    """eval(), parameters frozen, in-place activations made out-of-place."""
    module.eval()
    module.requires_grad_(False)
    for sub in module.modules():
        if getattr(sub, "inplace", False) is True:
            sub.inplace = False  # type: ignore[assignment]  # Module.__setattr__ is typed for tensors/modules
    return module


def load_labels(settings: Settings, builder: Any, module: nn.Module) -> list[str]:
    """Class names: the labels file, else torchvision's own categories, else ImageNet for 1000 outputs."""
    if settings.labels:
        from deepvis_app.io.text_files import TextFileError, read_text_bounded
        from deepvis_app.settings.limits import MAX_LABELS_BYTES

        try:  # bounded: labels=/dev/zero is refused at the limit, a FIFO before it blocks
            text = read_text_bounded(settings.labels, MAX_LABELS_BYTES, "labels file")
        except TextFileError as exc:
            raise ModelError(str(exc)) from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(builder, str) and builder.startswith("torchvision:"):
        categories = torchvision_weights_meta(builder.split(":", 1)[1]).get("categories")
        if categories:
            return list(categories)
    last_linear = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if last_linear and last_linear[-1].out_features == 1000:
        return IMAGENET_LABELS.read_text(encoding="utf-8").splitlines()
    return []

