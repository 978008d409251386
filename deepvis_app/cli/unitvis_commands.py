"""`deepvis find-max`, `deepvis crops`, `deepvis report`: the data side of the per-unit pipeline.

Output folders are checked (writable folder, not a file) before the model is loaded; images that
cannot be read are listed in the JSON summary with their problem ("skipped"/"problems" of
find-max, "missing_images"/"problems" of crops), never fatal, and said on stderr, one line each and a
summary. A report whose ``--details`` could not all be drawn prints one line per problem on stderr
and a summary, and exits 1 (`PARTIAL_FAILURE`);
a ``--dataset`` that is no folder exits 2 before anything is computed. Long jobs show a bar on a
terminal (`core.progress.terminal_bar`; ``--no-progress`` turns it off).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, check_output_dir, model_from_args, print_json

PARTIAL_FAILURE = 1   # exit status when the site is written but some requested details are missing


def register(subparsers: Any) -> None:
    _register_find_max(subparsers)
    _register_crops(subparsers)
    _register_report(subparsers)


def _layer_list(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def _register_find_max(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "find-max", "Find every unit's top-k images in an image folder or "
                            "file list (resumable; runs under torchrun for several processes)", _find_max)
    parser.add_argument("dataset", type=Path, help="folder of images (searched recursively), or a file list: one "
                        "image path per line, optionally followed by an integer class label (the original "
                        "toolbox's filelist)")
    parser.add_argument("--images-dir", type=Path, help="folder the file list's relative paths are in "
                        "(default: the list's folder)")
    parser.add_argument("--rank", choices=("max", "sum"), default="max", help="rank a unit's images by the "
                        "maximum of its map (default) or by the sum of its map")
    parser.add_argument("--layers", required=True, help="comma-separated layer names")
    parser.add_argument("--top", type=int, default=9, help="images kept per unit (default 9)")
    parser.add_argument("--batch", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader decoding processes (default 2)")
    parser.add_argument("--checkpoint-every", type=int, default=8, help="batches between checkpoints")
    parser.add_argument("--out", type=Path, required=True, help="unit-vis folder (writes find_max/)")
    parser.add_argument("--search-min", action="store_true", help="also keep each unit's --top images with the "
                        "LOWEST scores, lowest first, in find_min/<layer>.json (the arikpoz fork's --search-min; "
                        "find_max/ is written as without it)")
    parser.add_argument("--summaries", action="store_true", help="also write the fork's per-layer pictures under "
                        "crops/<layer>/: unit_NNNN/max_histogram.png, layer_inactivity.png, channels_correlation.png "
                        "and their numbers (find_max_summary.json, channels_correlation.npy)")
    parser.add_argument("--summary-images", type=int, metavar="N",
                        help="--summaries cover the first N images (default 10000, as the fork; memory and "
                        "checkpoint: N x units x 4 bytes per layer)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _find_max(args: argparse.Namespace) -> int:
    from deepvis_app.core.nn.hooks import find_module
    from deepvis_app.core.unitvis.findmax.distributed import cuda_device_for, process_group, ranks_from_env
    from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
    from deepvis_app.core.unitvis.findmax.scan_data import scan_source
    from deepvis_app.core.unitvis.findmax.summary import SUMMARY_IMAGES

    ranks = ranks_from_env()
    args.device = cuda_device_for(ranks, args.device)
    layers = _layer_list(args.layers)
    if not layers:
        raise UserError("--layers: give at least one layer name (see `deepvis layers`)")
    if args.batch < 1 or args.top < 1 or args.workers < 0 or args.checkpoint_every < 1:
        raise UserError("--batch, --top and --checkpoint-every must be >= 1, --workers >= 0")
    if args.summary_images is not None and args.summary_images < 1:
        raise UserError(f"--summary-images {args.summary_images}: must be at least 1")
    check_output_dir(args.out)
    scan_source(args.dataset, args.images_dir)  # a bad folder or file-list line is reported before the model loads
    loaded = model_from_args(args)
    for name in layers:
        find_module(loaded.module, name)
    request = FindMaxRequest(args.dataset, layers, args.out, args.top, args.batch, args.workers,
                             args.checkpoint_every, args.images_dir, args.rank, args.search_min, args.summaries,
                             args.summary_images or SUMMARY_IMAGES)
    quiet = args.no_progress or not ranks.is_main
    with process_group(ranks, loaded.device.type), _bar(quiet, "batch", "find-max") as bar:
        started = time.perf_counter()
        result = find_max(loaded, request, _batch_progress(bar), ranks.rank, ranks.world)
        seconds = time.perf_counter() - started
    if ranks.is_main:
        print_json({"images": result.images, "scan_seconds": round(seconds, 3), "batches_run": result.batches_run,
                    "resumed_batches": result.resumed_batches, "processes": ranks.world,
                    "skipped": result.skipped, "problems": result.problems,
                    "state_discarded": result.state_discarded, "written": [str(p) for p in result.written]})
        _say_problems("find-max", {**{path: "skipped" for path in result.skipped}, **result.problems},
                      "image(s) skipped; the results cover the others")
    return 0


def _bar(disable: bool, unit: str, desc: str):
    from deepvis_app.core.base.progress import terminal_bar

    return terminal_bar(desc, unit=unit, quiet=disable)


def _batch_progress(bar):
    def progress(done: int, total: int, _images: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()
    return progress


def _register_crops(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "crops", "Receptive-field crops, their backward signals and top-k "
                            "montages (max_im/ and max_deconv/, max_guided/ or max_backprop/) and a per-unit "
                            "crops/<layer>/unit_NNNN/info.txt from find-max results", _crops)
    parser.add_argument("--out", type=Path, required=True, help="unit-vis folder holding find_max/")
    parser.add_argument("--layers", help="comma-separated layers (default: every find-max result)")
    parser.add_argument("--dataset", type=Path, help="image folder (default: the one find-max recorded)")
    parser.add_argument("--methods", help="backward methods, comma-separated: deconv, guided, gradient, auto "
                        "(default: the unit_backprop setting, which the app's per-unit pane shows; auto = deconv "
                        "when the model has max-pooling, else guided)")
    parser.add_argument("--do-backprop", action="store_true", help="also the plain gradient (backprop) crops "
                        "and max_backprop montages (= adding gradient to --methods)")
    parser.add_argument("--do-deconv-norm", action="store_true", help="also the channel norm of the deconv "
                        "(deconvnorm crops, max_deconvnorm montages)")
    parser.add_argument("--do-backprop-norm", action="store_true", help="also the channel norm of the gradient "
                        "(backpropnorm crops, max_backpropnorm montages)")
    parser.add_argument("--idx-begin", type=int, default=0, help="first unit to crop (default 0)")
    parser.add_argument("--idx-end", type=int, help="unit to stop before (default: after the last)")
    parser.add_argument("--N", dest="n_top", type=int, metavar="N", help="crop each unit's N best images (default: all "
                        "find-max kept)")
    parser.add_argument("--tile", type=int, default=96, help="montage tile size in pixels (default 96)")
    parser.add_argument("--batch", type=int, default=16, help="crops per backward pass (default 16)")
    parser.add_argument("--save-crops", action="store_true", help="also write every crop as PNG under crops/")
    parser.add_argument("--force", action="store_true", help="redo units whose montages exist")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _crops(args: argparse.Namespace) -> int:
    from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
    from deepvis_app.core.unitvis.findmax.crops import UNIT_BACKPROP_CHOICES, unit_backprop_method

    asked = _layer_list(args.methods)
    unknown = [m for m in asked if m not in UNIT_BACKPROP_CHOICES]
    if unknown or args.tile < 8 or args.batch < 1:
        raise UserError(f"--methods takes {', '.join(UNIT_BACKPROP_CHOICES)}; --tile >= 8; --batch >= 1")
    if args.idx_begin < 0 or (args.idx_end is not None and args.idx_end <= args.idx_begin):
        raise UserError(f"--idx-begin {args.idx_begin} / --idx-end {args.idx_end}: need 0 <= begin < end")
    if args.n_top is not None and args.n_top < 1:
        raise UserError(f"--N {args.n_top}: must be at least 1")
    check_output_dir(args.out)
    loaded = model_from_args(args)
    methods = tuple(dict.fromkeys([*(unit_backprop_method(loaded, m) for m in asked or [None]),
                                   *(["gradient"] if args.do_backprop else [])]))
    norms = tuple(m for m, wanted in (("deconv", args.do_deconv_norm), ("gradient", args.do_backprop_norm)) if wanted)
    request = CropRequest(args.out, _layer_list(args.layers) or None, args.dataset, methods, args.tile,
                          args.batch, args.save_crops, args.force, norms, args.idx_begin, args.idx_end, args.n_top)
    with _bar(args.no_progress, "unit", "crops") as bar:
        result = make_crops(loaded, request, unit_progress(bar))
    print_json({"methods": list(methods), "norm_methods": list(norms), "units_written": result.layers,
                "missing_images": sorted(set(result.missing_images)),
                "problems": result.problems})
    _say_problems("crops", {**{path: "missing from the dataset" for path in result.missing_images},
                            **result.problems}, "image(s) not cropped; the montages leave them out")
    return 0


def _say_problems(command: str, problems: dict[str, str], summary: str) -> None:
    """One line per problem on stderr, then a summary line (the JSON on stdout lists them too)."""
    for path, problem in sorted(problems.items()):
        print(f"deepvis {command}: {path}: {problem}", file=sys.stderr)
    if problems:
        print(f"deepvis {command}: {len(problems)} {summary}", file=sys.stderr)


def unit_progress(bar):
    """make_crops' progress callback: the bar starts over (count, total and clock) at each layer, so
    its rate and ETA are the layer's own, not diluted by the time the previous layers took."""
    shown: list[str] = []

    def progress(layer: str, done: int, total: int) -> None:
        if shown != [layer]:
            shown[:] = [layer]
            bar.reset(total=total)
            bar.set_description(layer, refresh=False)
        bar.update(done - bar.n)
    return progress


def _register_report(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "report", "Static HTML site of the per-unit images of a model", _report)
    parser.add_argument("--out", type=Path, required=True, help="site folder to write")
    parser.add_argument("--unit-vis", type=Path, help="unit-vis folder (default: the model's unit_vis_dir)")
    parser.add_argument("--layers", help="comma-separated layers (default: all with images)")
    parser.add_argument("--details", metavar="UNITS",
                        help="units (e.g. 0-7 or 3,5) whose top image also gets conv-net-viz's pictures: the image "
                             "with the receptive field boxed in red, the full-size backprop, the activation map "
                             "and the reconstruction from all channels (computed, so keep the list short)")
    parser.add_argument("--dataset", type=Path, help="image folder of the find-max run, for --details "
                        "(default: the one find-max recorded)")
    parser.add_argument("--methods", metavar="NAMES",
                        help="with --details: also the map of each of these back-pane methods (comma-separated, "
                             "or 'all'; see `deepvis attribute --help`) for the unit on its top image, as the "
                             "app computes it, in the method's own view")


def _report(args: argparse.Namespace) -> int:
    from deepvis_app.cli.common import settings_from_args
    from deepvis_app.core.unitvis.report.build import ReportRequest, write_report
    from deepvis_app.core.unitvis.store.unit_layout import unit_vis_root

    check_output_dir(args.out)
    settings = settings_from_args(args).settings
    unit_vis = args.unit_vis or unit_vis_root(settings)
    if unit_vis is None or not Path(unit_vis).is_dir():
        raise UserError(f"unit-vis folder {unit_vis} does not exist (pass --unit-vis DIR)")
    if args.dataset is not None and not args.dataset.is_dir():
        raise UserError(f"--dataset {args.dataset}: no such folder (the image folder find-max scanned)")
    loaded = model_from_args(args)
    details = tuple(_detail_units(args.details)) if args.details else ()
    methods = _report_methods(args.methods, details)
    with _bar(False, "unit", "report details") as bar:
        request = ReportRequest(Path(unit_vis), args.out, _layer_list(args.layers) or None, details, args.dataset,
                                methods, bar=bar)
        index = write_report(loaded, request)
    print_json({"index": str(index), "problems": request.problems})
    for problem in request.problems:
        print(f"deepvis report: {problem}", file=sys.stderr)
    if request.problems:
        print(f"deepvis report: {len(request.problems)} detail(s) not drawn (listed above); the rest of the site "
              f"is written", file=sys.stderr)
        return PARTIAL_FAILURE
    return 0


def _report_methods(text: str | None, details: tuple[int, ...]) -> tuple[str, ...]:
    """--methods 'gradcam,scorecam' | 'all' -> registry names (a misspelt one is named with the choices)."""
    from deepvis_app.core.methods.registry import METHOD_NAMES

    if not text:
        return ()
    if not details:
        raise UserError("--methods needs --details UNITS (the units whose top image gets the maps)")
    names = METHOD_NAMES if text.strip() == "all" else tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [name for name in names if name not in METHOD_NAMES]
    if unknown:
        raise UserError(f"--methods: unknown method {', '.join(unknown)} (choose from {', '.join(METHOD_NAMES)})")
    return tuple(dict.fromkeys(names))


def _detail_units(text: str) -> list[int]:
    """--details '0-7,9' -> units (checked against each layer's size when the report is written)."""
    from deepvis_app.cli.optimize_commands import parse_units

    return parse_units(text, 1 << 30)
