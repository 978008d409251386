"""Load a network from settings, offline, ready for visualization.

Ways to name a model: a folder under models/ (its settings.py says how to build it), `torchvision:<name>`
(every family, built with weights=None; weights from --weights or the file torchvision itself would
have put in the torch hub cache), `timm:<name>`, `hf:<folder>` (a `save_pretrained` folder), or
`package.module:factory`; the builders live in `core.zoo`, weights files (torch checkpoints and
safetensors) in `core.checkpoint`. What a model knows about its inputs (timm's pretrained_cfg, a
preprocessor_config.json) fills the settings the user left at their defaults.

One rule for missing weights, whatever the builder: a model whose default weights file is missing is
refused with a line naming the file, unless the user asks for random weights (`--weights random`); a
model that runs on random weights (that request, or timm without --weights) says so in one warning
line, kept in `LoadedModel.notes` for the status line. The loaded model is frozen, in eval mode, with
in-place ReLUs made out-of-place (so captured activations and ReLU rules see pre-activation values).
Every way a user's model, weights, device or settings can fail to make a working network is a
`ModelError` naming the file or setting; anything else is a bug.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from deepvis_app.core.nn import outputs
from deepvis_app.core.nn.checkpoint import apply_state_dict, load_state_dict
from deepvis_app.core.nn.layers import LayerInfo, discover_layers
from deepvis_app.core.nn.model_error import ModelError, first_line
from deepvis_app.core.nn.pairs import network_channels
from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.nn.zoo.builders import build
from deepvis_app.core.nn.zoo.built import Built
from deepvis_app.core.nn.zoo.torchvision_models import torchvision_hub_file, torchvision_weights_meta
from deepvis_app.settings.defaults import RANDOM_WEIGHTS, Settings

__all__ = ["ModelError", "LayerNotFoundError", "NonFiniteError", "LoadedModel", "load_model", "build_module",
           "load_state_dict", "apply_state_dict", "torchvision_hub_file", "torchvision_weights_meta",
           "prepare_for_visualization", "resolve_device", "check_finite", "load_labels"]

log = logging.getLogger("deepvis.core.model")

IMAGENET_LABELS = Path(__file__).resolve().parents[2] / "data" / "imagenet_classes.txt"
_DEFAULT_ORIGIN = "default"


class LayerNotFoundError(ModelError, KeyError):
    """A layer name the model does not have (also a KeyError, for lookups)."""

    __str__ = Exception.__str__  # KeyError would quote the message


class NonFiniteError(ModelError):
    """The network produced NaN or infinity: bad weights, a zero std, or a broken input."""


@dataclass
class LoadedModel:
    """A ready network plus everything the views need to know about it.

    ``settings`` include the defaults the model itself implied (timm's pretrained_cfg, a Hugging Face
    preprocessor config) where the user set nothing; ``notes``: lines worth showing the user (random
    weights), already logged as warnings.
    """

    module: nn.Module
    settings: Settings
    device: torch.device
    labels: list[str]
    layers: list[LayerInfo]
    preprocessor: Preprocessor
    weights_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def layer(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        names = [info.name for info in self.layers]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        shown = ", ".join(names[:40]) + (f" ... (+{len(names) - 40})" if len(names) > 40 else "")
        raise LayerNotFoundError(f"unknown layer '{name}'{hint} (layers: {shown})")

    @property
    def layer_names(self) -> list[str]:
        return [info.name for info in self.layers]

    @property
    def output_layer(self) -> str:
        return self.settings.output_layer or self.layers[-1].name

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else str(index)


def replica(loaded: LoadedModel) -> LoadedModel:
    """The same network as a module object of its own that shares the weights and buffers (nothing big is
    copied): a second compute thread taps and runs it while another runs the original (hooks are per
    module, a forward in eval mode changes no weight). Copy it while no transient hook is on the model."""
    shared: dict[int, Any] = {id(t): t for t in itertools.chain(loaded.module.parameters(), loaded.module.buffers())}
    return dataclasses.replace(loaded, module=copy.deepcopy(loaded.module, memo=shared))


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch names it, once it is known to
    hold data and to work on this machine (a tiny allocation is the probe)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"device '{name}': {first_line(exc)} (use auto, cpu, cuda or cuda:N)") from None
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
            raise ModelError(f"device '{name}': not usable on this machine ({first_line(exc)})") from None
    return device


def load_model(settings: Settings, origins: Mapping[str, str] | None = None) -> LoadedModel:
    """Build, load weights, freeze, discover layers: the one entry point for every command.

    ``origins`` (setting name -> file or --set that set it, from the settings loader) lets errors about
    the layer list or the input shape name the file to fix, and tells which settings the user left at
    their defaults (without it: those equal to the default).
    """
    device = resolve_device(settings.device)
    builder = settings.builder if settings.builder is not None else settings.model
    random_weights = settings.weights == RANDOM_WEIGHTS
    built = build(builder, settings.model_kwargs, random_weights=random_weights)
    settings = with_model_defaults(settings, built, origins)
    module = built.module
    weights = None if random_weights else Path(settings.weights) if settings.weights else built.default_weights
    if weights is not None and weights == built.default_weights and not weights.exists():
        raise ModelError(_missing_default_weights(settings.model, weights))
    if weights is not None:
        state = load_state_dict(weights, trust=settings.trust_checkpoint)
        apply_state_dict(module, _without_prefixes(state, built.ignored_prefixes), weights)
    notes = list(built.notes)
    if weights is None and (random_weights or built.random_init):
        notes.append(f"model '{settings.model}' runs on random weights: its units and classes mean nothing "
                     f"(pass --weights FILE for trained ones)")
    for note in notes:
        log.warning("%s", note)
    prepare_for_visualization(module).to(device)
    labels = load_labels(settings, builder, module, carried=built.labels)
    layers = _discover(module, settings, device, origins or {})
    log.info("model %s on %s: %d layers, weights %s", settings.model, device, len(layers), weights or "(none)")
    return LoadedModel(module, settings, device, labels, layers, Preprocessor(settings), weights, notes)


def _missing_default_weights(model: str, path: Path) -> str:
    where = ""
    if "hub" in path.parts and "checkpoints" in path.parts:
        where = (f"; torchvision would download it from the internet: copy the file there (it is looked up "
                 f"under $TORCH_HOME, now {torch.hub.get_dir()})")
    return (f"model '{model}': its weights file {path} does not exist{where}; or pass --weights FILE, or "
            f"--weights random to run on random weights")


def build_module(builder: Any, settings: Settings) -> tuple[nn.Module, Path | None]:
    """The bare network and the weights file to use when settings name none."""
    built = build(builder, settings.model_kwargs)
    return built.module, built.default_weights


def with_model_defaults(settings: Settings, built: Built, origins: Mapping[str, str] | None) -> Settings:
    """``settings`` with the model's own input defaults where the user set nothing (`Built.defaults`)."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}

    def user_set(name: str) -> bool:
        if origins is not None:
            return origins.get(name, _DEFAULT_ORIGIN) != _DEFAULT_ORIGIN
        spec = fields[name]
        default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
        return bool(getattr(settings, name) != default)

    changes = {name: value for name, value in built.defaults.items() if not user_set(name)}
    if changes:
        log.info("from %s: %s", built.defaults_source,
                 ", ".join(f"{name}={value!r}" for name, value in changes.items()))
    return settings.replace(**changes) if changes else settings


def _without_prefixes(state: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """``state`` without the keys of heads dropped for inference (kept as it is when there are none)."""
    if not prefixes or not any(key.startswith(prefixes) for key in state):
        return state
    kept = type(state)((key, value) for key, value in state.items() if not key.startswith(prefixes))
    if hasattr(state, "_metadata"):
        kept._metadata = state._metadata  # type: ignore[attr-defined]  # torch's versions, for the modules left
    return kept


def _discover(module: nn.Module, settings: Settings, device: torch.device,
              origins: Mapping[str, str]) -> list[LayerInfo]:
    """`discover_layers`, with a listed layer the model lacks, or a model that cannot run on the configured
    input at all, reported as a ModelError naming the settings file."""
    def origin(name: str) -> str:
        return origins.get(name, "default")

    if settings.layers is not None:
        names = [name for name, _ in module.named_modules() if name] + [outputs.HEAD_NAME]
        unknown = [name for name in settings.layers if name not in names]
        if unknown:
            hints = [f"'{n}' (did you mean '{close[0]}'?)" if (close := difflib.get_close_matches(n, names, 1))
                     else f"'{n}'" for n in unknown[:5]]
            raise ModelError(f"{origin('layers')}: setting 'layers' names modules the model does not have: "
                             f"{', '.join(hints)} (see `deepvis layers --set layers=None`)")
    try:
        example = torch.zeros((1, network_channels(settings.input_channels, settings.two_inputs),
                               *settings.input_size), device=device)
        outputs.install(module, settings.output, settings.output_kind, example, settings.two_inputs,
                        settings.input_channels)
        return discover_layers(module, settings, device)
    except ValueError as exc:  # a listed module that emits no tensor
        raise ModelError(f"{origin('layers')}: {exc}") from None
    except (RuntimeError, MemoryError) as exc:
        log.debug("forward pass on a blank input failed", exc_info=True)
        shape = "x".join(str(n) for n in (1, settings.input_channels, *settings.input_size))
        raise ModelError(
            f"model '{settings.model}' cannot run on a {shape} input (input_channels from "
            f"{origin('input_channels')}, input_size from {origin('input_size')}): {first_line(exc)}"
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


def prepare_for_visualization(module: nn.Module) -> nn.Module:
    """eval(), parameters frozen, in-place activations made out-of-place."""
    module.eval()
    module.requires_grad_(False)
    for sub in module.modules():
        if getattr(sub, "inplace", False) is True:
            sub.inplace = False  # type: ignore[assignment]  # Module.__setattr__ is typed for tensors/modules
    return module


def load_labels(settings: Settings, builder: Any, module: nn.Module, carried: list[str] | None = None) -> list[str]:
    """Class names: the labels file, else those the model carries (torchvision's categories, a Hugging Face
    config's id2label), else ImageNet for 1000 outputs."""
    if settings.labels:
        from deepvis_app.io.text_files import TextFileError, read_text_bounded
        from deepvis_app.settings.limits import MAX_LABELS_BYTES

        try:  # bounded: labels=/dev/zero is refused at the limit, a FIFO before it blocks
            text = read_text_bounded(settings.labels, MAX_LABELS_BYTES, "labels file")
        except TextFileError as exc:
            raise ModelError(str(exc)) from None
        return [line.strip() for line in text.splitlines() if line.strip()]
    if carried:
        return list(carried)
    last_linear = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if last_linear and last_linear[-1].out_features == 1000:
        return IMAGENET_LABELS.read_text(encoding="utf-8").splitlines()
    return []


def cam_layer_below(loaded: LoadedModel, origin: str) -> str:
    """Grad-CAM's layer for a unit of ``origin``: the last spatial layer below it (the map at the origin
    itself would just be the unit's own activation), else the origin when it is spatial."""
    names = [info.name for info in loaded.layers]
    index = names.index(origin)
    for info in reversed(loaded.layers[:index]):
        if info.is_spatial:
            return info.name
    if loaded.layers[index].is_spatial:
        return origin
    raise ValueError(f"no spatial layer at or below '{origin}' for Grad-CAM")
