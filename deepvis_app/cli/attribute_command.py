"""`deepvis attribute`: one backprop or attribution map for one input, as an image and/or raw array.

INPUT is an image file, ``sample:<name>``, or a ``.npy`` holding an already-preprocessed float32
(C, H, W) network input that is fed as is (so results can be compared with other libraries on the
same tensor). ``--npy`` writes the raw signal with respect to the network input, (C, H, W) float32,
before any display filter; for Grad-CAM and Grad-CAM++ it is the map upsampled to (1, H, W).

The methods, their options (one flag each) and the picture's default view come from the method
registry (`deepvis_app.core.methods.registry`); ``--help`` lists them. What is explained: see `EXPLAINED`.
Output paths are checked, and --target/--unit against the model, before anything is computed.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
from typing import Any

import numpy as np
import torch

from deepvis_app.cli.attribute_checks import add_check_arguments, print_checks, run_checks
from deepvis_app.cli.common import UserError, add_subcommand, check_output_file, model_from_args, print_json
from deepvis_app.cli.method_flags import add_method_flags, method_list, method_options
from deepvis_app.cli.target_flags import add_target_arguments, apply_targets
from deepvis_app.core.base.progress import NO_PROGRESS, Progress, method_bar
from deepvis_app.core.imaging.display import BACK_VIEWS, COLORMAPS, ViewScale, back_view
from deepvis_app.core.methods.attribution import Objective, make_objective
from deepvis_app.core.methods.backprop import SEEDS, backprop_from_unit, reversed_net_rules
from deepvis_app.core.methods.registry import METHOD_NAMES, MapKind, Method, get_method
from deepvis_app.core.nn.hooks import capture_activations
from deepvis_app.core.nn.pairs import side_by_side
from deepvis_app.io.images import IMAGE_SUFFIXES

USAGE = ("deepvis attribute INPUT --method M [--layer L] [--unit U | --target C] [-o OUT.png] [--npy OUT.npy] "
         "[--json] [method options] [--model MODEL] [--set KEY=VALUE]")


EXPLAINED = """What is explained:
- backprop rules: unit --unit of --layer (default: the output layer), seeded per --seed;
  --target C means unit C of the output layer;
- maps at the input: the class --target if given, else unit --unit of --layer (channel sum);
  the top predicted class when neither is given;
- maps at a layer: the map is computed at --cam-layer (default --layer, else the model's last
  spatial layer); the objective is the class --target (default: the top class) or, with --unit
  and --cam-layer, that unit of --layer;
- noise_tunnel runs --base on each noisy copy and explains what --base explains.
"""


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "attribute", "backprop / attribution map of one unit or class for one input",
                            run_attribute)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.usage = USAGE
    parser.epilog = method_list() + "\n\n" + EXPLAINED
    parser.add_argument("input", help="image file, sample:<name>, or .npy of a preprocessed float32 (C,H,W) input")
    parser.add_argument("--method", required=True, choices=METHOD_NAMES, metavar="M",
                        help="the method (the list at the end of this help)")
    parser.add_argument("--layer", help="layer name (default: the output layer)")
    parser.add_argument("--unit", type=int, help="unit (channel) index in --layer")
    parser.add_argument("--seed", choices=SEEDS,
                        help="backprop methods' seed: the unit's activation map (default), one (1 on the whole map), "
                             "position (1 at --position), max (1 at the unit's arg-max), layer (the whole "
                             "layer's activation, every unit)")
    parser.add_argument("--position", help="I,J spatial position for --seed position")
    parser.add_argument("--target", type=int, help="class index of the output layer")
    parser.add_argument("--probability", action="store_true", help="explain the softmax probability, not the logit")
    parser.add_argument("--cam-layer", help="Grad-CAM layer (default --layer)")
    parser.add_argument("--view", choices=BACK_VIEWS, help="display filter for -o (default: the method's own, "
                        "in the list at the end)")
    parser.add_argument("--colormap", choices=COLORMAPS, default="jet")
    parser.add_argument("--value-range", nargs=2, type=float, metavar=("LO", "HI"),
                        help="for -o: map values LO..HI (of the view's quantity: the signal for raw/gray, its "
                             "norm for norm/normblur/overlay) to the picture's range, clipped, instead of min-max "
                             "(cnn-vizlib's value_range: several maps on one scale)")
    parser.add_argument("--clip-percent", type=float, metavar="P",
                        help="for -o without --value-range: the largest P percent of the values saturate instead "
                             "of setting the scale (captum's outlier_perc; 0: plain min-max; default: the "
                             "method's, in the list at the end)")
    parser.add_argument("--absolute", action="store_true", help="for -o: show the absolute value of the signal "
                        "(cnn-vizlib's absolute)")
    parser.add_argument("--overlay-alpha", type=float, metavar="A",
                        help="for -o with the overlay views: blend with this fixed opacity (0..1; cnn-vizlib's "
                             "compose alpha) instead of the map's value ** 0.8")
    parser.add_argument("-o", "--output", help="write the displayed map to this image file")
    parser.add_argument("--npy", help="write the raw (C,H,W) float32 map to this .npy file")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--all-classes", metavar="OUT.npy",
                        help="occlusion only: also write the (K,H,W) float32 occlusion maps of every output class, "
                             "from the same occluded copies (DNN-Visualizer)")
    add_check_arguments(parser)
    add_target_arguments(parser)
    add_method_flags(parser)


def view_scale(args: argparse.Namespace, method: Method | None = None) -> ViewScale:
    """--value-range, --absolute, --overlay-alpha and --clip-percent (default: the method's) as a
    `ViewScale` (a bad value in one line)."""
    clip = args.clip_percent if args.clip_percent is not None else (method.clip if method is not None else 0.0)
    try:
        return ViewScale(tuple(args.value_range) if args.value_range else None, args.absolute, args.overlay_alpha,
                         0.0 if args.value_range else clip)
    except ValueError as exc:
        raise UserError(f"--value-range/--overlay-alpha/--clip-percent: {exc}") from None


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path is writable before anything is computed."""
    view_scale(args)
    if args.output:
        check_output_file(args.output, IMAGE_SUFFIXES)
    if args.npy:
        check_output_file(args.npy, (".npy",))
    if args.all_classes:
        if args.method != "occlusion":
            raise UserError(f"--all-classes is for --method occlusion, not {args.method}")
        check_output_file(args.all_classes, (".npy",))


def _check_indices(args: argparse.Namespace, loaded, layer: str, x: torch.Tensor) -> None:
    """--target and --unit name an existing class and unit (one line naming the valid range)."""
    classes = loaded.layer(loaded.output_layer).channels
    if args.target is not None and not 0 <= args.target < classes:
        raise UserError(f"--target {args.target} is out of range: the model has {classes} classes "
                        f"(0..{classes - 1})")
    if args.unit is None:
        return
    units = _channels(loaded, layer, x)
    if not 0 <= args.unit < units:
        raise UserError(f"--unit {args.unit} is out of range: layer '{layer}' has {units} units (0..{units - 1})")


def _channels(loaded, layer: str, x: torch.Tensor) -> int:
    """Channels of ``layer``'s output: from the layer list, else from one forward pass."""
    known = {info.name: info for info in loaded.layers}
    if layer in known:
        return known[layer].channels
    try:
        _, outputs = capture_activations(loaded.module, x, [layer])
    except KeyError as exc:
        raise UserError(f"--layer {layer}: {exc.args[0] if exc.args else exc}") from None
    return int(outputs[layer].shape[1])


def run_attribute(args: argparse.Namespace) -> int:
    if not (args.output or args.npy or args.json or args.faithfulness or args.randomization_check
            or args.all_classes):
        raise UserError("nothing to write: give -o out.png and/or --npy out.npy (or --json, --faithfulness, "
                        "--randomization-check)")
    _check_outputs(args)
    method = get_method(args.method)
    loaded = model_from_args(args)
    layer = args.layer or loaded.output_layer
    options = method_options(args, method, loaded.settings)
    x, image = _load_input(args.input, loaded)
    apply_targets(args, loaded, x)
    _check_indices(args, loaded, layer, x)
    with torch.no_grad():
        predicted = int(loaded.module(x).argmax(dim=1)[0])
    job = _Job(args, method, options, loaded, x, layer, predicted,
               _explained(args, method, options, loaded, x, layer, predicted))
    with method_bar(method.name, quiet=not method.progressive) as progress:
        signal_map = _compute(job, loaded.module, progress).detach()
    signal = signal_map[0].float().cpu().numpy()
    written = _write_outputs(args, method, signal, image, loaded.settings.grad_norm_blur_radius)
    if args.all_classes:
        written.append(_write_all_classes(args.all_classes, loaded.module, x, options))
    checks = run_checks(args, loaded.module, x, job.explained[0], signal_map, lambda module: _compute(job, module))
    if args.json:
        print_json({"method": args.method, "layer": layer, "unit": args.unit, "target": args.target,
                    "predicted": predicted, "shape": list(signal.shape), "written": written, **checks})
    else:
        for path in written:
            print(path)
        print_checks(checks)
    return 0


def _write_all_classes(path: str, module: torch.nn.Module, x: torch.Tensor, options: Any) -> str:
    from deepvis_app.core.base.torch_args import pair
    from deepvis_app.core.methods.attribution.occlusion import Windows
    from deepvis_app.core.methods.attribution.occlusion_maps import occlusion_all_classes
    from deepvis_app.io.images import write_bytes_atomic

    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    windows = Windows(x, pair(options.window), pair(options.stride)).count
    with method_bar("occlusion, every class", steps=-(-windows // options.perturbations_per_eval)) as progress:
        maps = occlusion_all_classes(module, x, progress=progress, **values)[0].float().cpu().numpy()
    buffer = io.BytesIO()
    np.save(buffer, maps)
    write_bytes_atomic(path, buffer.getvalue())
    return path


def _load_input(spec: str, loaded) -> tuple[torch.Tensor, np.ndarray]:
    max_pixels = loaded.settings.max_image_pixels
    if spec.lower().endswith(".npy"):
        from deepvis_app.io.npy_input import read_npy_input

        array = read_npy_input(spec, loaded.settings.input_channels, max_pixels, size=loaded.settings.input_size)
        x = torch.from_numpy(array)[None].to(loaded.device)
        return x, loaded.preprocessor.to_image(x)
    from deepvis_app.io.playlist import read_input

    frame = loaded.preprocessor.fit_frame(read_input(spec, max_pixels, loaded.settings.two_inputs is not None))
    return loaded.preprocessor.to_tensor(frame, loaded.device), frame


def _backprop_origin(args: argparse.Namespace, loaded, layer: str, predicted: int) -> tuple[str, int]:
    origin, unit = (loaded.output_layer, args.target) if args.target is not None else (layer, args.unit)
    if unit is None:
        if origin != loaded.output_layer:
            raise UserError(f"--unit is needed for layer '{origin}'")
        unit = predicted
    return origin, unit


def _explained(args: argparse.Namespace, method: Method, options: Any, loaded, x: torch.Tensor, layer: str,
               predicted: int) -> tuple[Objective, str | None]:
    """(what the map explains, the CAM layer or None); see `EXPLAINED`. For a backprop method the
    objective is its origin unit (a class: the logit, or the probability with --probability)."""
    if method.is_backprop:
        origin, unit = _backprop_origin(args, loaded, layer, predicted)
        if origin == loaded.output_layer:
            return make_objective(loaded.module, x, unit, None, None, args.probability), None
        return make_objective(loaded.module, x, None, origin, unit), None
    cam_layer = None
    if method.map_kind(options) is MapKind.LAYER:
        cam_layer = args.cam_layer or args.layer or _last_spatial_layer(loaded)
        use_unit = args.unit is not None and args.target is None and bool(args.cam_layer)
    else:
        use_unit = args.target is None and args.unit is not None
    objective = make_objective(loaded.module, x, None if use_unit else args.target, layer if use_unit else None,
                               args.unit if use_unit else None, args.probability)
    return objective, cam_layer


@dataclasses.dataclass(frozen=True)
class _Job:
    """What one `deepvis attribute` computes, whatever the network it runs on (the loaded model, or a
    randomized copy of it for --randomization-check)."""

    args: argparse.Namespace
    method: Method
    options: Any
    loaded: Any
    x: torch.Tensor
    layer: str
    predicted: int
    explained: tuple[Objective, str | None]   # `_explained`


def _compute(job: _Job, module: torch.nn.Module, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """The map on ``module`` (the loaded model, or a randomized copy of it); a slow method moves
    ``progress`` (the command line's bar)."""
    args, method = job.args, job.method
    if method.is_backprop:
        origin, unit = _backprop_origin(args, job.loaded, job.layer, job.predicted)
        seed = args.seed or "activation"
        position = _parse_position(args.position) if seed == "position" else None
        return backprop_from_unit(module, job.x, origin, unit, method=method.name, seed=seed,
                                  position=position, probability=args.probability,
                                  **reversed_net_rules(job.options)).input_grad
    objective, cam_layer = job.explained
    return method.compute(module, job.x, objective, job.options, cam_layer=cam_layer, progress=progress)


def _last_spatial_layer(loaded) -> str:
    spatial = [info.name for info in loaded.layers if info.is_spatial]
    if not spatial:
        raise UserError("the model has no layer with a spatial output for Grad-CAM")
    return spatial[-1]


def _parse_position(text: str | None) -> tuple[int, int]:
    try:
        i, j = (int(part) for part in (text or "").split(","))
    except ValueError:
        raise UserError(f"--position must be I,J (two integers), got {text!r}") from None
    return i, j


def _write_outputs(args: argparse.Namespace, method: Method, signal: np.ndarray, image: np.ndarray,
                   blur: float) -> list[str]:
    from deepvis_app.io.images import write_bytes_atomic, write_image

    written = []
    if args.npy:
        buffer = io.BytesIO()
        np.save(buffer, signal.astype(np.float32))
        write_bytes_atomic(args.npy, buffer.getvalue())
        written.append(str(args.npy))
    if args.output:
        view = args.view or method.view
        if signal.shape[-1] * 2 == image.shape[1]:   # a two-input network: one map per image, side by side
            signal = side_by_side(signal, signal.shape[0] // 2)
        write_image(args.output, back_view(signal, view, image=image, blur_sigma=blur, colormap=args.colormap,
                                           scale=view_scale(args, method)))
        written.append(str(args.output))
    return written
