"""Attribution benchmark: every registered method against its oracle library's same method, timed in
the same run; prints per method ours / oracle (goal <= 1.0), as a table or JSON.

For each model (the default efficientnet_lite0 with its weights, CAMs at ``_blocks.15``;
torchvision resnet18 with random weights, CAMs at ``layer4``) each method runs through the registry
(`attribute()` by name, as the CLI and the app run it; the ReLU-rule backprops through
`backprop_from_unit`) and its oracle with the same options, interleaved (ours, oracle, ours, ...)
so that load on a shared machine hits both alike. ``vs_oracle`` = ours / oracle. For the ReLU-rule
backprops, ``vs_bare`` = ours / the bare forward + backward of the model (``model(x)[:, t].sum()``
differentiated w.r.t. x; goal <= 1.1). Times are CPU seconds of this process per image
(``time.process_time``: on a shared machine it leaves out the time other processes hold the cores);
wall-clock minima are in the JSON. Ratios use the minimum over repeats (the least disturbed run).

Oracles: captum for gradient (Saliency), deconv, guided and desalinet (GuidedBackprop), occlusion,
smoothgrad and noise_tunnel (NoiseTunnel), integrated_gradients, gradcam (LayerGradCam +
interpolate), guided_gradcam, input_x_gradient, gradient_shap, deeplift; pytorch-grad-cam for
gradcam++ and the CAM family (hirescam ... ablationcam, fullgrad; Score-CAM and Ablation-CAM with 32
rows per forward, as ours). salinet has none. pytorch-grad-cam also normalizes and resizes maps with
numpy/cv2, which ours leaves to the display; its gradient CAMs get an input that requires grad (its
backward needs a graph and the model's parameters are frozen). captum's Deconvolution /
GuidedBackprop hook only nn.ReLU and its DeepLift has no ReLU6 rule, so on efficientnet_lite0
(ReLU6) captum's DeepLift is given its own ``nonlinear`` rule for it, so that both do the same work.

Usage: OMP_NUM_THREADS=2 python bench/attribution.py [--repeats 3] [--size 224] [--batch 1]
       [--models efficientnet_lite0 resnet18] [--methods gradcam scorecam ...] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import warnings
from typing import Callable

os.environ.setdefault("TQDM_DISABLE", "1")  # pytorch-grad-cam's per-batch progress bars
# numpy's OpenBLAS threads (pytorch-grad-cam's SVD) spin after each call and starve torch's OpenMP
# threads on a small machine (ours right after the oracle's EigenCAM: 110 ms instead of 18). torch
# does not use OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import captum.attr._core.deep_lift as captum_deep_lift  # noqa: E402
import pytorch_grad_cam as gc  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from captum.attr import (  # noqa: E402
    Deconvolution,
    DeepLift,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from deepvis_app.core.methods.attribution import make_objective  # noqa: E402
from deepvis_app.core.methods.backprop import backprop_from_unit  # noqa: E402
from deepvis_app.core.methods.registry import (
    BACKPROP_METHOD_NAMES,  # noqa: E402
    attribute,  # noqa: E402
    noise_tunnel,  # noqa: E402
)
from deepvis_app.core.nn.model import load_model, prepare_for_visualization  # noqa: E402
from deepvis_app.settings.loader import load_settings  # noqa: E402

TARGET = 7
ROWS = 32      # Score-CAM / Ablation-CAM rows per forward
SAMPLES = 8
# label -> (registered method, its options); a label is a method, or a method with other options
RUNS: dict[str, tuple[str, dict]] = {
    **{name: (name, {}) for name in BACKPROP_METHOD_NAMES},
    "occlusion": ("occlusion", {"window": 32, "stride": 32, "perturbations_per_eval": 16}),
    "smoothgrad": ("smoothgrad", {"samples": SAMPLES, "stdev": 0.3, "batch_size": 8}),
    "integrated_gradients": ("integrated_gradients", {"steps": 16, "internal_batch_size": 16}),
    **{name: (name, {}) for name in ("gradcam", "gradcam++", "guided_gradcam", "hirescam", "xgradcam", "layercam",
                                     "eigencam", "eigengradcam", "fullgrad", "input_x_gradient")},
    "hirescam_eigen_smooth": ("hirescam", {"eigen_smooth": True}),
    "layercam_aug_smooth": ("layercam", {"aug_smooth": True}),
    "scorecam": ("scorecam", {"batch_size": ROWS}),
    "ablationcam": ("ablationcam", {"batch_size": ROWS}),
    "gradient_shap": ("gradient_shap", {"samples": SAMPLES, "stdev": 0.1, "batch_size": SAMPLES}),
    "deeplift": ("deeplift", {}),
    "noise_tunnel_gradient": ("noise_tunnel", {"base": "gradient", "samples": SAMPLES, "stdev": 0.3,
                                               "batch_size": 4}),
    "noise_tunnel_ig_vargrad": ("noise_tunnel", {"base": "integrated_gradients", "nt_type": "vargrad",
                                                 "samples": 4, "stdev": 0.3, "batch_size": 2}),
}
IG_IN_TUNNEL = {"steps": 8, "internal_batch_size": 8}
GRAD_CAMS = {"gradcam++": gc.GradCAMPlusPlus, "hirescam": gc.HiResCAM, "xgradcam": gc.XGradCAM,
             "layercam": gc.LayerCAM, "eigencam": gc.EigenCAM, "eigengradcam": gc.EigenGradCAM,
             "scorecam": gc.ScoreCAM, "ablationcam": gc.AblationCAM, "fullgrad": gc.FullGrad}


def load(name: str) -> tuple[torch.nn.Module, str]:
    """(model, CAM layer)."""
    if name == "efficientnet_lite0":
        return load_model(load_settings().settings.replace(device="cpu")).module, "_blocks.15"
    torch.manual_seed(0)
    return prepare_for_visualization(torchvision.models.resnet18(weights=None)), "layer4"


def bare_forward_backward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(model(x)[:, TARGET].sum(), x)[0]


def baselines_like(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros(4, *x.shape[1:]).uniform_(-1, 1, generator=torch.Generator().manual_seed(0))


def ours(model: torch.nn.Module, cam_layer: str, label: str, x: torch.Tensor) -> Callable[[torch.Tensor], object]:
    method, options = RUNS[label]
    if method in BACKPROP_METHOD_NAMES:
        return lambda inp: backprop_from_unit(model, inp, None, TARGET, method=method, seed="one").input_grad
    if label == "noise_tunnel_ig_vargrad":   # the base's own options: the function, not attribute()
        return lambda inp: noise_tunnel(model, inp, make_objective(model, inp, TARGET, None, None), **options,
                                        base_options=IG_IN_TUNNEL)
    options = dict(options, **{"gradient_shap": {"baselines": baselines_like(x)},
                               "deeplift": {"baseline": baselines_like(x)[:1]}}.get(method, {}))
    return lambda inp: attribute(model, inp, method, target=TARGET, cam_layer=cam_layer, **options)


def grad_cam_oracle(model: torch.nn.Module, cam_layer: str, label: str) -> Callable[[torch.Tensor], object]:
    method, options = RUNS[label]
    cam_class = GRAD_CAMS[method]
    layers = [] if cam_class is gc.FullGrad else [model.get_submodule(cam_layer)]
    cam = cam_class(model, layers, batch_size=ROWS) if cam_class is gc.AblationCAM else cam_class(model, layers)
    if cam_class is gc.ScoreCAM:
        cam.batch_size = ROWS
    gradient_free = cam_class in (gc.EigenCAM, gc.ScoreCAM, gc.AblationCAM)
    smoothing = {key: value for key, value in options.items() if key in ("eigen_smooth", "aug_smooth")}
    targets = [ClassifierOutputTarget(TARGET)]
    return lambda x: cam(x if gradient_free else x.detach().requires_grad_(True), targets, **smoothing)


def captum_oracle(model: torch.nn.Module, cam_layer: str, label: str,
                  x: torch.Tensor) -> Callable[[torch.Tensor], object] | None:
    module = model.get_submodule(cam_layer)
    occlusion, baselines = RUNS["occlusion"][1], baselines_like(x)
    table = {
        "gradient": lambda x: Saliency(model).attribute(x, target=TARGET, abs=False),
        "deconv": lambda x: Deconvolution(model).attribute(x, target=TARGET),
        "guided": lambda x: GuidedBackprop(model).attribute(x, target=TARGET),
        "desalinet": lambda x: GuidedBackprop(model).attribute(x, target=TARGET),
        "occlusion": lambda x: Occlusion(model).attribute(
            x, target=TARGET, sliding_window_shapes=(3, occlusion["window"], occlusion["window"]),
            strides=(3, occlusion["stride"], occlusion["stride"]),
            perturbations_per_eval=occlusion["perturbations_per_eval"]),
        "smoothgrad": lambda x: NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=SAMPLES, nt_samples_batch_size=8, stdevs=0.3, target=TARGET,
            abs=False),
        "integrated_gradients": lambda x: IntegratedGradients(model).attribute(
            x, target=TARGET, n_steps=16, internal_batch_size=16),
        "gradcam": lambda x: LayerAttribution.interpolate(
            LayerGradCam(model, module).attribute(x, target=TARGET, relu_attributions=True), x.shape[2:], "bilinear"),
        "guided_gradcam": lambda x: GuidedGradCam(model, module).attribute(x, target=TARGET),
        "input_x_gradient": lambda x: InputXGradient(model).attribute(x, target=TARGET),
        "gradient_shap": lambda x: GradientShap(model).attribute(x, baselines=baselines, n_samples=SAMPLES,
                                                                 stdevs=0.1, target=TARGET),
        "deeplift": lambda x: DeepLift(model).attribute(x, baselines=baselines[:1].expand_as(x), target=TARGET),
        "noise_tunnel_gradient": lambda x: NoiseTunnel(Saliency(model)).attribute(
            x, nt_samples=SAMPLES, nt_samples_batch_size=4, stdevs=0.3, target=TARGET, abs=False),
        "noise_tunnel_ig_vargrad": lambda x: NoiseTunnel(IntegratedGradients(model)).attribute(
            x, nt_type="vargrad", nt_samples=4, nt_samples_batch_size=2, stdevs=0.3, target=TARGET,
            n_steps=IG_IN_TUNNEL["steps"], internal_batch_size=IG_IN_TUNNEL["internal_batch_size"]),
    }
    return table.get(label)


def oracle(model: torch.nn.Module, cam_layer: str, label: str,
           x: torch.Tensor) -> tuple[str, Callable[[torch.Tensor], object]] | None:
    """(library, function) of ``label``'s oracle, or None."""
    if RUNS[label][0] in GRAD_CAMS:
        run, library = grad_cam_oracle(model, cam_layer, label), "pytorch-grad-cam"
    else:
        run, library = captum_oracle(model, cam_layer, label, x), "captum"
    if run is None:
        return None

    def quiet(inputs: torch.Tensor, run: Callable = run) -> object:
        with contextlib.redirect_stdout(sys.stderr):   # pytorch-grad-cam prints warnings
            return run(inputs)
    return library, quiet


def timed(fn: Callable[[torch.Tensor], object], x: torch.Tensor) -> tuple[float, float]:
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


def bench_method(model: torch.nn.Module, cam_layer: str, label: str, x: torch.Tensor, repeats: int) -> dict:
    fns = {"ours": ours(model, cam_layer, label, x)}
    reference = oracle(model, cam_layer, label, x)
    if reference is not None:
        fns["oracle"] = reference[1]
    if RUNS[label][0] in BACKPROP_METHOD_NAMES:
        fns["bare"] = lambda inp: bare_forward_backward(model, inp)
    times = compare(fns, x, repeats)
    row: dict = {key: summary(value) for key, value in times.items()}
    if reference is not None:
        row["oracle_library"] = reference[0]
        row["vs_oracle"] = round(best(times["ours"]) / best(times["oracle"]), 3)
    if "bare" in times:
        row["vs_bare"] = round(best(times["ours"]) / best(times["bare"]), 3)
    return row


def bench_model(name: str, labels: list[str], x: torch.Tensor, repeats: int) -> dict:
    model, cam_layer = load(name)
    if name == "efficientnet_lite0":
        captum_deep_lift.SUPPORTED_NON_LINEAR.setdefault(torch.nn.ReLU6, captum_deep_lift.nonlinear)
    rows = {}
    for label in labels:
        try:
            rows[label] = bench_method(model, cam_layer, label, x, repeats)
        except (RuntimeError, ValueError, TypeError, AssertionError) as exc:   # an oracle refusing the model
            rows[label] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        print(f"{name} {label}: {rows[label].get('vs_oracle', rows[label].get('error', '-'))}", file=sys.stderr)
    return {"cam_layer": cam_layer, "methods": rows}


def table(report: dict) -> str:
    lines = [f"{'model':<20}{'method':<26}{'ours ms':>10}{'oracle ms':>11}{'ours/oracle':>13}  oracle"]
    for model, result in report["models"].items():
        for label, row in result["methods"].items():
            if "error" in row:
                lines.append(f"{model:<20}{label:<26}  {row['error']}")
                continue
            oracle_ms = row.get("oracle", {}).get("cpu_min_ms", float("nan"))
            ratio = row.get("vs_oracle", row.get("vs_bare"))
            note = row.get("oracle_library", "none (vs bare forward+backward)" if "vs_bare" in row else "none")
            lines.append(f"{model:<20}{label:<26}{row['ours']['cpu_min_ms']:>10.1f}{oracle_ms:>11.1f}"
                         f"{ratio if ratio is not None else float('nan'):>13.3f}  {note}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["efficientnet_lite0", "resnet18"])
    parser.add_argument("--methods", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the full JSON report instead of the table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    report = {"config": {"size": args.size, "batch": args.batch, "repeats": args.repeats,
                         "threads": torch.get_num_threads(), "runs": {k: v[1] for k, v in RUNS.items()},
                         "torch": torch.__version__},
              "models": {name: bench_model(name, args.methods, x, args.repeats) for name in args.models}}
    print(json.dumps(report, indent=2, default=str) if args.json else table(report))


if __name__ == "__main__":
    main()
