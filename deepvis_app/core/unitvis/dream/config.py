"""Every cnn-vis deep-dream option, declared once: cnn-vis's name, default and meaning.

`DreamConfig` is what `dream.py` runs; `deepvis dream` generates one flag per field (cnn-vis's
spelling, dashes accepted, short aliases such as ``--layer``) from these declarations. Kept apart
from `dream.py` so the command line can build its flags without importing torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from deepvis_app.settings.options import check_options, option

IMAGE_TYPES = ("amplify_layer", "amplify_neuron")
TV_OPERATORS = ("naive", "sobel", "sobel_squish")  # regularizers.TV_OPERATORS (kept torch-free here)
_IMAGE, _RESIZE, _OPT, _REG = ("image options", "resize options", "optimization options",
                               "p-norm and total variation regularization")


@dataclass(frozen=True)
class DreamConfig:
    image_type: str = option("amplify_layer", "amplify_layer, or amplify_neuron (the default when --unit is "
                             "given)", choices=IMAGE_TYPES, group=_IMAGE, cli_default=None)
    target_layer: str = option("", "layer to amplify (see `deepvis layers`)", aliases=("--layer",), group=_IMAGE)
    target_neuron: int = option(0, "channel for amplify_neuron (default 0)", aliases=("--unit",), group=_IMAGE,
                                minimum=0, cli_default=None)
    initialization_scale: float = option(1.0, "noise std", group=_IMAGE)
    initialization_blur: float = option(0.0, "noise blur sigma", group=_IMAGE)
    batch_size: int = option(1, "windows per forward pass", group=_IMAGE, minimum=1)
    initial_size: str | None = option(None, "xF or HxW (default: base size)", group=_RESIZE)
    final_size: str | None = option(None, "xF or HxW (default: base size)", group=_RESIZE)
    num_sizes: int = option(1, "sizes from initial to final", group=_RESIZE, minimum=1)
    resize_type: str = option("geometric", "spacing of the sizes", choices=("geometric", "linear"), group=_RESIZE)
    learning_rate: float = option(1.0, "RMSProp learning rate (about the step in 0..255 pixel levels)", group=_OPT)
    decay_rate: float = option(0.95, "RMSProp decay", group=_OPT)
    learning_rate_decay_iter: int = option(100, "steps between learning rate decays (restarts at each size)",
                                           group=_OPT, minimum=1)
    learning_rate_decay_fraction: float = option(1.0, "learning rate multiplier every learning_rate_decay_iter "
                                                 "steps", group=_OPT, minimum=0.0)
    num_steps: int = option(1000, "steps per size", group=_OPT, minimum=1)
    use_pixel_learning_rates: bool = option(False, "divide lr by windows per pixel", group=_OPT)
    amplify_l1_weight: float = option(1.0, "amplification: weight of |a|", group=_OPT)
    amplify_l2_weight: float = option(1.0, "amplification: weight of clip(a)", group=_OPT)
    amplify_grad_clip: float = option(5.0, "amplification: clip of a", group=_OPT)
    cnn_grad_scale: float = option(
        8.0, "not a cnn-vis flag: multiplies the network's input gradient before the p-norm and TV gradients are "
        "added, so that cnn-vis's strengths weigh against it as they did against Caffe GoogLeNet's (see "
        "dream.region_gradients); 1 = the plain input gradient", group=_OPT, minimum=0.0)
    seed: int = option(0, "noise seed", group=_OPT)
    alpha: float = option(6.0, "p-norm exponent", group=_REG)
    p_reg: float = option(1e-4, "p-norm strength", group=_REG)
    p_scale: float = option(1.0, "p-norm scale", group=_REG)
    alpha_aux: float = option(6.0, "auxiliary p-norm exponent (on the image, not its change)", group=_REG)
    p_reg_aux: float = option(0.0, "auxiliary p-norm strength", group=_REG)
    p_scale_aux: float = option(1.0, "auxiliary p-norm scale", group=_REG)
    beta: float = option(2.0, "TV exponent", group=_REG)
    tv_reg: float = option(0.5, "TV strength", group=_REG)
    tv_reg_scale: float = option(1.0, "TV scale", group=_REG)
    tv_reg_step: float = option(0.0, "TV strength added every tv_reg_step_iter steps", group=_REG)
    tv_reg_step_iter: int = option(50, "steps between TV increments", group=_REG, minimum=1)
    tv_grad_operator: str = option("naive", "image gradient of the TV norm: forward differences or 3x3 Sobel "
                                   "filters (sobel_squish: cnn-vis's shifted Sobel)", choices=TV_OPERATORS,
                                   group=_REG)

    @property
    def amplify(self):
        """The amplification weights as `objectives.AmplifyWeights`."""
        from deepvis_app.core.unitvis.optimize.objectives import AmplifyWeights

        return AmplifyWeights(self.amplify_l1_weight, self.amplify_l2_weight, self.amplify_grad_clip)

    def replace(self, **changes) -> "DreamConfig":
        return dataclasses.replace(self, **changes)

    def validate(self) -> "DreamConfig":
        """Self, or ValueError naming the first field with an unknown choice or a bad number."""
        return check_options(self)
