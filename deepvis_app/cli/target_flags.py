"""What `deepvis attribute` explains of a model that is not a classifier: the flags by kind of output.

- dense prediction (segmentation): ``--target K`` is class K summed over the pixels the image predicts
  as K (pytorch-grad-cam's ``SemanticSegmentationTarget``), or over ``--region x0,y0,x1,y1`` (input
  pixels) or ``--mask PNG`` (its non-zero pixels, resized to the input);
- detection: ``--box I`` (or ``--target I``) is detection I's score (``FasterRCNNBoxScoreTarget``);
- embedding: ``--similar-to IMAGE`` (else the ``similar_to`` setting): the cosine similarity to that
  image's embedding (``SimilarityToConceptTarget``).

The output head (`core.outputs`) does the explaining; these flags only configure it, and say in one
line what cannot be explained (a class of an embedding, a box of a classifier).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from deepvis_app.cli.common import UserError
from deepvis_app.core.nn.outputs import OutputHead, Region, head_or_plain


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what is explained of a segmentation, detection or embedding model "
                                      "(see `deepvis layers`: the output layer's kind)")
    group.add_argument("--region", metavar="X0,Y0,X1,Y1",
                       help="segmentation: sum --target's class over this box (input pixels) instead of the "
                            "pixels predicted as that class")
    group.add_argument("--mask", metavar="PNG", help="segmentation: sum --target's class over this mask's non-zero "
                                                     "pixels (resized to the input)")
    group.add_argument("--box", type=int, metavar="I", help="detection: explain detection I's score (as --target I)")
    group.add_argument("--similar-to", metavar="IMAGE",
                       help="embedding: explain the cosine similarity to this image's embedding")


def apply_targets(args: argparse.Namespace, loaded: Any, x: torch.Tensor) -> None:
    """Configure the output head from the flags; `UserError` for a flag the model's output cannot use, or
    a target it cannot explain. Sets ``args.target`` from ``--box``."""
    head = head_or_plain(loaded.module)
    given = [flag for flag, value in (("--region", args.region), ("--mask", args.mask), ("--box", args.box),
                                      ("--similar-to", args.similar_to)) if value is not None]
    wanted = {"--region": "dense", "--mask": "dense", "--box": "detection", "--similar-to": "embedding"}
    for flag in given:
        if head.kind != wanted[flag]:
            raise UserError(f"{flag} is for a {wanted[flag]} output; this model's output is {head.kind} "
                            f"({head.describe()})")
    if args.region and args.mask:
        raise UserError("give --region or --mask, not both")
    if args.box is not None:
        if args.target is not None and args.target != args.box:
            raise UserError("--box and --target name the same thing for a detection model: give one")
        args.target = args.box
    head.region = _region(args, loaded.settings.input_size)
    reference = args.similar_to or (loaded.settings.similar_to if head.kind == "embedding" else None)
    if reference:
        from deepvis_app.io.images import load_input

        image = load_input(reference, loaded.settings.max_image_pixels)
        head.set_reference_image(loaded.module, loaded.preprocessor.to_tensor(image, loaded.device))
    _check_explainable(args, head, loaded, x)


def _region(args: argparse.Namespace, input_hw: tuple[int, int]) -> Region | None:
    if args.region:
        try:
            x0, y0, x1, y1 = (int(v) for v in args.region.split(","))
        except ValueError:
            raise UserError(f"--region must be X0,Y0,X1,Y1 (four integers, input pixels), got {args.region!r}") \
                from None
        height, width = input_hw
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise UserError(f"--region {args.region}: needs 0 <= X0 < X1 <= {width} and 0 <= Y0 < Y1 <= {height} "
                            f"(the input is {width}x{height})")
        return Region(box=(x0, y0, x1, y1))
    if args.mask:
        from skimage.transform import resize

        from deepvis_app.io.images import load_input

        mask = load_input(args.mask, 50_000_000).astype(np.float32).max(axis=2) > 0
        if not mask.any():
            raise UserError(f"--mask {args.mask}: no pixel is non-zero (the region would be empty)")
        return Region(mask=(resize(mask.astype(np.float32), input_hw, order=0) > 0.5).astype(np.float32))
    return None


def _check_explainable(args: argparse.Namespace, head: OutputHead, loaded: Any, x: torch.Tensor) -> None:
    """One line for an objective the output cannot give (before anything is computed)."""
    explains_output = args.unit is None or args.target is not None
    if not explains_output:
        return
    if args.target is None and head.kind in ("dense", "detection"):
        head.prepare(loaded.module, x)     # the class covering most pixels, the best detection
        ranking = head.ranking(loaded.label, 1)
        if not ranking:
            raise UserError("the model detects nothing in this image: nothing to explain at its output "
                            "(give --layer L --unit U)")
        args.target = ranking[0]["index"]
    if head.kind == "embedding" and head.reference_embedding is None:
        raise UserError(f"this model's output is an embedding ({head.describe()}): it has no classes; give "
                        f"--similar-to IMAGE to explain the similarity to that image, or --layer L --unit U")
    if head.kind == "dense" and head.region is None and args.target is not None:
        head.prepare(loaded.module, x)
        ranking = head.ranking(loaded.label, 5)
        if args.target not in [entry["index"] for entry in head.ranking(loaded.label, 10 ** 6)]:
            shown = ", ".join(f"{e['index']} {e['label']} ({e['prob']:.0%})" for e in ranking)
            raise UserError(f"--target {args.target}: no pixel of this image is predicted as that class, so its "
                            f"region is empty; give --region or --mask, or a predicted class: {shown}")
    if head.kind == "detection" and args.target is not None:
        head.prepare(loaded.module, x)
        count = len(head.detections()[1])
        if not 0 <= args.target < count:
            raise UserError(f"--box {args.target}: the image has {count} detections (0..{count - 1})" if count
                            else f"--box {args.target}: the model detects nothing in this image")
