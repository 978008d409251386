"""Benchmark of the CAM family, noise tunnel, input x gradient, GradientSHAP and DeepLIFT against their
oracle libraries (pytorch-grad-cam, captum); prints JSON.

Each method is timed with the same options as its oracle's same method, in the same run,
interleaved (ours, oracle, ours, ...) so that load on a shared machine hits both alike;
``vs_oracle`` = ours / oracle (goal <= 1.0). Times are CPU seconds of this process
(``time.process_time``: on a shared machine it leaves out the time other processes hold the cores);
wall-clock minima are printed too. Ratios use the minimum over repeats.

The model is the app's default (efficientnet_lite0 with its weights, from the settings), CAMs at
``_blocks.15``. pytorch-grad-cam's gradient CAMs get an input that requires grad (its backward
needs a graph and the model's parameters are frozen); its Score-CAM and Ablation-CAM run 32 rows
per forward, as ours. captum's DeepLift has no rule for ReLU6 (efficientnet's activation): it is
given its own ``nonlinear`` rule for it, so that both do the same work. pytorch-grad-cam also
normalizes and resizes maps with numpy/cv2, which ours leaves to the display.

Usage: OMP_NUM_THREADS=2 python bench/attribution_more.py [--repeats 3] [--size 224] [--methods ...]
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
# threads on a small machine: ours right after the oracle's EigenCAM took 110 ms instead of 18, and
# the oracle itself 113 ms instead of 21. torch does not use OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import captum.attr._core.deep_lift as captum_deep_lift  # noqa: E402
import torch  # noqa: E402
from captum.attr import DeepLift, GradientShap, InputXGradient, IntegratedGradients, NoiseTunnel, Saliency  # noqa: E402
from pytorch_grad_cam import (  # noqa: E402
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    FullGrad,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from deepvis_app.core.attribution.cam_family import eigencam, eigengradcam, hirescam, layercam, xgradcam  # noqa: E402
from deepvis_app.core.attribution.cam_perturbation import ablationcam, scorecam  # noqa: E402
from deepvis_app.core.attribution.deeplift import deeplift  # noqa: E402
from deepvis_app.core.attribution.fullgrad import fullgrad  # noqa: E402
from deepvis_app.core.attribution.gradient_shap import gradient_shap  # noqa: E402
from deepvis_app.core.attribution.gradient_x_input import input_x_gradient  # noqa: E402
from deepvis_app.core.attribution.integrated_gradients import integrated_gradients_map  # noqa: E402
from deepvis_app.core.attribution.noise_tunnel import noise_tunnel  # noqa: E402
from deepvis_app.core.attribution.objective import make_objective  # noqa: E402
from deepvis_app.core.model import load_model  # noqa: E402
from deepvis_app.settings.loader import load_settings  # noqa: E402

TARGET = 7
CAM_LAYER = "_blocks.15"
BATCH = 32
SAMPLES = 8
CAMS = {"hirescam": (hirescam, HiResCAM, {}), "xgradcam": (xgradcam, XGradCAM, {}),
        "layercam": (layercam, LayerCAM, {}), "eigencam": (eigencam, EigenCAM, {}),
        "eigengradcam": (eigengradcam, EigenGradCAM, {}), "hirescam_eigen_smooth": (hirescam, HiResCAM,
                                                                                   {"eigen_smooth": True}),
        "layercam_aug_smooth": (layercam, LayerCAM, {"aug_smooth": True}),
        "scorecam": (scorecam, ScoreCAM, {}), "ablationcam": (ablationcam, AblationCAM, {})}
METHODS = [*CAMS, "fullgrad", "noise_tunnel_gradient", "noise_tunnel_ig_vargrad", "input_x_gradient",
           "gradient_shap", "deeplift"]


def cam_oracle(model: torch.nn.Module, cam_class, options: dict) -> Callable[[torch.Tensor], object]:
    layers = [model.get_submodule(CAM_LAYER)]
    cam = AblationCAM(model, layers, batch_size=BATCH) if cam_class is AblationCAM else cam_class(model, layers)
    if cam_class is ScoreCAM:
        cam.batch_size = BATCH
    gradient_free = cam_class in (EigenCAM, ScoreCAM, AblationCAM)
    targets = [ClassifierOutputTarget(TARGET)]
    return lambda x: cam(x if gradient_free else x.detach().requires_grad_(True), targets, **options)


def pair(model: torch.nn.Module, method: str, x: torch.Tensor) -> tuple[Callable, Callable]:
    """(ours, oracle) for ``method`` on inputs like ``x``."""
    objective = make_objective(model, x, TARGET, None, None)
    if method in CAMS:
        ours_fn, cam_class, options = CAMS[method]
        extra = {"batch_size": BATCH} if ours_fn in (scorecam, ablationcam) else {}
        return (lambda inp: ours_fn(model, inp, objective, CAM_LAYER, **options, **extra),
                cam_oracle(model, cam_class, options))
    if method == "fullgrad":
        return lambda inp: fullgrad(model, inp, objective), cam_oracle(model, FullGrad, {})
    if method == "noise_tunnel_gradient":
        return (lambda inp: noise_tunnel(model, inp, objective, base="gradient", samples=SAMPLES, stdev=0.3,
                                         batch_size=4),
                lambda inp: NoiseTunnel(Saliency(model)).attribute(inp, nt_samples=SAMPLES, nt_samples_batch_size=4,
                                                                   stdevs=0.3, target=TARGET, abs=False))
    if method == "noise_tunnel_ig_vargrad":
        return (lambda inp: noise_tunnel(model, inp, objective, base=integrated_gradients_map, nt_type="vargrad",
                                         samples=4, stdev=0.3, batch_size=2,
                                         base_options={"steps": 8, "internal_batch_size": 8}),
                lambda inp: NoiseTunnel(IntegratedGradients(model)).attribute(
                    inp, nt_type="vargrad", nt_samples=4, nt_samples_batch_size=2, stdevs=0.3, target=TARGET,
                    n_steps=8, internal_batch_size=8))
    if method == "input_x_gradient":
        return (lambda inp: input_x_gradient(model, inp, objective),
                lambda inp: InputXGradient(model).attribute(inp, target=TARGET))
    baselines = torch.zeros(4, *x.shape[1:]).uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    if method == "gradient_shap":
        return (lambda inp: gradient_shap(model, inp, objective, baselines=baselines, samples=SAMPLES, stdev=0.1,
                                          batch_size=SAMPLES),
                lambda inp: GradientShap(model).attribute(inp, baselines=baselines, n_samples=SAMPLES, stdevs=0.1,
                                                          target=TARGET))
    if method == "deeplift":   # captum rescales ReLU6 too (its own rule), or it would do no rule work
        captum_deep_lift.SUPPORTED_NON_LINEAR.setdefault(torch.nn.ReLU6, captum_deep_lift.nonlinear)
        return (lambda inp: deeplift(model, inp, objective, baseline=baselines[:1]),
                lambda inp: DeepLift(model).attribute(inp, baselines=baselines[:1].expand_as(inp), target=TARGET))
    raise ValueError(f"unknown method {method}")


def timed(fn: Callable, x: torch.Tensor) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn(x)
    return time.process_time() - cpu, time.perf_counter() - wall


def compare(fns: dict[str, Callable], x: torch.Tensor, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved (CPU, wall) timings of each function, after one warm-up call each."""
    for fn in fns.values():
        fn(x)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn, x))
    return times


def summary(times: list[tuple[float, float]]) -> dict[str, float]:
    cpu = [t[0] for t in times]
    return {"cpu_min_ms": round(1000 * min(cpu), 2), "cpu_median_ms": round(1000 * statistics.median(cpu), 2),
            "wall_min_ms": round(1000 * min(t[1] for t in times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    model = load_model(load_settings().settings.replace(device="cpu")).module
    torch.manual_seed(0)
    x = torch.randn(1, 3, args.size, args.size)
    rows = {}
    for method in args.methods:
        ours, oracle_fn = pair(model, method, x)

        def oracle(inputs: torch.Tensor, run: Callable = oracle_fn) -> object:
            with contextlib.redirect_stdout(sys.stderr):   # pytorch-grad-cam prints warnings
                return run(inputs)
        times = compare({"ours": ours, "oracle": oracle}, x, args.repeats)
        row = {key: summary(value) for key, value in times.items()}
        row["vs_oracle"] = round(min(t[0] for t in times["ours"]) / min(t[0] for t in times["oracle"]), 3)
        rows[method] = row
    report = {"config": {"model": "efficientnet_lite0", "cam_layer": CAM_LAYER, "size": args.size,
                         "repeats": args.repeats, "threads": torch.get_num_threads(), "torch": torch.__version__},
              "methods": rows}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
