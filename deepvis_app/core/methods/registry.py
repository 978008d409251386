"""THE list of back-pane methods: backprop rules and attribution methods, one `Method` line each.

Everything else reads this registry: the GUI's method cycle (`N`/`B`) and its help line, the
command line's ``--method`` choices and option flags (`deepvis attribute`), the per-method
settings (`method_options`, checked against each method's options dataclass), `attribute()` and
the compute thread (which runs any method the same way, cancellable and with partial results
when the method takes a ``progress``).

A method is a function ``run(model, x, objective, [cam_layer,] *, progress=..., **options)``
returning a (B, C, H, W) map at the input, with:

- ``kind``: `MapKind.INPUT` (a signal at the network input) or `MapKind.LAYER` (computed at a
  spatial layer below the origin, the Grad-CAM family: ``run`` then takes ``cam_layer``);
- ``options``: a frozen dataclass of `settings.options.option` fields; its defaults are the settings'
  defaults, ``method_options = {"name": {...}}`` in a settings file overrides them, and each field
  becomes a CLI flag (fields with the same ``flag`` share one, e.g. ``--batch``);
- ``view`` and ``clip``: the back view a picture of it uses by default (``deepvis attribute -o``) and
  the percent of its largest values that saturate there (`display.ViewScale.clip_percent`): a
  gradient-like map scaled by its maximum is near-uniform gray, so those clip 2 %; chosen so that
  the sample's map of every method is visible (tests/core/test_default_views.py measures it);
- ``rule``: for backprop methods, the ReLU rule set of `core.backprop`; the app then records one
  forward per frame with that rule and every origin costs one backward.

Adding an attribution method, exactly:

1. write ``deepvis_app/core/methods/attribution/<name>.py`` holding ``<Name>Options`` (a frozen dataclass of
   `option(default, help)` fields, or none) and ``def <name>(model, x, objective, *, progress=NO_PROGRESS,
   **options) -> Tensor``; call ``progress.step(i, work)`` per batch and ``progress.report(fraction,
   make_partial)`` after it if the method is slow (both are free when nobody listens);
2. add one line to `METHODS` below: ``Method("<name>", <name>, MapKind.INPUT, <Name>Options, help="...")``
   (and its import);
3. add its name at the same place in `core.methods.names` (the torch-free copy `deepvis keys` reads).

Nothing else changes: the GUI cycle, ``deepvis attribute --method <name>`` with its flags, the
settings (``method_options = {"<name>": {...}}``), the help and the compute thread pick it up, and
tests/core/test_method_contract.py checks it (shape, determinism, cancelling, its picture, its
options' help and flags, step 3) on three small networks without being told.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from functools import partial
from typing import Any, Sequence

import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.attention_rollout import ROLLOUT_HELP, RolloutOptions, attention_rollout
from deepvis_app.core.methods.attribution.cam_family import eigencam, eigengradcam, hirescam, layercam, xgradcam
from deepvis_app.core.methods.attribution.cam_perturbation import PerturbationCamOptions, ablationcam, scorecam
from deepvis_app.core.methods.attribution.cam_smoothing import CamOptions, EigenCamOptions
from deepvis_app.core.methods.attribution.deeplift import DeepLiftOptions, deeplift
from deepvis_app.core.methods.attribution.fullgrad import FullGradOptions, fullgrad
from deepvis_app.core.methods.attribution.gradcam import (
    GradCamOptions,
    GradCamPlusPlusOptions,
    gradcam,
    gradcam_plus_plus,
    guided_gradcam,
)
from deepvis_app.core.methods.attribution.gradient_shap import GradientShapOptions, gradient_shap
from deepvis_app.core.methods.attribution.gradient_x_input import input_x_gradient
from deepvis_app.core.methods.attribution.integrated_gradients import (
    IntegratedGradientsOptions,
    integrated_gradients_map,
)
from deepvis_app.core.methods.attribution.noise_tunnel import NoiseTunnelOptions
from deepvis_app.core.methods.attribution.noise_tunnel import noise_tunnel as tunnel_of
from deepvis_app.core.methods.attribution.objective import Objective, make_objective, objective_gradient
from deepvis_app.core.methods.attribution.occlusion import OcclusionOptions, occlusion
from deepvis_app.core.methods.attribution.occlusion_maps import occlusion_layer
from deepvis_app.core.methods.attribution.smoothgrad import SmoothGradOptions, smoothgrad
from deepvis_app.core.methods.backprop import REVERSED_NETS, ReversedNetOptions
from deepvis_app.settings.options import NoOptions, OptionsError, make_options


class MapKind(str, Enum):
    """Where a method's map is computed."""

    INPUT = "input"   # a signal at the network input
    LAYER = "layer"   # at a spatial layer below the origin (needs ``cam_layer``)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Method:
    """One back-pane method (see the module docstring)."""

    name: str
    run: Callable[..., torch.Tensor]
    kind: MapKind
    options: type = NoOptions
    view: str = "raw"
    help: str = ""
    clip: float = 0.0   # percent of the largest values that saturate in its default picture
    rule: str | None = None
    kind_of: Callable[[Any], MapKind] | None = None   # when the kind depends on the options (noise tunnel)

    @property
    def progressive(self) -> bool:
        """Whether ``run`` takes a `Progress` (cancellable, with partial maps)."""
        return "progress" in inspect.signature(self.run).parameters

    @property
    def is_backprop(self) -> bool:
        return self.rule is not None

    def map_kind(self, options: Any = None) -> MapKind:
        """`kind` with ``options`` (None: the defaults): a noise tunnel over a CAM is a layer map."""
        if self.kind_of is None:
            return self.kind
        return self.kind_of(self.options() if options is None else options)

    def make_options(self, values: Mapping[str, Any] | None = None) -> Any:
        """The options dataclass with ``values`` applied (`OptionsError` for a bad name or value)."""
        options = make_options(self.options, dict(values or {}), self.name)
        self.map_kind(options)   # a noise tunnel's base is a known method
        return options

    def compute(self, model: nn.Module, x: torch.Tensor, objective: Objective, options: Any = None, *,
                cam_layer: str | None = None, progress: Progress = NO_PROGRESS) -> torch.Tensor:
        """Run the method with ``options`` (an instance of its options dataclass; None: defaults)."""
        options = self.options() if options is None else options
        kwargs = {f.name: getattr(options, f.name) for f in fields(options)}
        if self.progressive:
            kwargs["progress"] = progress
        if self.map_kind(options) is MapKind.LAYER:
            if not cam_layer:
                raise ValueError(f"{self.name} needs a layer with a spatial output (layer= or cam_layer=)")
            return self.run(model, x, objective, cam_layer=cam_layer, **kwargs)
        return self.run(model, x, objective, **kwargs)


def _backprop(model: nn.Module, x: torch.Tensor, objective: Objective, *, rule: str,
              unpool: str = "switches", lrn: str = "backward") -> torch.Tensor:
    """A backprop rule's signal of the objective at the input (seed: 1 on the objective); ``unpool``,
    ``lrn``: the reversed nets' options (`ReversedNetOptions`)."""
    return objective_gradient(model, x, objective, objective.index, method=rule, unpool=unpool, lrn=lrn).input_grad


def _noise_tunnel_kind(base: str) -> MapKind:
    """A noise tunnel's kind: its base method's (an unknown or nested base is refused here)."""
    if base not in _BY_NAME:
        raise OptionsError(f"noise_tunnel: unknown base method '{base}' (choose from {', '.join(METHOD_NAMES)})")
    method = _BY_NAME[base]
    if method.kind_of is not None:
        raise OptionsError(f"noise_tunnel: base '{base}' cannot be a noise tunnel itself")
    return method.kind


# the noise tunnel with ``base`` looked up in this registry when it is a method's name
noise_tunnel = partial(tunnel_of, resolve=lambda name: get_method(name))


def _backprop_method(name: str, help_text: str) -> Method:
    options = ReversedNetOptions if name in REVERSED_NETS else NoOptions
    return Method(name, partial(_backprop, rule=name), MapKind.INPUT, options, help=help_text, rule=name,
                  clip=SIGNAL_CLIP)


SIGNAL_CLIP = 2.0   # the default picture of a gradient-like map saturates its top 2 % (captum's outlier_perc)

METHODS: tuple[Method, ...] = (
    _backprop_method("gradient", "the plain gradient"),
    _backprop_method("deconv", "DeconvNet: ReLUs pass positive signals back"),
    _backprop_method("guided", "guided backprop: the positive part of the gradient at every ReLU"),
    _backprop_method("salinet", "SaliNet: backprop as a reversed net (ReLU masks, max-pool switches)"),
    _backprop_method("desalinet", "DeSaliNet: guided ReLUs with max-pool switches"),
    Method("occlusion", occlusion, MapKind.INPUT, OcclusionOptions,
           help="drop of the objective when a window of the input is replaced by the baseline"),
    Method("occlusion_layer", occlusion_layer, MapKind.INPUT, OcclusionOptions,
           help="DNN-Visualizer's occlusion saliency: the unit's channel norm with a window occluded minus without"),
    Method("smoothgrad", smoothgrad, MapKind.INPUT, SmoothGradOptions, clip=SIGNAL_CLIP,
           help="mean backprop signal over noisy copies of the input"),
    Method("integrated_gradients", integrated_gradients_map, MapKind.INPUT, IntegratedGradientsOptions,
           view="gray", clip=SIGNAL_CLIP,
           help="the gradient integrated from the baseline to the input, times their difference"),
    Method("gradcam", gradcam, MapKind.LAYER, GradCamOptions, view="overlay",
           help="layer activations weighted by their mean gradient"),
    Method("gradcam++", gradcam_plus_plus, MapKind.LAYER, GradCamPlusPlusOptions, view="overlay",
           help="Grad-CAM with pixel-wise weights of positive gradients"),
    Method("guided_gradcam", guided_gradcam, MapKind.LAYER, view="gray", clip=SIGNAL_CLIP,
           help="guided backprop times the Grad-CAM map"),
    Method("hirescam", hirescam, MapKind.LAYER, CamOptions, view="overlay",
           help="HiResCAM: sum over channels of gradient times activation (Grad-CAM without the spatial mean)"),
    Method("xgradcam", xgradcam, MapKind.LAYER, CamOptions, view="overlay",
           help="XGrad-CAM: channels weighted by their activation-normalized gradient times activation"),
    Method("layercam", layercam, MapKind.LAYER, CamOptions, view="overlay",
           help="LayerCAM: sum over channels of the positive gradient times activation"),
    Method("eigencam", eigencam, MapKind.LAYER, EigenCamOptions, view="overlay",
           help="EigenCAM: the layer's first principal component (class-agnostic, no gradient)"),
    Method("eigengradcam", eigengradcam, MapKind.LAYER, EigenCamOptions, view="overlay",
           help="EigenGrad-CAM: first principal component of gradient times activation"),
    Method("scorecam", scorecam, MapKind.LAYER, PerturbationCamOptions, view="overlay",
           help="Score-CAM: channels weighted by the softmax of the objective on the input masked by each"),
    Method("ablationcam", ablationcam, MapKind.LAYER, PerturbationCamOptions, view="overlay",
           help="Ablation-CAM: channels weighted by the objective's relative drop when each is ablated"),
    Method("fullgrad", fullgrad, MapKind.INPUT, FullGradOptions, view="overlay",
           help="FullGrad: |input x gradient| plus every conv/batch-norm bias times its gradient"),
    Method("input_x_gradient", input_x_gradient, MapKind.INPUT, view="gray", clip=SIGNAL_CLIP,
           help="the input times the gradient"),
    Method("gradient_shap", gradient_shap, MapKind.INPUT, GradientShapOptions, view="gray", clip=SIGNAL_CLIP,
           help="GradientSHAP: expected gradients from baselines at random points towards the (noisy) input"),
    Method("deeplift", deeplift, MapKind.INPUT, DeepLiftOptions, view="gray", clip=SIGNAL_CLIP,
           help="DeepLIFT (rescale rule): input minus baseline times the rescaled multipliers"),
    Method("attention_rollout", attention_rollout, MapKind.INPUT, RolloutOptions, view="overlay", help=ROLLOUT_HELP),
    Method("noise_tunnel", noise_tunnel, MapKind.INPUT, NoiseTunnelOptions, view="gray", clip=SIGNAL_CLIP,
           kind_of=lambda options: _noise_tunnel_kind(options.base),
           help="any method (--base) averaged over noisy inputs: smoothgrad, smoothgrad_sq or vargrad (--nt-type)"),
)

_BY_NAME: dict[str, Method] = {method.name: method for method in METHODS}

METHOD_NAMES: tuple[str, ...] = tuple(_BY_NAME)
BACKPROP_METHOD_NAMES: tuple[str, ...] = tuple(m.name for m in METHODS if m.is_backprop)
ATTRIBUTION_METHODS: tuple[str, ...] = tuple(m.name for m in METHODS if not m.is_backprop)
CAM_METHODS: tuple[str, ...] = tuple(m.name for m in METHODS if m.kind is MapKind.LAYER)


def get_method(name: str) -> Method:
    """The registered method ``name``; ValueError listing the choices otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise OptionsError(f"unknown method '{name}' (choose from {', '.join(METHOD_NAMES)})") from None


def settings_options(method: Method, method_options: Mapping[str, Mapping[str, Any]]) -> Any:
    """``method``'s options from the ``method_options`` setting (defaults where it says nothing)."""
    options = make_options(method.options, dict(method_options.get(method.name, {})),
                           f"setting method_options['{method.name}']")
    method.map_kind(options)   # a noise tunnel's base is a known method
    return options


def check_method_settings(method_options: Mapping[str, Mapping[str, Any]]) -> None:
    """`OptionsError` for an unknown method name or a bad option in the ``method_options`` setting."""
    for name in method_options:
        if name not in _BY_NAME:
            raise OptionsError(f"setting method_options: unknown method '{name}' "
                               f"(choose from {', '.join(METHOD_NAMES)})")
        settings_options(_BY_NAME[name], method_options)


def attribute(model: nn.Module, x: torch.Tensor, method: str, *, target: int | Sequence[int] | None = None,
              layer: str | None = None, unit: int | Sequence[int] | None = None, **options: Any) -> torch.Tensor:
    """Attribution of the objective (see `core.attribution`) to the input ``x`` (B, C, H, W).

    ``options`` are the method's options, plus ``probability`` (explain the softmax), ``cam_layer``
    (Grad-CAM's layer, default ``layer``) and ``progress``.
    """
    if method not in _BY_NAME:
        raise ValueError(f"unknown attribution method '{method}' (choose from {', '.join(METHOD_NAMES)})")
    entry = _BY_NAME[method]
    probability = bool(options.pop("probability", False))
    cam_layer = options.pop("cam_layer", None) or layer
    progress = options.pop("progress", NO_PROGRESS)
    if "quadrature_method" in options:
        options["quadrature"] = options.pop("quadrature_method")
    chosen = entry.make_options(options)
    objective = make_objective(model, x, target, layer, unit, probability)
    return entry.compute(model, x, objective, chosen, cam_layer=cam_layer, progress=progress)
