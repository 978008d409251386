"""`deepvis layers`, `deepvis classify`, `deepvis settings`: the core's commands."""

from __future__ import annotations

import argparse
from typing import Any

from deepvis_app.cli.common import add_subcommand, model_from_args, positive_int, print_json, settings_from_args


def register(subparsers: Any) -> None:
    layers = add_subcommand(subparsers, "layers", "list the model's layers with kind and output shape", run_layers)
    layers.add_argument("--json", action="store_true", help="print JSON")

    classify = add_subcommand(subparsers, "classify", "classify an image (path or sample:<name>)", run_classify)
    classify.add_argument("image", help="image file, or sample:chelsea etc. (skimage.data)")
    classify.add_argument("--top", type=positive_int, default=5, help="how many classes, at least 1 (default 5)")
    classify.add_argument("--json", action="store_true", help="print JSON")

    keys = add_subcommand(subparsers, "keys", "print the key bindings (with your key_overrides) as a table", run_keys)
    keys.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")

    show = add_subcommand(subparsers, "settings", "print every setting and its value", run_settings)
    show.add_argument("--show-origin", action="store_true", help="also print which layer set each value")


def run_layers(args: argparse.Namespace) -> int:
    from deepvis_app.core.nn.outputs import head_or_plain

    loaded = model_from_args(args)
    if args.json:
        print_json([info.as_json() for info in loaded.layers])
        return 0
    width = max(len(info.name) for info in loaded.layers)
    for info in loaded.layers:
        shape = "x".join(str(s) for s in info.shape)
        print(f"{info.name:<{width}}  {info.pretty:<10} {info.kind:<18} {shape}")
    print(f"# output layer '{loaded.output_layer}': {head_or_plain(loaded.module).describe()}")
    return 0


def run_classify(args: argparse.Namespace) -> int:
    from deepvis_app.core.nn.classify import classify_image
    from deepvis_app.io.images import load_input

    loaded = model_from_args(args)
    image = load_input(args.image, loaded.settings.max_image_pixels)
    results = classify_image(loaded, image, top=args.top, name=args.image)
    if args.json:
        print_json(results)
        return 0
    for row in results:
        print(f"{row['prob']:.4f}  {row['index']:>5}  {row['label']}")
    return 0


def run_settings(args: argparse.Namespace) -> int:
    from deepvis_app.settings.loader import settings_table

    loaded = settings_from_args(args)
    for name, value, origin in settings_table(loaded):
        shown = value.__name__ if callable(value) and hasattr(value, "__name__") else repr(value)
        print(f"{name} = {shown}" + (f"    # {origin}" if args.show_origin else ""))
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from deepvis_app.core.methods.registry import METHOD_NAMES  # the registry imports torch: only for this command
    from deepvis_app.keymap import help_rows, markdown_table

    overrides = settings_from_args(args).settings.key_overrides
    if args.markdown:
        print(markdown_table(overrides, METHOD_NAMES))
        return 0
    rows = help_rows(overrides, METHOD_NAMES)
    width = max(len(keys) for keys, _ in rows)
    for keys, text in rows:
        print(f"{keys:<{width}}  {text}")
    return 0
