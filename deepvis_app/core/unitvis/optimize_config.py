"""Settings of one regularized-optimization run, and the named presets users know.

The four `yosinski*` presets are Table 1 of Yosinski et al. 2015, with the exact flags of the
original toolbox's `doc/running-optimize-image.md`; their units are the original's (0..255
minus mean, see `params.py`). `cnnvis` is cnn-vis's default regularization (RMSProp, p-norm 6,
TV 2), `lucent` is lucent's `render_vis` default (FFT, decorrelated colour, standard
transforms, Adam 0.05).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OptimizeConfig:
    objective: str = "neuron"  # channel | neuron | amplify (objectives.py)
    param: str = "pixel"  # pixel | fft
    decorrelate: bool = False  # lucent colour decorrelation + sigmoid
    transforms: str = "none"  # none | standard (lucent)
    steps: int = 1000  # forward passes; the last one only measures
    size: tuple[int, int] | None = None  # image size; None: the model's input size
    optimizer: str = "sgd"  # sgd: x += lr * grad (original) | rmsprop (cnn-vis) | adam (lucent)
    lr: float = 100.0
    lr_policy: str = "constant"  # constant | progress | progress01 (sgd only)
    max_lr: float = math.inf
    desired_prog: float = 2.0
    early_prog: float = 2.0
    late_prog_mult: float = 0.1
    decay_rate: float = 0.95  # RMSProp cache decay
    decay: float = 0.0  # L2 decay of the image after each step
    blur_radius: float = 0.0  # Gaussian sigma, applied when step % blur_every == 0
    blur_every: int = 0
    small_val_percentile: float = 0.0
    small_norm_percentile: float = 0.0
    px_benefit_percentile: float = 0.0
    px_abs_benefit_percentile: float = 0.0
    alpha: float = 6.0  # p-norm exponent (cnn-vis)
    p_reg: float = 0.0
    p_scale: float = 1.0
    beta: float = 2.0  # TV exponent (cnn-vis)
    tv_reg: float = 0.0
    tv_reg_scale: float = 1.0
    tv_reg_step: float = 0.0  # added to tv_reg every tv_reg_step_iter steps
    tv_reg_step_iter: int = 50
    init_sd: float = 10.0  # pixel start: N(0, init_sd) in 0..255 units (original: mean_plus_rand, 10)
    seed: int = 0
    render: str = "auto"  # clip | rescale | norm01c | auto (norm01c for raw pixels, else clip)
    keep: str = "best"  # best | last image per unit

    def replace(self, **changes) -> "OptimizeConfig":
        return dataclasses.replace(self, **changes)

    def validate(self) -> "OptimizeConfig":
        """Self, or ValueError naming the first field with an unknown choice or a bad number."""
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} '{getattr(self, name)}' is not one of: {', '.join(choices)}")
        if self.steps < 1 or self.blur_every < 0 or self.tv_reg_step_iter < 1:
            raise ValueError("steps and tv_reg_step_iter must be >= 1, blur_every >= 0")
        return self


_CHOICES = {"objective": ("channel", "neuron", "amplify"), "param": ("pixel", "fft"),
            "transforms": ("none", "standard"), "optimizer": ("sgd", "rmsprop", "adam"),
            "lr_policy": ("constant", "progress", "progress01"), "render": ("auto", "clip", "rescale", "norm01c"),
            "keep": ("best", "last")}


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
}


def preset(name: str) -> OptimizeConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset '{name}' (choices: {', '.join(PRESETS)})")
    return PRESETS[name]
