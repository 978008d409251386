"""`deepvis optimize` (regularized optimization of many units, or of an objective expression) and
`deepvis dream` (cnn-vis deep dream). The original optimize_image.py's flag names are accepted too
(--push-layer, --push-channel, --max-iter, --lr-params, --rand-seed, --brave, ...)."""

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
    from deepvis_app.core.unitvis.optimize.config import PRESETS, OptimizeConfig

    parser = add_subcommand(subparsers, "optimize", "Regularized optimization: an image that maximizes each unit "
                            "(Yosinski 2015 presets, cnn-vis p-norm/TV, lucent FFT/transforms), units batched; "
                            "each finished batch is saved, and a rerun skips the units already done",
                            _optimize)
    parser.add_argument("--layer", "--push-layer", "--push_layer",
                        help="layer name (see `deepvis layers`); not with an --objective expression")
    parser.add_argument("--units", "--push-channel", "--push_channel",
                        help="units: 0-63, 5, or 0-3,7,9; not with an --objective expression")
    parser.add_argument("--preset", default="yosinski3", choices=sorted(PRESETS), help="default yosinski3")
    parser.add_argument("--batch", type=int, default=None,
                        help="units per batch (default 64); with an --objective expression: images in the batch "
                             "(default 1, 2 for diversity and channel_interpolate)")
    parser.add_argument("--out", type=Path, required=True,
                        help="unit-vis folder (writes regularized_opt/, or objectives/ for an expression)")
    parser.add_argument("--force", "--brave", action="store_true",
                        help="recompute units already done with the same settings (default: skip them)")
    parser.add_argument("--snapshots", metavar="STEPS",
                        help="also save the images as they were at these steps, e.g. 10,50,100 (units already done "
                             "are recomputed)")
    parser.add_argument("--lr-params", "--lr_params", metavar="DICT",
                        help="the original's learning-rate parameters, e.g. \"{'lr': 100}\" or "
                             "\"{'max_lr': 100, 'desired_prog': 2}\" (keys: " + ", ".join(LR_PARAMS) + ")")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_template_flags(parser)
    add_option_flags(parser, OptimizeConfig, defaults=False,
                     default_group="optimization settings (default: the preset's)")


LR_PARAMS = ("lr", "max_lr", "desired_prog", "early_prog", "late_prog_mult")


def _add_template_flags(parser: argparse.ArgumentParser) -> None:
    from deepvis_app.core.unitvis.optimize.output import (
        DEFAULT_OUTPUT_PREFIX,
        DEFAULT_OUTPUT_TEMPLATE,
        ORIGINAL_FIELDS,
        TEMPLATE_FIELDS,
    )

    fields = "; ".join(f"{name}: {meaning}" for name, meaning in TEMPLATE_FIELDS.items())
    original = ", ".join(f"{old} = {new}" for old, new in ORIGINAL_FIELDS.items())
    group = parser.add_argument_group(
        "the original's file names (optional)",
        "When either flag is given, each unit's kept image is ALSO written as <prefix>_<template>_best_X.png "
        "(PNG) with its objective info in <prefix>_<template>_info.json, as optimize_image.py named them; the "
        "--out folder is written as always. The template is Python %-formatting of named fields: "
        f"{fields}; the original's names are accepted too ({original}). An unknown field or a bad template is "
        "refused before anything is computed.")
    group.add_argument("--output-prefix", "--output_prefix", dest="output_prefix", metavar="PREFIX",
                       help=f"path and file-name prefix (default {DEFAULT_OUTPUT_PREFIX} when --output-template "
                            "is given)")
    group.add_argument("--output-template", "--output_template", dest="output_template", metavar="TEMPLATE",
                       help="file-name template (default " + DEFAULT_OUTPUT_TEMPLATE.replace("%", "%%")
                            + " when --output-prefix is given)")


def templated_output(args: argparse.Namespace, config):
    """The --output-prefix/--output-template writer, or None when neither flag is given (UserError for a bad one)."""
    from deepvis_app.core.unitvis.optimize.output import (
        DEFAULT_OUTPUT_PREFIX,
        DEFAULT_OUTPUT_TEMPLATE,
        TemplatedOutput,
        saved_render,
    )

    if args.output_prefix is None and args.output_template is None:
        return None
    template = DEFAULT_OUTPUT_TEMPLATE if args.output_template is None else args.output_template
    fields = {"layer": args.layer, "seed": config.seed, "steps": config.steps, "preset": args.preset,
              "objective": config.objective, "render": saved_render(config), "lr": config.lr}
    try:
        return TemplatedOutput(args.output_prefix or DEFAULT_OUTPUT_PREFIX, template, fields)
    except ValueError as exc:
        raise UserError(f"--output-template {template!r}: {exc}") from None


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
    """The preset with the flags that were given; a UserError for a bad value. An --objective
    expression (anything but a unit objective kind) is not a setting: see `objective_expression`."""
    from deepvis_app.core.unitvis.optimize.config import OBJECTIVES, OptimizeConfig, preset

    changes = option_values(args, OptimizeConfig)
    if changes.get("objective") not in (None, *OBJECTIVES):
        del changes["objective"]
    if "size" in changes:
        size = changes["size"]
        if len(size) > 2 or min(size) < 8:
            raise UserError(f"--size {' '.join(map(str, size))}: give S or H W, each >= 8")
        changes["size"] = (size[0], size[-1])
    if "push_spatial" in changes:
        changes["push_spatial"] = tuple(changes["push_spatial"])
    if getattr(args, "lr_params", None):
        changes = _lr_params(args.lr_params) | changes
    if args.batch is not None and args.batch < 1:
        raise UserError(f"--batch must be >= 1, got {args.batch}")
    try:
        return preset(args.preset).replace(**changes).validate()
    except ValueError as exc:
        raise UserError(f"--{exc}") from None


def objective_expression(args: argparse.Namespace) -> str | None:
    """The --objective value when it is an expression rather than a unit objective kind."""
    from deepvis_app.core.unitvis.optimize.config import OBJECTIVES

    text = args.objective
    return None if text is None or text in OBJECTIVES else text


def _lr_params(text: str) -> dict[str, float]:
    """--lr-params as config changes: a dict literal read with ast.literal_eval (never eval)."""
    from deepvis_app.settings.limits import LimitError, cut_line, literal

    shown = cut_line(text, 80)
    try:
        value = literal(text, "--lr-params")
    except LimitError as exc:
        raise UserError(str(exc)) from None
    except (ValueError, SyntaxError):
        raise UserError(f"--lr-params {shown!r}: not a dict like \"{{'lr': 100}}\"") from None
    if not isinstance(value, dict):
        raise UserError(f"--lr-params {shown!r}: not a dict like \"{{'lr': 100}}\"")
    for key, number in value.items():
        if key not in LR_PARAMS:
            raise UserError(f"--lr-params: unknown key {cut_line(repr(key), 80)} (keys: {', '.join(LR_PARAMS)})")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise UserError(f"--lr-params: {key} = {cut_line(repr(number), 80)} is not a number")
    return {key: float(number) for key, number in value.items()}


def parse_snapshots(text: str | None, steps: int) -> list[int]:
    """'10,50,100' -> sorted steps, each between 1 and `steps`."""
    if not text:
        return []
    try:
        wanted = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise UserError(f"--snapshots '{text}': give step counts like 10,50,100") from None
    if wanted[0] < 1 or wanted[-1] > steps:
        raise UserError(f"--snapshots '{text}': steps must be between 1 and --steps ({steps})")
    return wanted


def _optimize(args: argparse.Namespace) -> int:
    expression = objective_expression(args)
    config = config_from_args(args)
    snapshots = parse_snapshots(args.snapshots, config.steps)
    if expression is not None and (args.layer is not None or args.units is not None):
        raise UserError("--objective: an expression names its own layers and units; drop --layer/--units")
    if expression is not None and config.push_spatial is not None:
        raise UserError("--push-spatial applies to --layer/--units runs; in an expression use neuron(L, c, x, y)")
    if expression is not None and config.diversity:
        raise UserError("--diversity applies to --layer/--units runs; in an expression add W*diversity('L')")
    if expression is None and (args.layer is None or args.units is None):
        raise UserError("--layer and --units are required (or give an --objective expression)")
    if expression is not None and (args.output_prefix is not None or args.output_template is not None):
        raise UserError("--output-prefix/--output-template name per-unit files: use them with --layer/--units")
    templated = templated_output(args, config) if expression is None else None
    check_output_dir(args.out)
    loaded = model_from_args(args)
    try:
        if expression is not None:
            return _optimize_expression(args, expression, config, loaded, snapshots)
        return _optimize_units(args, config, loaded, snapshots, templated)
    except ValueError as exc:  # settings that only the model decides (a position outside the map, ...)
        raise UserError(str(exc)) from None


def _optimize_units(args: argparse.Namespace, config, loaded, snapshots: list[int], templated=None) -> int:
    from deepvis_app.core.base.progress import terminal_bar
    from deepvis_app.core.unitvis.optimize.loop import optimize_units
    from deepvis_app.core.unitvis.optimize.output import OptimizeOutput, saved_render, settings_key
    from deepvis_app.core.unitvis.optimize.params import InputSpace
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    try:
        info = loaded.layer(args.layer)
    except KeyError:
        raise UserError(f"--layer '{args.layer}': no such layer (see `deepvis layers`)") from None
    units = parse_units(args.units, info.channels)
    if templated is not None:
        try:
            templated.check_distinct(units)
        except ValueError as exc:
            raise UserError(f"--output-template {templated.template!r}: {exc}") from None
    batch = args.batch or 64
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    render = saved_render(config)
    size = tuple(config.size or loaded.settings.input_size)
    output = OptimizeOutput(UnitVisLayout(args.out), args.layer, info.channels, settings_key(config, size, render),
                            {"preset": args.preset, "objective": config.objective, "steps": config.steps,
                             "render": render, "push_dir": config.push_dir})
    done = set() if args.force or snapshots else set(output.done(units))
    todo = [unit for unit in units if unit not in done]
    named: list[str] = []
    if todo:
        def save(part) -> None:
            images = part.images(space, render)
            output.save(part.units, images, part.best_values, part.last_values,
                        copies=part.copies, history=part.history, snapshots=part.snapshot_images(space, render),
                        majority=part.majority_images(space, render), majority_steps=part.majority_steps)
            for index, unit in enumerate(part.units if templated is not None else ()):
                row = index * part.copies
                named.extend(templated.save(unit, images[row], {
                    "best": float(part.best_values[row]), "last": float(part.last_values[row]),
                    "settings": output.key, "unit_vis_image": str(output.layout.unit_image(
                        "regularized_opt", args.layer, unit))}))

        batches = -(-len(todo) // batch)
        with terminal_bar(args.layer, total=config.steps * batches, unit="step", quiet=args.no_progress) as bar:
            optimize_units(loaded.module, space, args.layer, todo, config, loaded.settings.input_size, batch_size=batch,
                           device=loaded.device, progress=bar.update, on_batch=save, snapshots=snapshots)
    written: dict[str, Any] = output.paths()
    if templated is not None:
        for unit in sorted(done):  # computed by an earlier run: the copies are still written
            named.extend(templated.save_done(output, unit))
        written["named"] = named
    print_json({"layer": args.layer, "units": len(units), "computed": len(todo), "skipped": len(done),
                "written": written, "best_values": output.best_values(units)})
    return 0


def _optimize_expression(args: argparse.Namespace, expression: str, config, loaded, snapshots: list[int]) -> int:
    from deepvis_app.core.base.progress import terminal_bar
    from deepvis_app.core.methods.attribution.objective import tapped_layers
    from deepvis_app.core.unitvis.optimize.loop import optimize_objective
    from deepvis_app.core.unitvis.optimize.objective_expr import ObjectiveError, parse_objective
    from deepvis_app.core.unitvis.optimize.output import save_objective_result, saved_render
    from deepvis_app.core.unitvis.optimize.params import InputSpace
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout

    try:
        objective = parse_objective(expression, lambda name: loaded.layer(name).channels)
    except ObjectiveError as exc:
        raise UserError(f"--{exc}") from None
    batch = args.batch or objective.min_batch
    if batch < objective.min_batch:
        raise UserError(f"--batch {batch}: this objective compares images, it needs --batch >= {objective.min_batch}")
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    render = saved_render(config)
    with terminal_bar("objective", total=config.steps, unit="step", quiet=args.no_progress) as bar:
        result = optimize_objective(loaded.module, space, objective, batch, config, loaded.settings.input_size,
                                    device=loaded.device, progress=bar.update, snapshots=snapshots)
    written = save_objective_result(UnitVisLayout(args.out), objective.description, result.images(space, render),
                                    result.best_values, result.last_values, result.history,
                                    result.snapshot_images(space, render),
                                    {"preset": args.preset, "steps": config.steps, "render": render,
                                     "push_dir": config.push_dir, "batch": batch})
    print_json({"objective": objective.description, "batch": batch, "layers": tapped_layers(objective),
                "written": written,
                "best_values": [float(v) for v in result.best_values],
                "last_values": [float(v) for v in result.last_values]})
    return 0
