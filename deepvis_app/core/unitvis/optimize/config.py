"""Settings of one regularized-optimization run, and the named presets users know.

The four `yosinski*` presets are Table 1 of Yosinski et al. 2015, with the exact flags of the
original toolbox's `doc/running-optimize-image.md`; their units are the original's (0..255
minus mean, see `params.py`). `cnnvis` is cnn-vis's default regularization (RMSProp, p-norm 6,
TV 2), `lucent` is lucent's `render_vis` default (FFT, decorrelated colour, standard
transforms, Adam 0.05), `cppn` lucent's CPPN recipe (a CPPN image, standard transforms, Adam
0.005). `transforms` is a spec of `transform_spec` (validated here, without torch).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from deepvis_app.core.unitvis.optimize.transform_spec import EXAMPLE, parse_transforms
from deepvis_app.settings.options import check_options, option

OBJECTIVES = ("channel", "neuron", "amplify")  # objectives.py
START_AT = ("mean_plus_rand", "randu", "mean")  # params.make_param
PARAMS = ("pixel", "fft", "cppn")  # params.make_param
OPTIMIZERS = ("sgd", "rmsprop", "adam", "nesterov")  # optimize._Stepper


@dataclass(frozen=True)
class OptimizeConfig:
    """One option per field; `deepvis optimize` makes a flag of each (unset flags keep the preset's value)."""

    objective: str = option("neuron", "what is maximized: for each unit of --layer/--units its mean (channel), "
                            "its centre (neuron) or cnn-vis amplification (amplify); or an objective "
                            "expression of lucent's vocabulary (then no --layer/--units), e.g. "
                            "\"channel('L', 3) - 0.5*channel('L', 7)\": channel(L, c), neuron(L, c[, x, y]), "
                            "direction(L, [v...]), channel_interpolate(L1, c1, L2, c2), diversity(L), "
                            "combined with + - * and numbers", metavar="KIND|EXPR")
    push_dir: float = option(1.0, "the original's push direction: 1 maximizes, -1 minimizes (the objective "
                             "values recorded are push_dir times the objective)")
    push_spatial: tuple[int, int] | None = option(None, "ROW COL: the neuron objective at this position of the "
                                                  "unit's map (the original's (i, j); default: the centre)",
                                                  nargs="+", metavar="N")
    diversity: float = option(0.0, "weight of lucent's diversity term: with W > 0 each unit gets "
                              "diversity_images images that are pushed apart")
    diversity_images: int = option(4, "images per unit when diversity > 0 (the expression's batch: --batch)",
                                   minimum=2)
    start_at: str = option("mean_plus_rand", "pixel start (the original's --start-at): N(0, init_sd) around the "
                           "mean (mean_plus_rand), uniform pixels (randu) or the mean image (mean)",
                           choices=START_AT)
    param: str = option("pixel", "image parameterization: pixel (the image itself; with --decorrelate lucent's "
                        "pixel_image), fft (lucent's fft_image: a 1/f-scaled spectrum) or cppn (lucent's cppn: "
                        "each image drawn by its own small network of 1x1 convolutions of the pixel coordinates; "
                        "use Adam with a small lr, as --preset cppn does)", choices=PARAMS)
    decorrelate: bool = option(False, "lucent colour decorrelation + sigmoid")
    transforms: str = option("none", "random transforms before every forward pass, in order (lucent's "
                             "transformation robustness): none, standard (lucent's standard_transforms: pad(12), "
                             "jitter(8), scale(0.9 .. 1.1), rotate(-10 .. 10), jitter(4)) or a comma-separated list "
                             "of pad(W), jitter(D), scale(F, ...) and rotate(DEG, ...) (scale/rotate pick one of "
                             f"their values each step; random_scale/random_rotate also work), e.g. \"{EXAMPLE}\"",
                             metavar="SPEC")
    steps: int = option(1000, "iterations (forward passes; the last one only measures)", minimum=1,
                        aliases=("--max-iter", "--max_iter"))
    size: tuple[int, int] | None = option(None, "image size: S or H W (default: the model's input size)",
                                          nargs="+", metavar="PX")
    optimizer: str = option("sgd", "sgd (original: x += lr*grad) | rmsprop (cnn-vis) | adam (lucent) | "
                            "nesterov (cnn-vizlib maximize_scores: Nesterov momentum)", choices=OPTIMIZERS)
    momentum: float = option(0.9, "momentum of the nesterov optimizer (cnn-vizlib's default 0.9)")
    max_norm: float = option(0.0, "after each step, scale each image down to at most this L2 norm (cnn-vizlib's "
                             "max_norm, lasagne norm_constraint; in the optimized pixel units; 0: off)", minimum=0)
    early_stop_every: int = option(0, "every N steps, stop when every image, scaled to unit sum, is within 1e-6 of "
                                   "its best image (cnn-vizlib maximize_scores checks every 100; 0: off)", minimum=0)
    lr: float = option(100.0, "learning rate")
    lr_policy: str = option("constant", "learning-rate policy (sgd)", choices=("constant", "progress", "progress01"))
    max_lr: float = option(math.inf, "cap of the progress policies")
    desired_prog: float = option(2.0, "objective gain per step of the progress policy")
    early_prog: float = option(2.0, "progress01: desired gain early on")
    late_prog_mult: float = option(0.1, "progress01: multiplier of (1 - objective)")
    decay_rate: float = option(0.95, "RMSProp cache decay")
    decay: float = option(0.0, "L2 decay of the image per step")
    blur_radius: float = option(0.0, "Gaussian blur sigma (pixels), applied every blur_every steps")
    blur_every: int = option(0, "blur every this many steps (0: never)", minimum=0)
    small_val_percentile: float = option(0.0, "zero values below this percentile of |x|")
    small_norm_percentile: float = option(0.0, "zero pixels whose colour norm is below this percentile")
    px_benefit_percentile: float = option(0.0, "zero pixels whose contribution is below this percentile")
    px_abs_benefit_percentile: float = option(0.0, "zero pixels whose |contribution| is below this percentile")
    alpha: float = option(6.0, "p-norm exponent (cnn-vis)")
    p_reg: float = option(0.0, "p-norm strength")
    p_scale: float = option(1.0, "p-norm scale")
    beta: float = option(2.0, "TV exponent (cnn-vis)")
    tv_reg: float = option(0.0, "TV strength")
    tv_reg_scale: float = option(1.0, "TV scale")
    tv_reg_step: float = option(0.0, "TV strength added every tv_reg_step_iter steps")
    tv_reg_step_iter: int = option(50, "steps between TV increments", minimum=1)
    init_sd: float = option(10.0, "pixel start: N(0, init_sd) in 0..255 units (original: mean_plus_rand, 10)")
    seed: int = option(0, "random seed", aliases=("--rand-seed", "--rand_seed"))
    render: str = option("auto", "how z becomes the saved image (auto = clip: the optimized input itself, "
                         "lossless PNG; norm01c/rescale stretch contrast for viewing only)",
                         choices=("auto", "clip", "rescale", "norm01c"))
    keep: str = option("best", "best or last image per unit", choices=("best", "last"))

    def replace(self, **changes) -> "OptimizeConfig":
        return dataclasses.replace(self, **changes)

    def validate(self) -> "OptimizeConfig":
        """Self, or ValueError naming the first field with an unknown choice or a bad number."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective = {self.objective!r}: choose from {', '.join(OBJECTIVES)} "
                             "(or give an objective expression)")
        if self.push_spatial is not None and (len(self.push_spatial) != 2 or min(self.push_spatial) < 0):
            raise ValueError(f"push_spatial = {self.push_spatial!r}: give ROW COL, two whole numbers >= 0")
        if self.push_dir == 0:
            raise ValueError("push_dir = 0: use 1 (maximize) or -1 (minimize)")
        for field in dataclasses.fields(self):  # an infinite learning rate or weight makes NaN images
            value = getattr(self, field.name)   # (max_lr's default, inf, means no cap)
            if isinstance(value, float) and not math.isfinite(value) and value != field.default:
                raise ValueError(f"{field.name} = {value!r}: must be a finite number")
        parse_transforms(self.transforms)
        return check_options(self)


PRESETS: dict[str, OptimizeConfig] = {
    "yosinski1": OptimizeConfig(blur_radius=0.5, blur_every=4, small_norm_percentile=50, steps=500,
                                lr_policy="progress", max_lr=100.0, desired_prog=2.0),
    "yosinski2": OptimizeConfig(decay=0.3, small_norm_percentile=20, steps=750, lr=100.0),
    "yosinski3": OptimizeConfig(decay=1e-4, blur_radius=1.0, blur_every=4, steps=1000, lr=100.0),
    "yosinski4": OptimizeConfig(blur_radius=0.5, blur_every=4, px_abs_benefit_percentile=90, steps=1000,
                                lr_policy="progress", max_lr=1e8, desired_prog=2.0),
    "cnnvis": OptimizeConfig(optimizer="rmsprop", lr=1.0, alpha=6.0, p_reg=1e-4, beta=2.0, tv_reg=0.5,
                             init_sd=1.0, steps=1000),
    "lucent": OptimizeConfig(objective="channel", param="fft", decorrelate=True, transforms="standard",
                             optimizer="adam", lr=0.05, steps=512),
    "cppn": OptimizeConfig(objective="channel", param="cppn", transforms="standard", optimizer="adam", lr=5e-3,
                           steps=512),
}


def preset(name: str) -> OptimizeConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}' (choices: {', '.join(PRESETS)})")
    return PRESETS[name]
