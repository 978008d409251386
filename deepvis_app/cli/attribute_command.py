"""`deepvis attribute`: one backprop or attribution map for one input, as an image and/or raw array.

INPUT is an image file, ``sample:<name>``, or a ``.npy`` holding an already-preprocessed float32
(C, H, W) network input that is fed as is (so results can be compared with other libraries on the
same tensor). ``--npy`` writes the raw signal with respect to the network input, (C, H, W) float32,
before any display filter; for Grad-CAM and Grad-CAM++ it is the map upsampled to (1, H, W).

What is explained:
- backprop methods (gradient, deconv, guided, salinet, desalinet): unit ``--unit`` of ``--layer``
  (default: the output layer), seeded per ``--seed``; ``--target C`` means unit C of the output layer;
- occlusion, smoothgrad, integrated_gradients: the class ``--target`` if given, else unit ``--unit``
  of ``--layer`` (channel sum); the top predicted class when neither is given;
- gradcam, gradcam++, guided_gradcam: the map is computed at ``--cam-layer`` (default ``--layer``,
  else the model's last spatial layer);
  the objective is the class ``--target`` (default: the top class) or, with ``--unit`` and
  ``--cam-layer``, that unit of ``--layer``.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args, print_json
from deepvis_app.core.attribution import ATTRIBUTION_METHODS, CAM_METHODS, QUADRATURES, attribute
from deepvis_app.core.backprop import BACKPROP_METHODS, SEEDS, backprop_from_unit
from deepvis_app.core.display import BACK_VIEWS, COLORMAPS, back_view


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "attribute", "backprop / attribution map of one unit or class for one input",
                            run_attribute)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__[__doc__.index("What is explained"):]
    parser.add_argument("input", help="image file, sample:<name>, or .npy of a preprocessed float32 (C,H,W) input")
    parser.add_argument("--method", required=True, choices=BACKPROP_METHODS + ATTRIBUTION_METHODS)
    parser.add_argument("--layer", help="layer name (default: the output layer)")
    parser.add_argument("--unit", type=int, help="unit (channel) index in --layer")
    parser.add_argument("--seed", choices=SEEDS, default="activation", help="backprop seed (default activation)")
    parser.add_argument("--position", help="I,J spatial position for --seed position")
    parser.add_argument("--target", type=int, help="class index of the output layer")
    parser.add_argument("--probability", action="store_true", help="explain the softmax probability, not the logit")
    parser.add_argument("--cam-layer", help="Grad-CAM layer (default --layer)")
    parser.add_argument("--view", choices=BACK_VIEWS, help="display filter for -o (default raw; overlay for CAMs)")
    parser.add_argument("--colormap", choices=COLORMAPS, default="jet")
    parser.add_argument("-o", "--output", help="write the displayed map to this image file")
    parser.add_argument("--npy", help="write the raw (C,H,W) float32 map to this .npy file")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    _add_method_options(parser)


def _add_method_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("method options (defaults from settings)")
    group.add_argument("--window", type=int, help="occlusion window (px)")
    group.add_argument("--stride", type=int, help="occlusion stride (px)")
    group.add_argument("--baseline", type=float, help="occlusion / integrated gradients baseline value")
    group.add_argument("--samples", type=int, help="smoothgrad samples")
    group.add_argument("--noise-level", type=float, help="smoothgrad noise, fraction of the input range")
    group.add_argument("--steps", type=int, help="integrated gradients steps")
    group.add_argument("--quadrature", choices=QUADRATURES, default="gausslegendre")
    group.add_argument("--batch", type=int, help="rows per forward pass (occlusion windows, IG steps, samples)")


def run_attribute(args: argparse.Namespace) -> int:
    if not args.output and not args.npy and not args.json:
        raise UserError("nothing to write: give -o out.png and/or --npy out.npy (or --json)")
    loaded = model_from_args(args)
    x, image = _load_input(args.input, loaded)
    layer = args.layer or loaded.output_layer
    with torch.no_grad():
        predicted = int(loaded.module(x).argmax(dim=1)[0])
    signal = _compute(args, loaded, x, layer, predicted)[0].detach().float().cpu().numpy()
    written = _write_outputs(args, signal, image, loaded.settings.grad_norm_blur_radius)
    if args.json:
        print_json({"method": args.method, "layer": layer, "unit": args.unit, "target": args.target,
                    "predicted": predicted, "shape": list(signal.shape), "written": written})
    else:
        for path in written:
            print(path)
    return 0


def _load_input(spec: str, loaded) -> tuple[torch.Tensor, np.ndarray]:
    if spec.lower().endswith(".npy"):
        path = Path(spec)
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise UserError(f"{path}: not a readable .npy file ({exc})") from None
        channels = loaded.settings.input_channels
        if array.ndim != 3 or array.shape[0] != channels or not np.issubdtype(array.dtype, np.floating):
            raise UserError(f"{path}: expected a float (C,H,W) array with C={channels}, got {array.dtype} "
                            f"{array.shape}")
        x = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None].to(loaded.device)
        return x, loaded.preprocessor.to_image(x)
    from deepvis_app.io.images import load_input

    frame = loaded.preprocessor.fit_frame(load_input(spec))
    return loaded.preprocessor.to_tensor(frame, loaded.device), frame


def _compute(args: argparse.Namespace, loaded, x: torch.Tensor, layer: str, predicted: int) -> torch.Tensor:
    if args.method in BACKPROP_METHODS:
        origin, unit = (loaded.output_layer, args.target) if args.target is not None else (layer, args.unit)
        if unit is None:
            if origin != loaded.output_layer:
                raise UserError(f"--unit is needed for layer '{origin}'")
            unit = predicted
        position = _parse_position(args.position) if args.seed == "position" else None
        return backprop_from_unit(loaded.module, x, origin, unit, method=args.method, seed=args.seed,
                                  position=position, probability=args.probability).input_grad
    options = _method_options(args, loaded.settings)
    if args.method in CAM_METHODS:
        cam_layer = args.cam_layer or args.layer or _last_spatial_layer(loaded)
        objective_layer = layer if (args.unit is not None and args.target is None and args.cam_layer) else None
        unit = args.unit if objective_layer else None
        return attribute(loaded.module, x, args.method, target=None if unit is not None else args.target,
                         layer=objective_layer, unit=unit, cam_layer=cam_layer, **options)
    use_unit = args.target is None and args.unit is not None
    return attribute(loaded.module, x, args.method, target=args.target, layer=layer if use_unit else None,
                     unit=args.unit if use_unit else None, **options)


def _last_spatial_layer(loaded) -> str:
    spatial = [info.name for info in loaded.layers if info.is_spatial]
    if not spatial:
        raise UserError("the model has no layer with a spatial output for Grad-CAM")
    return spatial[-1]


def _method_options(args: argparse.Namespace, settings) -> dict[str, Any]:
    batch = args.batch or settings.perturbations_per_eval
    if args.method == "occlusion":
        return {"window": args.window or settings.occlusion_window, "stride": args.stride or settings.occlusion_stride,
                "baseline": settings.occlusion_baseline if args.baseline is None else args.baseline,
                "perturbations_per_eval": batch}
    if args.method == "smoothgrad":
        return {"samples": args.samples or settings.smoothgrad_samples, "batch_size": batch,
                "noise_level": settings.smoothgrad_sigma if args.noise_level is None else args.noise_level,
                "probability": args.probability}
    if args.method == "integrated_gradients":
        return {"steps": args.steps or settings.ig_steps, "quadrature": args.quadrature,
                "baseline": 0.0 if args.baseline is None else args.baseline, "internal_batch_size": batch,
                "probability": args.probability}
    return {"probability": args.probability}


def _parse_position(text: str | None) -> tuple[int, int]:
    try:
        i, j = (int(part) for part in (text or "").split(","))
    except ValueError:
        raise UserError(f"--position must be I,J (two integers), got {text!r}") from None
    return i, j


def _write_outputs(args: argparse.Namespace, signal: np.ndarray, image: np.ndarray, blur: float) -> list[str]:
    from deepvis_app.io.images import write_bytes_atomic, write_image

    written = []
    if args.npy:
        buffer = io.BytesIO()
        np.save(buffer, signal.astype(np.float32))
        write_bytes_atomic(args.npy, buffer.getvalue())
        written.append(str(args.npy))
    if args.output:
        view = args.view or ("overlay" if args.method in ("gradcam", "gradcam++") else "raw")
        write_image(args.output, back_view(signal, view, image=image, blur_sigma=blur, colormap=args.colormap))
        written.append(str(args.output))
    return written
