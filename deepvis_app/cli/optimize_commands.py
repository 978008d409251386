"""`deepvis optimize` (regularized optimization of many units) and `deepvis dream` (cnn-vis deep dream)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args, print_json
from deepvis_app.cli.dream_command import register_dream

# Flags that override one OptimizeConfig field each (name, type, help).
_CONFIG_FLAGS = (
    ("optimizer", str, "sgd (original: x += lr*grad) | rmsprop (cnn-vis) | adam (lucent)"),
    ("lr_policy", str, "constant | progress | progress01 (sgd)"),
    ("max_lr", float, "cap of the progress policies"),
    ("desired_prog", float, "objective gain per step of the progress policy"),
    ("early_prog", float, "progress01: desired gain early on"),
    ("late_prog_mult", float, "progress01: multiplier of (1 - objective)"),
    ("decay_rate", float, "RMSProp cache decay"),
    ("decay", float, "L2 decay of the image per step"),
    ("blur_radius", float, "Gaussian blur sigma (pixels)"),
    ("blur_every", int, "blur every this many steps (0: never)"),
    ("small_val_percentile", float, "zero values below this percentile of |x|"),
    ("small_norm_percentile", float, "zero pixels whose colour norm is below this percentile"),
    ("px_benefit_percentile", float, "zero pixels whose contribution is below this percentile"),
    ("px_abs_benefit_percentile", float, "zero pixels whose |contribution| is below this percentile"),
    ("alpha", float, "p-norm exponent"), ("p_reg", float, "p-norm strength"), ("p_scale", float, "p-norm scale"),
    ("beta", float, "TV exponent"), ("tv_reg", float, "TV strength"), ("tv_reg_scale", float, "TV scale"),
    ("tv_reg_step", float, "TV strength added every tv_reg_step_iter steps"),
    ("tv_reg_step_iter", int, "steps between TV increments"),
    ("init_sd", float, "pixel start: N(0, init_sd) in 0..255 units"),
    ("render", str, "clip | rescale | norm01c | auto"), ("keep", str, "best | last image per unit"),
)


def register(subparsers: Any) -> None:
    _register_optimize(subparsers)
    register_dream(subparsers)


def _register_optimize(subparsers: Any) -> None:
    from deepvis_app.core.unitvis.objectives import OBJECTIVES
    from deepvis_app.core.unitvis.optimize_config import PRESETS
    from deepvis_app.core.unitvis.transforms import TRANSFORM_SETS

    parser = add_subcommand(subparsers, "optimize", "Regularized optimization: an image that maximizes each unit "
                            "(Yosinski 2015 presets, cnn-vis p-norm/TV, lucent FFT/transforms), units batched",
                            _optimize)
    parser.add_argument("--layer", required=True, help="layer name (see `deepvis layers`)")
    parser.add_argument("--units", required=True, help="units: 0-63, 5, or 0-3,7,9")
    parser.add_argument("--preset", default="yosinski3", choices=sorted(PRESETS), help="default yosinski3")
    parser.add_argument("--objective", choices=OBJECTIVES, help="default: the preset's (neuron for yosinski*)")
    parser.add_argument("--param", choices=("pixel", "fft"), help="image parameterization")
    parser.add_argument("--decorrelate", action="store_true", default=None, help="lucent colour decorrelation")
    parser.add_argument("--transforms", choices=sorted(TRANSFORM_SETS), help="random transforms per step")
    parser.add_argument("--steps", type=int, help="iterations (default: the preset's)")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--size", type=int, nargs="+", metavar="PX", help="image size: S or H W (default: input)")
    parser.add_argument("--batch", type=int, default=64, help="units per batch (default 64)")
    parser.add_argument("--out", type=Path, required=True, help="unit-vis folder (writes regularized_opt/)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = parser.add_argument_group("regularizer and optimizer overrides")
    for name, kind, help_text in _CONFIG_FLAGS:
        group.add_argument(f"--{name.replace('_', '-')}", f"--{name}", dest=name, type=kind, help=help_text)


def parse_units(text: str, count: int) -> list[int]:
    """'0-63', '5', '0-3,7' -> sorted unique unit indices, each < count."""
    units: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        try:
            low, _, high = part.partition("-")
            start, end = int(low), int(high) if high else int(low)
        except ValueError:
            raise UserError(f"--units '{text}': '{part}' is not a unit or a range like 0-63") from None
        if start < 0 or end < start:
            raise UserError(f"--units '{text}': bad range '{part}' (need 0 <= first <= last)")
        if end >= count:
            raise UserError(f"--units '{text}': unit {end} out of range, the layer has {count} units (0-{count - 1})")
        units.update(range(start, end + 1))
    return sorted(units)


def config_from_args(args: argparse.Namespace):
    from deepvis_app.core.unitvis.optimize_config import preset

    changes = {name: getattr(args, name) for name, _, _ in _CONFIG_FLAGS if getattr(args, name) is not None}
    for name in ("objective", "param", "decorrelate", "transforms", "steps", "lr"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.size:
        if len(args.size) > 2 or min(args.size) < 8:
            raise UserError(f"--size {' '.join(map(str, args.size))}: give S or H W, each >= 8")
        changes["size"] = (args.size[0], args.size[-1])
    if (changes.get("steps") or 1) < 1 or args.batch < 1:
        raise UserError("--steps and --batch must be >= 1")
    try:
        return preset(args.preset).replace(seed=args.seed, **changes).validate()
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _optimize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from deepvis_app.core.unitvis.optimize import default_render, optimize_units
    from deepvis_app.core.unitvis.params import InputSpace

    config = config_from_args(args)
    loaded = model_from_args(args)
    try:
        info = loaded.layer(args.layer)
    except KeyError:
        raise UserError(f"--layer '{args.layer}': no such layer (see `deepvis layers`)") from None
    units = parse_units(args.units, info.channels)
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    batches = -(-len(units) // args.batch)
    with tqdm(total=config.steps * batches, unit="step", disable=args.no_progress, desc=args.layer) as bar:
        result = optimize_units(loaded.module, space, args.layer, units, config, loaded.settings.input_size,
                                args.batch, loaded.device, bar.update)
    written = write_results(args.out, args.layer, info.channels, result, space, default_render(config),
                            {"preset": args.preset, "objective": config.objective, "steps": config.steps})
    print_json({"layer": args.layer, "units": len(units), "written": written,
                "best_values": {str(u): float(v) for u, v in zip(result.units, result.best_values)}})
    return 0


def write_results(out: Path, layer: str, channels: int, result, space, render: str, meta: dict) -> dict:
    """Unit images, the whole_layer sprite (updated in place) and objective_values.json."""
    import numpy as np

    from deepvis_app.core.preprocess import resize_uint8
    from deepvis_app.core.unitvis.layout import UnitVisLayout
    from deepvis_app.io.images import write_bytes_atomic

    layout = UnitVisLayout(out)
    values_path = layout.whole_layer_sprite(layer).with_name("objective_values.json")
    record = _read_values(values_path, layer)  # before writing anything: a bad file stops the run cleanly
    images = result.images(space, render)
    for unit, image in zip(result.units, images):
        layout.write_unit_image("regularized_opt", layer, unit, image)
    tiles = layout.read_sprite_tiles(layer, channels) or [np.zeros_like(images[0]) for _ in range(channels)]
    tiles = [resize_uint8(tile, images[0].shape[:2]).copy() for tile in tiles]  # an earlier run's --size
    for unit, image in zip(result.units, images):
        tiles[unit] = image
    sprite = layout.write_sprite(layer, tiles)
    for unit, best, last in zip(result.units, result.best_values, result.last_values):
        record["units"][str(unit)] = {"best": float(best), "last": float(last), **meta}
    write_bytes_atomic(values_path, json.dumps(record, indent=1, sort_keys=True).encode())
    return {"images": len(images), "folder": str(layout.unit_image("regularized_opt", layer, 0).parent),
            "sprite": str(sprite), "values": str(values_path)}


def _read_values(path: Path, layer: str) -> dict:
    if not path.is_file():
        return {"layer": layer, "units": {}}
    try:
        record = json.loads(path.read_text())
        record["units"].items()
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError(f"{path}: not an objective_values.json written by deepvis optimize; move it away") from None
    return record
