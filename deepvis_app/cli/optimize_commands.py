"""`deepvis optimize` (regularized optimization of many units) and `deepvis dream` (cnn-vis deep dream)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, check_output_dir, model_from_args, print_json
from deepvis_app.cli.dream_command import register_dream
from deepvis_app.cli.option_flags import add_option_flags, option_values


def register(subparsers: Any) -> None:
    _register_optimize(subparsers)
    register_dream(subparsers)


def _register_optimize(subparsers: Any) -> None:
    from deepvis_app.core.unitvis.optimize_config import PRESETS, OptimizeConfig

    parser = add_subcommand(subparsers, "optimize", "Regularized optimization: an image that maximizes each unit "
                            "(Yosinski 2015 presets, cnn-vis p-norm/TV, lucent FFT/transforms), units batched; "
                            "each finished batch is saved, and a rerun skips the units already done",
                            _optimize)
    parser.add_argument("--layer", required=True, help="layer name (see `deepvis layers`)")
    parser.add_argument("--units", required=True, help="units: 0-63, 5, or 0-3,7,9")
    parser.add_argument("--preset", default="yosinski3", choices=sorted(PRESETS), help="default yosinski3")
    parser.add_argument("--batch", type=int, default=64, help="units per batch (default 64)")
    parser.add_argument("--out", type=Path, required=True, help="unit-vis folder (writes regularized_opt/)")
    parser.add_argument("--force", action="store_true",
                        help="recompute units already done with the same settings (default: skip them)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_option_flags(parser, OptimizeConfig, defaults=False,
                     default_group="optimization settings (default: the preset's)")


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
    """The preset with the flags that were given; a UserError for a bad value."""
    from deepvis_app.core.unitvis.optimize_config import OptimizeConfig, preset

    changes = option_values(args, OptimizeConfig)
    if "size" in changes:
        size = changes["size"]
        if len(size) > 2 or min(size) < 8:
            raise UserError(f"--size {' '.join(map(str, size))}: give S or H W, each >= 8")
        changes["size"] = (size[0], size[-1])
    if args.batch < 1:
        raise UserError(f"--batch must be >= 1, got {args.batch}")
    try:
        return preset(args.preset).replace(**changes).validate()
    except ValueError as exc:
        raise UserError(f"--{exc}") from None


def _optimize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from deepvis_app.core.unitvis.layout import UnitVisLayout
    from deepvis_app.core.unitvis.optimize import optimize_units
    from deepvis_app.core.unitvis.optimize_output import OptimizeOutput, saved_render, settings_key
    from deepvis_app.core.unitvis.params import InputSpace

    config = config_from_args(args)
    check_output_dir(args.out)
    loaded = model_from_args(args)
    try:
        info = loaded.layer(args.layer)
    except KeyError:
        raise UserError(f"--layer '{args.layer}': no such layer (see `deepvis layers`)") from None
    units = parse_units(args.units, info.channels)
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    render = saved_render(config)
    size = tuple(config.size or loaded.settings.input_size)
    output = OptimizeOutput(UnitVisLayout(args.out), args.layer, info.channels, settings_key(config, size, render),
                            {"preset": args.preset, "objective": config.objective, "steps": config.steps,
                             "render": render})
    done = set() if args.force else set(output.done(units))
    todo = [unit for unit in units if unit not in done]
    if todo:
        def save(part) -> None:
            output.save(part.units, part.images(space, render), part.best_values, part.last_values)

        batches = -(-len(todo) // args.batch)
        with tqdm(total=config.steps * batches, unit="step", disable=args.no_progress, desc=args.layer) as bar:
            optimize_units(loaded.module, space, args.layer, todo, config, loaded.settings.input_size, args.batch,
                           loaded.device, bar.update, on_batch=save)
    print_json({"layer": args.layer, "units": len(units), "computed": len(todo), "skipped": len(done),
                "written": output.paths(), "best_values": output.best_values(units)})
    return 0
