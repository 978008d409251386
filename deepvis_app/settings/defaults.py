"""Every setting deepvis knows, declared once: its type, default, help text and rules.

This is the lowest settings layer and the only list of names: model files
(`models/<name>/settings.py`), `settings/settings_local.py` and `--set key=value` may only
assign names defined here, so a typo is an error with a did-you-mean instead of a silently
ignored value (the original toolbox's `locals().get(...)` scheme could not tell).
Each field is an `option(default, help, choices=..., minimum=..., check=..., cli=...)`
(`settings.options`): the loader checks values with the one type checker and the declared rules,
`deepvis settings --doc` prints each help text and rule, the did-you-mean knows names and choices,
and fields with ``cli=True`` get their flag from the declaration (`cli.common`). The rules that
tie settings together (mean/std against input_channels) are in `loader.cross_field_problems`.
Paths are resolved by the loader against the file that set them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable

from deepvis_app.settings.options import doc_line, option, option_fields

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The `weights` value that asks for random weights (a model whose default weights file is missing is
# refused otherwise; running on random weights prints one warning line).
RANDOM_WEIGHTS = "random"

# Fields whose string values are file-system paths, resolved against the file that set them.
PATH_FIELDS = frozenset({"weights", "labels", "unit_vis_dir", "static_files_dir", "model_dir", "mean_image",
                         "similar_to"})
UNIT_BACKPROP_CHOICES = ("auto", "deconv", "guided", "gradient")   # core.unitvis.findmax.crops resolves auto
OUTPUT_KINDS = ("auto", "classes", "dense", "detection", "embedding")   # core.nn.outputs reads them
TWO_INPUT_MODES = ("arguments", "channels", "width")   # or None: one image
# Largest input side accepted: beyond it one blank forward pass needs tens of GB (a typo, not a wish).
MAX_INPUT_SIDE = 8192
MAX_OPTIMIZE_STEPS = 100_000   # optimize_on_request_steps: more is a typo, not a wish (the CLI takes any)
RGB = tuple[float, float, float]


def _finite_non_zero(value: float) -> str | None:
    return None if math.isfinite(value) and value != 0 else "must be a finite, non-zero number"


def _finite(values: tuple[float, ...]) -> str | None:
    return None if all(math.isfinite(v) for v in values) else "values must be finite numbers"


def _finite_divisors(values: tuple[float, ...]) -> str | None:
    if any(v == 0 for v in values):
        return "values must not be 0 (the input is divided by them)"
    return _finite(values)


def _lists_a_layer(layers: tuple[str, ...]) -> str | None:
    return None if layers else "lists no layer (use None to find them automatically)"


def _names_a_preset(name: str) -> str | None:
    return None if name else "name a preset of `deepvis optimize` (e.g. 'yosinski3')"


def _token_grids(grids: dict[str, tuple[int, int] | None]) -> str | None:
    for prefix, grid in grids.items():
        if grid is not None and min(grid) < 1:
            return (f"entry {prefix!r}: {grid!r} must map a layer-name prefix to (height, width) in tokens "
                    f"(positive integers) or None")
    return None


def _binds_each_key_once(overrides: dict[str, tuple[str, ...]]) -> str | None:
    from deepvis_app.keymap import key_index

    try:
        key_index(overrides)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Settings:
    """The merged settings; every field is documented by its declaration's help text."""

    # --- model ---------------------------------------------------------------------------
    model: str = option("efficientnet_lite0", cli=True, help=(
        "Model name: a folder under models/, `torchvision:<name>` (any family: classification, segmentation, "
        "detection), `timm:<name>` (pip install 'deepvis[timm]'), `hf:<folder>` (a transformers save_pretrained "
        "folder; pip install 'deepvis[hf]'), or `package.module:factory`."))
    model_dir: str | None = option(None, "Folder of the model's settings.py (filled in by the loader; used to find "
                                         "its files).")
    builder: Any = option(None, "How to build the network: `torchvision:<name>`, `timm:<name>`, `hf:<folder>`, "
                                "`package.module:factory`, or a callable returning an nn.Module. None: derived "
                                "from `model`.")
    model_kwargs: dict[str, Any] = option({}, "Keyword arguments for the builder, e.g. {'num_classes': 6} "
                                              "(torchvision, timm, a factory) or config overrides (hf). "
                                              "torchvision-style `weights`/`weights_backbone` are always None.")
    weights: str | None = option(None, cli=True, help=(
        "Weights file: a torch checkpoint (state dict or whole-model pickle) or a .safetensors file. None: the "
        "builder's own (torchvision: its torch hub cache file, refused when missing); 'random': run on random "
        "weights (one warning line says so)."))
    trust_checkpoint: bool = option(False, "Allow checkpoints that need pickle code execution to load "
                                           "(torch.load(weights_only=False)).", cli=True)
    input_size: tuple[int, int] = option((224, 224), "Input size (height, width) the network is fed, in pixels.",
                                         minimum=1, maximum=MAX_INPUT_SIDE)
    input_channels: int = option(3, "Number of input channels: 3 (RGB) or 1 (grayscale).", choices=(3, 1))
    mean: tuple[float, ...] = option(IMAGENET_MEAN, "Per-channel mean subtracted after scaling pixels to [0, 1] "
                                                    "(1 value, or 1 per channel).", check=_finite)
    std: tuple[float, ...] = option(IMAGENET_STD, "Per-channel std the input is divided by after the mean "
                                                  "(1 value, or 1 per channel).", check=_finite_divisors)
    mean_image: str | None = option(None, (
        "A mean *image* subtracted instead of `mean` (the original's caffevis_data_mean file): a .npy array "
        "C x H x W (or 1 x C x H x W) in the network's channel order and input units (after input_scale: 0..255 "
        "for Caffe models), at least input_size; its centre is cropped to input_size."))
    generate_channelwise_mean: bool = option(False, (
        "Subtract the per-channel average of `mean_image` instead of the whole image (the original's "
        "generate_channelwise_mean). Without a mean_image, `mean` is per channel already."))
    channel_order: str = option("RGB", "Channel order the network expects (BGR: Caffe-converted models).",
                                choices=("RGB", "BGR"))
    input_scale: float = option(1.0, "Multiply [0, 1] pixels by this before mean/std (255 for Caffe-style 0..255 "
                                     "inputs).", check=_finite_non_zero)
    labels: str | None = option(None, "Class-name file (one label per line), or None for numbered classes.")
    device: str = option("auto", "Compute device: 'auto' (cuda when available), 'cpu', 'cuda', 'cuda:1', ...",
                         cli=True)
    torch_threads: int | None = option(None, (
        "Threads torch runs the model on in the live view (window, web; every other thread uses one). None: "
        "the fastest of one, half the cores and all of them, timed as the view starts (at batch 1 a depthwise "
        "network may gain nothing from more threads but CPU)."), minimum=1)
    frames_in_flight: int | None = option(None, (
        "Video frames the live view computes at a time, each in a compute thread of its own on a copy of the "
        "model that shares its weights (slow methods run on one). None: two when two forwards side by side on "
        "half the threads beat one on all of them (timed as the view starts; CPU only), else one."),
        minimum=1, maximum=8)

    # --- layers --------------------------------------------------------------------------
    layers: tuple[str, ...] | None = option(None, "Layers shown, by dotted module name, in forward order. None: "
                                                  "discovered automatically.", check=_lists_a_layer)
    layer_kinds: tuple[str, ...] = option((
        "Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "ReLU6",
        "BasicBlock", "Bottleneck", "Inception", "Fire", "MBConvBlock", "BasicConv2d",
        "Conv2dNormActivation", "InvertedResidual", "MBConv",
    ), "Module kinds (class names) offered when `layers` is None.")
    layer_filter: Callable[[str], bool] | None = option(None, "Optional function name -> bool; False hides a "
                                                              "layer (the original's caffevis_filter_layers).")
    hide_repeated_outputs: bool = option(True, "Hide layers whose output is the very tensor another shown layer "
                                               "already emits.")
    token_grid: dict[str, tuple[int, int] | None] = option({}, (
        "Vision transformers: token outputs are shown as their patch grid, inferred for square grids "
        "(core/nn/tokens.py). Per layer-name prefix ('' for all, the longest wins): the grid (h, w) of "
        "(B, k + h*w, C) tokens or channels-last (B, h, w, C) outputs, or None for no reshape."), check=_token_grids)
    pretty_names: Any = option(None, "Pretty names: a dict {name: pretty} or a function name -> pretty.")
    output_layer: str | None = option(None, "Layer whose output is class scores (labels shown for it). None: the "
                                            "last layer.")
    output_is_logits: bool = option(True, "Apply softmax to the output layer to show probabilities.")
    output: str | int | None = option(None, (
        "What of the model's output is explained, when it returns more than a tensor (a tuple or list, a dict, a "
        "Hugging Face ModelOutput): a key or attribute name ('out', 'logits', 'pooler_output') or an index. None: "
        "chosen (logits, then out, then pooler_output / image_embeds, then the first tensor); `deepvis layers` and "
        "the status line say which (core/nn/outputs.py)."))
    output_kind: str = option("auto", (
        "What kind of prediction that output is: 'classes' (B, K), 'dense' (B, K, H, W: segmentation; a class is "
        "explained summed over a region), 'detection' (torchvision's list of dicts with boxes/scores/labels; a "
        "detection's score is explained), 'embedding' (B, D: the cosine similarity to a reference image's "
        "embedding is explained), or 'auto' (from the output's shape and name)."), choices=OUTPUT_KINDS)
    two_inputs: str | None = option(None, (
        "Two-input (siamese) networks, the original's is_siamese / siamese_input_mode: None (one image), "
        "'arguments' (forward(first, second)), 'channels' (one input of both images' channels stacked: the "
        "original's concat_channelwise) or 'width' (one input of both images side by side: its concat_along_width). "
        "A frame is then the pair side by side: a pair list (two paths a line) or `--input first.jpg,second.jpg` "
        "builds it; a camera frame is split at its middle."), choices=TWO_INPUT_MODES)
    similar_to: str | None = option(None, (
        "Embedding models: the image (a file or sample:<name>) whose embedding the similarity is measured to, from "
        "the start (`P` in the window pins the frame shown instead; `--similar-to` in the CLI)."))
    label_layers: tuple[str, ...] | None = option(None, (
        "Layers whose units are classes (the original's caffevis_label_layers): with the cursor in their grid, the "
        "aux pane shows the selected unit's label and its probability. None: the output layer; (): none."))

    # --- per-unit images -----------------------------------------------------------------
    unit_vis_dir: str | None = option(None, "Root of the per-unit images (max_im/, max_deconv/, "
                                            "regularized_opt/). None: <model_dir>/unit_vis.")
    jpgvis_layers: tuple[str, ...] | None = option(None, "Layers that have per-unit images; None: any layer found "
                                                         "on disk.")
    jpgvis_remap: dict[str, str] = option({}, "Show another layer's images for a layer, e.g. "
                                              "{'features.1': 'features.0'}.")
    jpg_cache_mib: int = option(512, "Byte budget of the in-memory unit-image cache, in MiB.")
    unit_images_on_demand: bool = option(True, "Compute the selected unit's per-unit images on demand when none "
                                               "are on disk.")
    unit_backprop: str = option("auto", (
        "What the per-unit pane shows under the top-9 images, and what `deepvis crops` writes: 'deconv' "
        "(Zeiler-Fergus, max_deconv/), 'guided' (guided backprop, max_guided/), 'gradient' (plain backprop, "
        "max_backprop/), or 'auto': deconv when the model has max-pool switches, guided otherwise (without "
        "max-pooling every deconv of a unit is the same picture)."), choices=UNIT_BACKPROP_CHOICES)
    clear_negative_activations: bool = option(False, (
        "Black out the per-unit pane's top images (and their backward images) whose find-max value is zero or "
        "negative: the unit did not respond to them (the arikpoz fork's caffevis_clear_negative_activations; see "
        "core/unitvis/inactive_images.py)."))
    optimize_on_request_preset: str = option("yosinski3", (
        "The optimize-unit key (g) computes the selected unit's optimized image in the background when it is "
        "pressed, with this preset of `deepvis optimize` (yosinski1-4, cnnvis, lucent)."), check=_names_a_preset)
    optimize_on_request_steps: int = option(200, (
        "Steps of the optimize-unit key's preset (200 yosinski3 steps: about 30 s for _blocks.5 of the default "
        "model on 2 CPU cores)."), minimum=1, maximum=MAX_OPTIMIZE_STEPS)
    unit_images_stack_vertical: bool = option(True, (
        "Stack the per-unit pane's three images (optimized image, top-9, their deconvs) one below the other in a "
        "column right of the grid; False: side by side in a row under the grid (the original's "
        "caffevis_jpgvis_stack_vert)."))

    # --- inputs --------------------------------------------------------------------------
    static_files_dir: str | None = option(None, "Image folder for static files; None: the built-in sample images "
                                                "(skimage.data).")
    static_files_regexp: str = option(r".*\.(jpg|jpeg|png|bmp|tif|tiff|webp)$", "Regular expression selecting "
                                                                                 "image files in the folder.")
    static_files_ignore_case: bool = option(True, (
        "Match static_files_regexp ignoring case (the original's static_files_ignore_case): False makes 'PNG' and "
        "'png' differ, for folders and dropped files alike."))
    static_file_stretch_mode: bool = option(False, "Stretch static files to the input aspect instead of "
                                                   "centre-cropping.")
    capture_device: int | None = option(None, "Camera index (or stream URL) to start with; None: start with the "
                                              "static files (`c` then tries camera 0, as the original did).")
    camera_mirror: bool = option(True, "Mirror camera frames left-right (as the original did).")
    camera_sleep_s: float = option(0.05, "Seconds between camera reads (the original capped the camera at 20 fps).")
    camera_retry_s: float = option(2.0, "Seconds between retries of a missing or unplugged camera.")
    video_paced: bool = option(True, "Play video files at their own frame rate; False: as fast as they decode "
                                     "(benchmarks).")
    max_image_pixels: int = option(50_000_000, (
        "Largest image (width x height, read from the file header before decoding) any reader accepts: command "
        "line, input list, find-max and crops; also the largest H x W of a .npy input. Larger files are refused "
        "with a message naming them (a 7 KB JPEG can claim 32768x32768 = 3 GiB decoded)."), minimum=1)

    # --- view ----------------------------------------------------------------------------
    window_size: tuple[int, int] = option((1500, 930), "Window size (width, height) at start.")
    layers_aspect_ratio: float = option(1.0, "Aspect ratio (width/height) the unit grid aims for.")
    fast_move_dist: int = option(3, "Units moved by the Shift+direction keys.")
    boost_indiv_choices: tuple[float, ...] = option((0.0, 0.3, 0.5, 0.8, 1.0), "Per-unit boost choices (cycled by T).")
    boost_gamma_choices: tuple[float, ...] = option((1.0, 0.7, 0.5, 0.3), "Gamma boost choices (cycled by t).")
    boost_indiv_default_idx: int = option(0, "Index of boost_indiv_choices at start.")
    boost_gamma_default_idx: int = option(0, "Index of boost_gamma_choices at start.")
    grad_norm_blur_radius: float = option(4.0, "Gaussian sigma of the normblur back view, in pixels.")
    init_show_label_predictions: bool = option(True, "Show top-5 class labels in the aux pane at start.")
    init_show_unit_jpgs: bool = option(True, "Show the per-unit images pane at start.")
    key_overrides: dict[str, tuple[str, ...]] = option({}, "Key overrides: {action_id: ('key', ...)} replacing the "
                                                           "default keys of that action.", check=_binds_each_key_once)
    window_background: RGB = option((0.2, 0.2, 0.2), "Window background colour (RGB in [0, 1]).")
    stale_background: RGB = option((0.3, 0.3, 0.2), "Background of a pane whose picture is out of date (RGB).")
    layer_clr_cursor: RGB = option((0.5, 1.0, 0.5), "Outline of the selected unit in the grid, and the highlight "
                                                   "colour (RGB).")
    layer_clr_back_background: RGB = option((0.2, 0.2, 0.5), "Padding between the grid's tiles while it shows "
                                                            "backward maps (RGB).")
    layer_clr_back_sel: RGB = option((0.2, 0.2, 1.0), "Outline of the unit the frozen backprop starts at (RGB).")
    class_clr_0: RGB = option((0.5, 0.5, 0.5), "Colour of an aux-pane label with value 0 (RGB; labels are "
                                              "coloured between the two).")
    class_clr_1: RGB = option((0.5, 1.0, 0.5), "Colour of an aux-pane label with value 1 (RGB).")
    control_clr: RGB = option((0.745, 0.745, 0.745), (
        "Layer-list text colour of other layers (the original's caffevis_control_clr; its grey was (.8, .8, .8))."))
    control_clr_selected: RGB = option((1.0, 1.0, 1.0), "Layer-list colour of the current layer while the cursor "
                                                        "is in the grid.")
    control_clr_cursor: RGB = option((0.5, 1.0, 0.5), "Layer-list colour of the current layer while the cursor is "
                                                      "on the list.")
    control_clr_bp: RGB = option((0.55, 0.745, 1.0), "Layer-list colour of the layer holding the frozen backprop "
                                                      "origin (the original's blue was (.8, .8, 1)).")
    font_scale: float = option(1.0, "Factor on every font size of the window: status line, layer list, aux-pane "
                                    "text, help (the original's global_font_size).", above=0, maximum=10)
    debug_window_panes: bool = option(False, "Outline each pane and write its name over it, for checking the "
                                             "layout (the original's debug_window_panes).")
    buttons_pane: bool = option(False, (
        "Show a column of buttons right of the panes, one per key binding (grouped as in the help screen, labelled "
        "with the bound key): a click does what the key does (the arikpoz fork's `caffevis_buttons` pane)."))

    # --- backprop and attribution --------------------------------------------------------
    method_options: dict[str, dict[str, Any]] = option({}, (
        "Options of the back-pane methods, per method, over their defaults, e.g. {'occlusion': {'window': 32, "
        "'stride': 16}, 'smoothgrad': {'samples': 32}}. Every method's options, defaults and meaning: `deepvis "
        "attribute --help` (declared in core/methods/)."))

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def setting_names(cls: type = Settings) -> tuple[str, ...]:
    """All setting names, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def setting_docs(cls: type = Settings) -> dict[str, str]:
    """Each setting's documentation line, from its declaration: help text and rules."""
    return {f.name: doc_line(f) for f in option_fields(cls)}
