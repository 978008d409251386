"""`deepvis dream`: cnn-vis's command line on our models; every cnn-vis option, same names.

The flags are generated from the declarations of `DreamConfig` (core/unitvis/dream/config.py) and
`DreamOutputOptions` (below): spelled as in cnn-vis (`--tv_reg_step_iter`), dashes accepted too. `--layer`,
`--unit`, `-o` and a positional IMAGE are short forms of `--target_layer`, `--target_neuron`,
`--output_file` and `--initial_image`. Every `--output_iter` steps `--iter_behavior` decides:
print (statistics), save (`<name>_<size>_<step><ext>`), show and plot_pix (matplotlib, only when
installed: otherwise said once and skipped).

cnn-vis's CNN options map onto ours: `--gpu N` selects cuda:N (a negative N, or no such GPU: the
CPU, with a note), `--mean_image` takes the overall mean of a .npy (all cnn-vis uses of it), and
`--deploy_txt` / `--caffe_model` are refused with a pointer to `--model` / `--weights`.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args
from deepvis_app.cli.option_flags import add_option_flags, option_values
from deepvis_app.core.base.progress import terminal_bar
from deepvis_app.settings.options import check_options, option

BEHAVIORS = ("show", "save", "print", "plot_pix")
_PIXELS = ((100, 100), (200, 200), (100, 200), (200, 100))  # cnn-vis's plot_pix pixels
_CNN = "cnn options (cnn-vis)"


@dataclass(frozen=True)
class DreamOutputOptions:
    """cnn-vis's options about the start image and the outputs (the rest are `DreamConfig`'s)."""

    deploy_txt: str | None = option(None, "cnn-vis's Caffe model definition: not supported, use --model",
                                    group=_CNN)
    caffe_model: str | None = option(None, "cnn-vis's Caffe weights: not supported, use --weights", group=_CNN)
    gpu: int | None = option(None, "use cuda:N (cnn-vis's default 0); negative, or no such GPU: the CPU, with a "
                             "note (default: --device, else the settings' device)", group=_CNN)
    mean_image: str | None = option(None, ".npy mean image; as in cnn-vis only its overall mean is used: the grey "
                                    "level the noise is centred on and the p-norms pull towards (default: the "
                                    "model's mean colour; the network always sees its own preprocessing)",
                                    group=_CNN)
    initial_image: str | None = option(None, "start image; default: smoothed Gaussian noise",
                                       group="image options")
    output_file: str = option("out.png", "final image", aliases=("-o",), group="output options")
    rescale_image: bool = option(False, "min-max the colours instead of clipping them to 0..255 (either way after "
                                 "cnn-vis's 1.2 times contrast about the mean colour)", group="output options")
    output_iter: int = option(50, "steps between outputs", minimum=1, group="output options")
    iter_behavior: str = option("save+print", "show+save+print+plot_pix, any combination", group="output options")
    show_width: float = option(5.0, "width in inches of the matplotlib figure of --iter_behavior show",
                               minimum=0.1, group="output options")
    show_height: float = option(5.0, "height in inches of the matplotlib figure of --iter_behavior show",
                                minimum=0.1, group="output options")


def register_dream(subparsers: Any) -> None:
    from deepvis_app.core.unitvis.dream.config import DreamConfig

    parser = add_subcommand(subparsers, "dream", "Deep dream (cnn-vis): amplify a layer or a neuron, from an "
                            "image or smoothed noise, multiscale, tiled with net-size windows", _dream)
    parser.usage = ("deepvis dream [IMAGE] --layer L [--unit U] [-o OUT.png] [--num_steps N] [cnn-vis options] "
                    "[--model MODEL] [--set KEY=VALUE]")
    parser.add_argument("image", nargs="?", help="start image (same as --initial_image)")
    add_option_flags(parser, DreamConfig, aliases_first=True)
    add_option_flags(parser, DreamOutputOptions, aliases_first=True)


def dream_config(args: argparse.Namespace):
    """The DreamConfig of the flags; a UserError for a bad value."""
    from deepvis_app.core.unitvis.dream.config import DreamConfig

    if not args.target_layer:
        raise UserError("give the layer to amplify: --layer L (or --target_layer L)")
    unknown = set(args.iter_behavior.split("+")) - set(BEHAVIORS) - {""}
    if unknown:
        raise UserError(f"--iter_behavior: unknown {', '.join(sorted(unknown))} (choices: {'+'.join(BEHAVIORS)})")
    values = option_values(args, DreamConfig)
    values.setdefault("image_type", "amplify_neuron" if args.target_neuron is not None else "amplify_layer")
    try:
        check_options(DreamOutputOptions(**option_values(args, DreamOutputOptions)))
        return DreamConfig(**values).validate()
    except ValueError as exc:
        raise UserError(f"--{exc}") from None


def _dream(args: argparse.Namespace) -> int:
    from deepvis_app.core.unitvis.dream.loop import dream
    from deepvis_app.core.unitvis.dream.tiles import parse_size
    from deepvis_app.core.unitvis.optimize.params import InputSpace
    from deepvis_app.io.images import load_input, write_image

    if args.image and args.initial_image and args.image != args.initial_image:
        raise UserError(f"two start images: '{args.image}' and --initial_image '{args.initial_image}'")
    config = dream_config(args)
    for text in (config.initial_size, config.final_size):
        try:
            parse_size(text, (1000, 1000))  # the format only; sizes are checked against the image later
        except ValueError as exc:
            raise UserError(str(exc)) from None
    for flag, instead in (("deploy_txt", "--model"), ("caffe_model", "--weights")):
        if getattr(args, flag):
            raise UserError(f"--{flag} '{getattr(args, flag)}': Caffe models are not loaded here; give the model "
                            f"with {instead}")
    mean = mean_image_value(args.mean_image) if args.mean_image else None
    _apply_gpu(args)
    loaded = model_from_args(args)
    info = _check_layer(loaded, config)
    start = args.image or args.initial_image
    initial = load_input(start, loaded.settings.max_image_pixels) if start else None
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    with terminal_bar("dream", unit="step") as bar:
        image = dream(loaded.module, space, config, tuple(loaded.settings.input_size), initial, loaded.device,
                      _Reporter(args, space, bar), mean)
    write_image(args.output_file, space.to_uint8(image, "rescale" if args.rescale_image else "clip"))
    print(f"wrote {args.output_file} ({image.shape[-2]}x{image.shape[-1]}, layer {info.name})")
    return 0


def mean_image_value(path: str) -> float:
    """cnn-vis's use of --mean_image: the overall mean of the .npy array (a UserError for a bad file)."""
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"--mean_image '{path}': not a readable .npy array ({reason})") from None
    if not isinstance(array, np.ndarray):
        raise UserError(f"--mean_image '{path}': an .npz archive; give one .npy array")
    if array.size == 0 or not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise UserError(f"--mean_image '{path}': expected a non-empty array of finite numbers, got "
                        f"{array.dtype} of shape {array.shape}")
    value = float(array.mean())
    if not 0.0 <= value <= 255.0:
        raise UserError(f"--mean_image '{path}': its mean {value:g} is outside 0..255 (a mean image in pixel levels)")
    return value


def _apply_gpu(args: argparse.Namespace) -> None:
    """cnn-vis's --gpu N: sets --device to cuda:N, or the CPU with a note when N < 0 or there is no such GPU."""
    if args.gpu is None:
        return
    if args.device:
        raise UserError(f"--gpu {args.gpu} and --device {args.device}: give one of them")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if 0 <= args.gpu < count:
        args.device = f"cuda:{args.gpu}"
        return
    reason = "a negative GPU" if args.gpu < 0 else f"this machine has {count} CUDA GPU(s)"
    print(f"deepvis dream: --gpu {args.gpu}: {reason}; running on the CPU", file=sys.stderr)
    args.device = "cpu"


def _check_layer(loaded, config):
    try:
        info = loaded.layer(config.target_layer)
    except KeyError:
        raise UserError(f"--layer '{config.target_layer}': no such layer (see `deepvis layers`)") from None
    if config.image_type == "amplify_neuron" and not 0 <= config.target_neuron < info.channels:
        raise UserError(f"--unit {config.target_neuron}: layer {info.name} has {info.channels} units")
    return info


class _Reporter:
    """Every step: the progress bar (on a terminal); every output_iter steps: print / save / show /
    plot_pix, as --iter_behavior says."""

    def __init__(self, args: argparse.Namespace, space, bar):
        self.args, self.space, self.bar = args, space, bar
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
        self.bar.total = event.num_steps * event.num_sizes
        self.bar.update(event.size_index * event.num_steps + event.step - self.bar.n)
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
        if plt is None:
            return
        if "plot_pix" in self.behaviors:
            plt.figure("plot_pix")
            plt.clf()
            for values in self.history.values():
                plt.plot(values)
            plt.pause(0.001)
        if "show" in self.behaviors:
            plt.figure("dream")
            plt.imshow(rendered, interpolation="none")
            plt.axis("off")
            plt.gcf().set_size_inches(self.args.show_width, self.args.show_height)
            plt.pause(0.001)
