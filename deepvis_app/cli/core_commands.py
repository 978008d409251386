"""`deepvis layers`, `deepvis classify`: the commands that load a model and look at its outputs
(`deepvis keys` and `deepvis settings`, which need no model, are in `cli.info_commands`)."""

from __future__ import annotations

import argparse
from typing import Any

from deepvis_app.cli.common import add_subcommand, model_from_args, positive_int, print_json


def register(subparsers: Any) -> None:
    layers = add_subcommand(subparsers, "layers", "list the model's layers with kind and output shape", run_layers)
    layers.add_argument("--json", action="store_true", help="print JSON")

    classify = add_subcommand(subparsers, "classify", "classify an image (path or sample:<name>)", run_classify)
    classify.add_argument("image", help="image file, or sample:chelsea etc. (skimage.data)")
    classify.add_argument("--top", type=positive_int, default=5, help="how many classes, at least 1 (default 5)")
    classify.add_argument("--json", action="store_true", help="print JSON")


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
