"""Attribution benchmark: time per image of every method, against captum and the bare model; prints JSON.

For each model (the default efficientnet_lite0 with its weights, torchvision resnet18 with random
weights) and each method, ours and captum's same method are timed in the same run, interleaved
(ours, captum, ours, ...) so that load on a shared machine hits both alike. ``vs_captum`` =
ours / captum (goal <= 1.0). For the ReLU-rule backprops, ``vs_bare`` = ours / the bare
forward + backward of the model (``model(x)[:, t].sum()`` differentiated w.r.t. x; goal <= 1.1).
Times are CPU seconds of this process (``time.process_time``), which on a shared machine leaves out
the time other processes hold the cores; wall-clock minima are printed too. Ratios use the minimum
over repeats (the least disturbed run).

captum equivalents: gradient = Saliency(abs=False), deconv = Deconvolution, guided and desalinet =
GuidedBackprop, occlusion = Occlusion, smoothgrad = NoiseTunnel(Saliency), integrated_gradients =
IntegratedGradients, gradcam = LayerGradCam + interpolate, guided_gradcam = GuidedGradCam; salinet
and gradcam++ have none. Note captum's Deconvolution/GuidedBackprop only hook nn.ReLU, so on
efficientnet_lite0 (ReLU6) they do no rule work at all.

Usage: OMP_NUM_THREADS=2 python bench/attribution.py [--repeats 5] [--size 224] [--batch 1] [--models ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from typing import Callable

import torch
import torchvision
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)

from deepvis_app.core.attribution import attribute
from deepvis_app.core.backprop import backprop_from_unit
from deepvis_app.core.model import load_model, prepare_for_visualization
from deepvis_app.settings.loader import load_settings

TARGET = 7
OPTIONS = {"occlusion": {"window": 32, "stride": 32, "perturbations_per_eval": 16},
           "smoothgrad": {"samples": 8, "stdev": 0.3, "batch_size": 8},
           "integrated_gradients": {"steps": 16, "internal_batch_size": 16}}


def load(name: str) -> tuple[torch.nn.Module, str]:
    """(model, Grad-CAM layer)."""
    if name == "efficientnet_lite0":
        return load_model(load_settings().settings.replace(device="cpu")).module, "_blocks.15"
    torch.manual_seed(0)
    return prepare_for_visualization(torchvision.models.resnet18(weights=None)), "layer4"


def bare_forward_backward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(model(x)[:, TARGET].sum(), x)[0]


def ours(model, cam_layer: str, method: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if method in ("gradient", "deconv", "guided", "salinet", "desalinet"):
        return lambda x: backprop_from_unit(model, x, None, TARGET, method=method, seed="one").input_grad
    options = dict(OPTIONS.get(method, {}))
    if method in ("gradcam", "gradcam++", "guided_gradcam"):
        options["layer"] = cam_layer
    return lambda x: attribute(model, x, method, target=TARGET, **options)


def captum(model, cam_layer: str, method: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    module = model.get_submodule(cam_layer)
    window, stride = OPTIONS["occlusion"]["window"], OPTIONS["occlusion"]["stride"]
    table = {
        "gradient": lambda x: Saliency(model).attribute(x, target=TARGET, abs=False),
        "deconv": lambda x: Deconvolution(model).attribute(x, target=TARGET),
        "guided": lambda x: GuidedBackprop(model).attribute(x, target=TARGET),
        "desalinet": lambda x: GuidedBackprop(model).attribute(x, target=TARGET),
        "occlusion": lambda x: Occlusion(model).attribute(
            x, target=TARGET, sliding_window_shapes=(3, window, window), strides=(3, stride, stride),
            perturbations_per_eval=OPTIONS["occlusion"]["perturbations_per_eval"]),
        "smoothgrad": lambda x: NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=8, stdevs=0.3, target=TARGET, abs=False),
        "integrated_gradients": lambda x: IntegratedGradients(model).attribute(
            x, target=TARGET, n_steps=16, internal_batch_size=16),
        "gradcam": lambda x: LayerAttribution.interpolate(
            LayerGradCam(model, module).attribute(x, target=TARGET, relu_attributions=True), x.shape[2:], "bilinear"),
        "guided_gradcam": lambda x: GuidedGradCam(model, module).attribute(x, target=TARGET),
    }
    return table.get(method)


def timed(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn(x)
    return time.process_time() - cpu, time.perf_counter() - wall


def compare(fns: dict[str, Callable], x: torch.Tensor, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved (CPU, wall) timings per image of each function, after one warm-up call each."""
    for fn in fns.values():
        fn(x)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu, wall = timed(fn, x)
            times[name].append((cpu / x.shape[0], wall / x.shape[0]))
    return times


def summary(times: list[tuple[float, float]]) -> dict[str, float]:
    cpu = [t[0] for t in times]
    return {"cpu_min_ms": round(1000 * min(cpu), 2), "cpu_median_ms": round(1000 * statistics.median(cpu), 2),
            "wall_min_ms": round(1000 * min(t[1] for t in times), 2)}


def best(times: list[tuple[float, float]]) -> float:
    return min(t[0] for t in times)


def bench_model(name: str, methods: list[str], x: torch.Tensor, repeats: int) -> dict:
    model, cam_layer = load(name)
    result: dict = {"methods": {}}
    bare = None
    for method in methods:
        fns = {"ours": ours(model, cam_layer, method)}
        reference = captum(model, cam_layer, method)
        if reference is not None:
            fns["captum"] = reference
        if method in ("gradient", "deconv", "guided", "salinet", "desalinet"):
            fns["bare"] = lambda inp: bare_forward_backward(model, inp)
        times = compare(fns, x, repeats)
        row = {key: summary(value) for key, value in times.items()}
        if "captum" in times:
            row["vs_captum"] = round(best(times["ours"]) / best(times["captum"]), 3)
        if "bare" in times:
            row["vs_bare"] = round(best(times["ours"]) / best(times["bare"]), 3)
            bare = summary(times["bare"]) if bare is None else bare
        result["methods"][method] = row
    result["bare_forward_backward"] = bare
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["efficientnet_lite0", "resnet18"])
    parser.add_argument("--methods", nargs="+", default=["gradient", "deconv", "guided", "salinet", "desalinet",
                                                         "occlusion", "smoothgrad", "integrated_gradients",
                                                         "gradcam", "gradcam++", "guided_gradcam"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    report = {"config": {"size": args.size, "batch": args.batch, "repeats": args.repeats,
                         "threads": torch.get_num_threads(), "options": OPTIONS, "torch": torch.__version__},
              "models": {name: bench_model(name, args.methods, x, args.repeats) for name in args.models}}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
