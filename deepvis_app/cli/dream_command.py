"""`deepvis dream`: cnn-vis's command line on our models; every cnn-vis option, same names.

Flags are spelled as in cnn-vis (`--tv_reg_step_iter`), dashes accepted too. `--layer`,
`--unit`, `-o` and a positional IMAGE are short forms of `--target_layer`, `--target_neuron`,
`--output_file` and `--initial_image`. Every `--output_iter` steps `--iter_behavior` decides:
print (statistics), save (`<name>_<size>_<step><ext>`), show and plot_pix (matplotlib, only when
installed: otherwise said once and skipped).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args

BEHAVIORS = ("show", "save", "print", "plot_pix")
_PIXELS = ((100, 100), (200, 200), (100, 200), (200, 100))  # cnn-vis's plot_pix pixels


def _flag(parser: argparse._ActionsContainer, name: str, *extra: str, **kwargs: Any) -> None:
    names = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else []) + list(extra)
    parser.add_argument(*names, dest=name, **kwargs)


def register_dream(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "dream", "Deep dream (cnn-vis): amplify a layer or a neuron, from an "
                            "image or smoothed noise, multiscale, tiled with net-size windows", _dream)
    parser.add_argument("image", nargs="?", help="start image (same as --initial_image)")
    image = parser.add_argument_group("image options")
    _flag(image, "image_type", choices=("amplify_layer", "amplify_neuron"),
          help="default amplify_layer, or amplify_neuron when --unit is given")
    _flag(image, "target_layer", "--layer", help="layer to amplify (see `deepvis layers`)")
    _flag(image, "target_neuron", "--unit", type=int, help="channel for amplify_neuron (default 0)")
    _flag(image, "initial_image", help="start image; default: smoothed Gaussian noise")
    _flag(image, "initialization_scale", type=float, default=1.0, help="noise std (default 1)")
    _flag(image, "initialization_blur", type=float, default=0.0, help="noise blur sigma (default 0)")
    _flag(image, "batch_size", type=int, default=1, help="windows per forward pass (default 1)")
    size = parser.add_argument_group("resize options")
    _flag(size, "initial_size", help="xF or HxW (default: base size)")
    _flag(size, "final_size", help="xF or HxW (default: base size)")
    _flag(size, "num_sizes", type=int, default=1, help="sizes from initial to final (default 1)")
    _flag(size, "resize_type", choices=("geometric", "linear"), default="geometric")
    opt = parser.add_argument_group("optimization options")
    _flag(opt, "learning_rate", type=float, default=1.0)
    _flag(opt, "decay_rate", type=float, default=0.95, help="RMSProp decay (default 0.95)")
    _flag(opt, "num_steps", type=int, default=1000, help="steps per size (default 1000)")
    _flag(opt, "use_pixel_learning_rates", action="store_true", help="divide lr by windows per pixel")
    _flag(opt, "amplify_l1_weight", type=float, default=1.0)
    _flag(opt, "amplify_l2_weight", type=float, default=1.0)
    _flag(opt, "amplify_grad_clip", type=float, default=5.0)
    _flag(opt, "seed", type=int, default=0, help="noise seed (default 0)")
    _add_regularizer_flags(parser)
    out = parser.add_argument_group("output options")
    _flag(out, "output_file", "-o", default="out.png", help="final image (default out.png)")
    _flag(out, "rescale_image", action="store_true", help="min-max the colours instead of clipping")
    _flag(out, "output_iter", type=int, default=50, help="steps between outputs (default 50)")
    _flag(out, "iter_behavior", default="save+print", help="show+save+print+plot_pix, any combination")


def _add_regularizer_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("p-norm and total variation regularization")
    for name, default in (("alpha", 6.0), ("p_reg", 1e-4), ("p_scale", 1.0), ("alpha_aux", 6.0),
                          ("p_reg_aux", 0.0), ("p_scale_aux", 1.0), ("beta", 2.0), ("tv_reg", 0.5),
                          ("tv_reg_scale", 1.0), ("tv_reg_step", 0.0)):
        _flag(group, name, type=float, default=default, help=f"default {default:g}")
    _flag(group, "tv_reg_step_iter", type=int, default=50, help="default 50")


def dream_config(args: argparse.Namespace):
    from deepvis_app.core.unitvis.dream import DreamConfig
    from deepvis_app.core.unitvis.objectives import AmplifyWeights

    if not args.target_layer:
        raise UserError("give the layer to amplify: --layer L (or --target_layer L)")
    for name in ("num_steps", "num_sizes", "output_iter", "tv_reg_step_iter", "batch_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be >= 1, got {getattr(args, name)}")
    unknown = set(args.iter_behavior.split("+")) - set(BEHAVIORS) - {""}
    if unknown:
        raise UserError(f"--iter_behavior: unknown {', '.join(sorted(unknown))} (choices: {'+'.join(BEHAVIORS)})")
    image_type = args.image_type or ("amplify_neuron" if args.target_neuron is not None else "amplify_layer")
    same = ("initialization_scale", "initialization_blur", "initial_size", "final_size", "num_sizes", "resize_type",
            "learning_rate", "decay_rate", "num_steps", "use_pixel_learning_rates", "batch_size", "alpha", "p_reg",
            "p_scale", "alpha_aux", "p_reg_aux", "p_scale_aux", "beta", "tv_reg", "tv_reg_scale", "tv_reg_step",
            "tv_reg_step_iter", "seed")
    return DreamConfig(image_type=image_type, target_layer=args.target_layer, target_neuron=args.target_neuron or 0,
                       amplify=AmplifyWeights(args.amplify_l1_weight, args.amplify_l2_weight, args.amplify_grad_clip),
                       **{name: getattr(args, name) for name in same})


def _dream(args: argparse.Namespace) -> int:
    from deepvis_app.core.unitvis.dream import dream
    from deepvis_app.core.unitvis.dream_tiles import parse_size
    from deepvis_app.core.unitvis.params import InputSpace
    from deepvis_app.io.images import load_input, write_image

    if args.image and args.initial_image and args.image != args.initial_image:
        raise UserError(f"two start images: '{args.image}' and --initial_image '{args.initial_image}'")
    config = dream_config(args)
    for text in (config.initial_size, config.final_size):
        try:
            parse_size(text, (1000, 1000))  # the format only; sizes are checked against the image later
        except ValueError as exc:
            raise UserError(str(exc)) from None
    loaded = model_from_args(args)
    info = _check_layer(loaded, config)
    start = args.image or args.initial_image
    initial = load_input(start) if start else None
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    reporter = _Reporter(args, space)
    image = dream(loaded.module, space, config, tuple(loaded.settings.input_size), initial, loaded.device,
                  reporter)
    write_image(args.output_file, space.to_uint8(image, "rescale" if args.rescale_image else "clip"))
    print(f"wrote {args.output_file} ({image.shape[-2]}x{image.shape[-1]}, layer {info.name})")
    return 0


def _check_layer(loaded, config):
    try:
        info = loaded.layer(config.target_layer)
    except KeyError:
        raise UserError(f"--layer '{config.target_layer}': no such layer (see `deepvis layers`)") from None
    if config.image_type == "amplify_neuron" and not 0 <= config.target_neuron < info.channels:
        raise UserError(f"--unit {config.target_neuron}: layer {info.name} has {info.channels} units")
    return info


class _Reporter:
    """Every output_iter steps: print / save / show / plot_pix, as --iter_behavior says."""

    def __init__(self, args: argparse.Namespace, space):
        self.args, self.space = args, space
        self.behaviors = set(args.iter_behavior.split("+"))
        self.history: dict[tuple[int, int, int], list[float]] = defaultdict(list)
        self.plt = None
        if self.behaviors & {"show", "plot_pix"}:
            try:
                import matplotlib.pyplot as plt
                self.plt = plt
            except ImportError:
                print("deepvis dream: matplotlib is not installed; show and plot_pix are skipped", file=sys.stderr)

    def __call__(self, event) -> None:
        if "plot_pix" in self.behaviors:
            height, width = event.image.shape[-2:]
            for y, x in (p for p in _PIXELS if p[0] < height and p[1] < width):
                for c in range(event.image.shape[1]):
                    self.history[(c, y, x)].append(float(event.image[0, c, y, x]))
        if event.step % self.args.output_iter:
            return
        if "print" in self.behaviors:
            stats = "  ".join(f"{k} {v:.4g}" for k, v in event.stats.items())
            print(f"step {event.step}/{event.num_steps} size {event.size_index + 1}/{event.num_sizes}  {stats}")
        rendered = self.space.to_uint8(event.image, "rescale" if self.args.rescale_image else "clip")
        if "save" in self.behaviors:
            from deepvis_app.io.images import write_image

            path = Path(self.args.output_file)
            write_image(path.with_name(f"{path.stem}_{event.size_index + 1}_{event.step}{path.suffix}"), rendered)
        if self.plt is not None:
            self._show(rendered)

    def _show(self, rendered) -> None:
        plt = self.plt
        if "plot_pix" in self.behaviors:
            plt.figure("plot_pix")
            for values in self.history.values():
                plt.plot(values)
            plt.pause(0.001)
        if "show" in self.behaviors:
            plt.figure("dream")
            plt.imshow(rendered, interpolation="none")
            plt.axis("off")
            plt.pause(0.001)
