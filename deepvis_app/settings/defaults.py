"""Every setting deepvis knows, with its default and what it does.

This is the lowest settings layer and the only list of names: model files
(`models/<name>/settings.py`), `settings/settings_local.py` and `--set key=value` may only
assign names defined here, so a typo is an error with a did-you-mean instead of a silently
ignored value (the original toolbox's `locals().get(...)` scheme could not tell).
Paths are resolved by the loader against the file that set them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The `weights` value that asks for random weights (a model whose default weights file is missing is
# refused otherwise; running on random weights prints one warning line).
RANDOM_WEIGHTS = "random"

# Fields whose string values are file-system paths, resolved against the file that set them.
PATH_FIELDS = frozenset({"weights", "labels", "unit_vis_dir", "static_files_dir", "model_dir", "mean_image",
                         "similar_to"})


@dataclass(frozen=True)
class Settings:
    """The merged settings; every field is documented by the comment block above it."""

    # --- model ---------------------------------------------------------------------------
    # Model name: a folder under models/, `torchvision:<name>` (any family: classification,
    # segmentation, detection), `timm:<name>` (pip install 'deepvis[timm]'), `hf:<folder>` (a
    # transformers save_pretrained folder; pip install 'deepvis[hf]'), or `package.module:factory`.
    model: str = "efficientnet_lite0"
    # Folder of the model's settings.py (filled in by the loader; used to find its files).
    model_dir: str | None = None
    # How to build the network: `torchvision:<name>`, `timm:<name>`, `hf:<folder>`,
    # `package.module:factory`, or a callable returning an nn.Module. None: derived from `model`.
    builder: Any = None
    # Keyword arguments for the builder, e.g. {"num_classes": 6} (torchvision, timm, a factory) or
    # config overrides (hf). torchvision-style `weights`/`weights_backbone` are always None.
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    # Weights file: a torch checkpoint (state dict or whole-model pickle) or a .safetensors file.
    # None: the builder's own (torchvision: its torch hub cache file, refused when missing);
    # "random": run on random weights (one warning line says so).
    weights: str | None = None
    # Allow checkpoints that need pickle code execution (torch.load(weights_only=False)).
    trust_checkpoint: bool = False
    # Input size (height, width) the network is fed.
    input_size: tuple[int, int] = (224, 224)
    # Number of input channels: 3 (RGB) or 1 (grayscale).
    input_channels: int = 3
    # Per-channel mean and std applied after scaling pixels to [0, 1].
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    # A mean *image* subtracted instead of `mean` (the original's caffevis_data_mean file): a .npy
    # array C x H x W (or 1 x C x H x W) in the network's channel order and input units (after
    # input_scale: 0..255 for Caffe models), at least input_size; its centre is cropped to input_size.
    mean_image: str | None = None
    # Subtract the per-channel average of `mean_image` instead of the whole image (the original's
    # generate_channelwise_mean). Without a mean_image, `mean` is per channel already.
    generate_channelwise_mean: bool = False
    # Channel order the network expects: "RGB" or "BGR" (Caffe-converted models).
    channel_order: str = "RGB"
    # Multiply [0, 1] pixels by this before mean/std (255 for Caffe-style 0..255 inputs).
    input_scale: float = 1.0
    # Class-name file (one label per line), or None for numbered classes.
    labels: str | None = None
    # Compute device: "auto" (cuda when available), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"

    # --- layers --------------------------------------------------------------------------
    # Layers shown, by dotted module name, in forward order. None: discovered automatically.
    layers: tuple[str, ...] | None = None
    # Module kinds (class names) offered when `layers` is None.
    layer_kinds: tuple[str, ...] = (
        "Conv2d", "Linear", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "ReLU6",
        "BasicBlock", "Bottleneck", "Inception", "Fire", "MBConvBlock", "BasicConv2d",
        "Conv2dNormActivation", "InvertedResidual", "MBConv",
    )
    # Optional function name -> bool; False hides a layer (the original's caffevis_filter_layers).
    layer_filter: Callable[[str], bool] | None = None
    # Hide layers whose output is the very tensor another shown layer already emits.
    hide_repeated_outputs: bool = True
    # Vision transformers: token outputs are shown as their patch grid, inferred for square grids
    # (core/tokens.py). Per layer-name prefix ("" for all, the longest wins): the grid (h, w) of
    # (B, k + h*w, C) tokens or channels-last (B, h, w, C) outputs, or None for no reshape.
    token_grid: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    # Pretty names: a dict {name: pretty} or a function name -> pretty.
    pretty_names: Any = None
    # Layer whose output is class scores (labels shown for it). None: the last layer.
    output_layer: str | None = None
    # Apply softmax to the output layer to show probabilities.
    output_is_logits: bool = True
    # What of the model's output is explained, when it returns more than a tensor (a tuple or list,
    # a dict, a Hugging Face ModelOutput): a key or attribute name ("out", "logits",
    # "pooler_output") or an index. None: chosen (logits, then out, then pooler_output / image_embeds,
    # then the first tensor); `deepvis layers` and the status line say which (core/outputs.py).
    output: str | int | None = None
    # What kind of prediction that output is: "classes" (B, K), "dense" (B, K, H, W: segmentation;
    # a class is explained summed over a region), "detection" (torchvision's list of dicts with
    # boxes/scores/labels; a detection's score is explained), "embedding" (B, D: the cosine
    # similarity to a reference image's embedding is explained), or "auto" (from the output's shape
    # and name).
    output_kind: str = "auto"
    # Two-input (siamese) networks, the original's is_siamese / siamese_input_mode: None (one image),
    # "arguments" (forward(first, second)), "channels" (one input of both images' channels stacked:
    # the original's concat_channelwise) or "width" (one input of both images side by side: its
    # concat_along_width). A frame is then the pair side by side: a pair list (two paths a line) or
    # `--input first.jpg,second.jpg` builds it; a camera frame is split at its middle.
    two_inputs: str | None = None
    # Embedding models: the image (a file or sample:<name>) whose embedding the similarity is measured
    # to, from the start (`P` in the window pins the frame shown instead; `--similar-to` in the CLI).
    similar_to: str | None = None
    # Layers whose units are classes (the original's caffevis_label_layers): with the cursor in
    # their grid, the aux pane shows the selected unit's label and its probability. None: the
    # output layer; () : none.
    label_layers: tuple[str, ...] | None = None

    # --- per-unit images -----------------------------------------------------------------
    # Root of the per-unit images (max_im/, max_deconv/, regularized_opt/). None: <model_dir>/unit_vis.
    unit_vis_dir: str | None = None
    # Layers that have per-unit images; None: any layer found on disk.
    jpgvis_layers: tuple[str, ...] | None = None
    # Show another layer's images for a layer, e.g. {"features.1": "features.0"}.
    jpgvis_remap: dict[str, str] = field(default_factory=dict)
    # Byte budget of the in-memory unit-image cache, in MiB.
    jpg_cache_mib: int = 512
    # Compute the selected unit's per-unit images on demand when none are on disk.
    unit_images_on_demand: bool = True
    # What the per-unit pane shows under the top-9 images, and what `deepvis crops` writes:
    # "deconv" (Zeiler-Fergus, max_deconv/), "guided" (guided backprop, max_guided/), "gradient"
    # (plain backprop, max_backprop/), or "auto": deconv when the model has max-pool switches,
    # guided otherwise (without max-pooling every deconv of a unit is the same picture).
    unit_backprop: str = "auto"
    # Black out the per-unit pane's top images (and their backward images) whose find-max value is
    # zero or negative: the unit did not respond to them (the arikpoz fork's
    # caffevis_clear_negative_activations; see core/unitvis/inactive_images.py).
    clear_negative_activations: bool = False
    # The optimize-unit key (g) computes the selected unit's optimized image in the background when
    # it is pressed: with this preset of `deepvis optimize` (yosinski1-4, cnnvis, lucent) cut to this
    # many steps (200 yosinski3 steps: about 30 s for _blocks.5 of the default model on 2 CPU cores).
    optimize_on_request_preset: str = "yosinski3"
    optimize_on_request_steps: int = 200
    # Stack the per-unit pane's three images (optimized image, top-9, their deconvs) one below the
    # other in a column right of the grid; False: side by side in a row under the grid (the
    # original's caffevis_jpgvis_stack_vert).
    unit_images_stack_vertical: bool = True

    # --- inputs --------------------------------------------------------------------------
    # Image folder for static files; None: the built-in sample images (skimage.data).
    static_files_dir: str | None = None
    # Regular expression selecting image files in the folder.
    static_files_regexp: str = r".*\.(jpg|jpeg|png|bmp|tif|tiff|webp)$"
    # Match static_files_regexp ignoring case (the original's static_files_ignore_case): False makes
    # "PNG" and "png" differ, for folders and dropped files alike.
    static_files_ignore_case: bool = True
    # Stretch static files to the input aspect instead of centre-cropping.
    static_file_stretch_mode: bool = False
    # Camera index (or stream URL) to start with; None: start with the static files (`c` then tries camera 0,
    # as the original did).
    capture_device: int | None = None
    # Mirror camera frames left-right (as the original did).
    camera_mirror: bool = True
    # Seconds between camera reads (the original capped the camera at 20 fps).
    camera_sleep_s: float = 0.05
    # Seconds between retries of a missing or unplugged camera.
    camera_retry_s: float = 2.0
    # Play video files at their own frame rate; False: as fast as they decode (benchmarks).
    video_paced: bool = True
    # Largest image (width x height, read from the file header before decoding) any reader accepts:
    # command line, input list, find-max and crops; also the largest H x W of a .npy input. Larger
    # files are refused with a message naming them (a 7 KB JPEG can claim 32768x32768 = 3 GiB decoded).
    max_image_pixels: int = 50_000_000

    # --- view ----------------------------------------------------------------------------
    # Window size (width, height) at start.
    window_size: tuple[int, int] = (1500, 930)
    # Aspect ratio (width/height) the unit grid aims for.
    layers_aspect_ratio: float = 1.0
    # Units moved by the Shift+direction keys.
    fast_move_dist: int = 3
    # Boost choices (cycled by T and t) and their starting index.
    boost_indiv_choices: tuple[float, ...] = (0.0, 0.3, 0.5, 0.8, 1.0)
    boost_gamma_choices: tuple[float, ...] = (1.0, 0.7, 0.5, 0.3)
    boost_indiv_default_idx: int = 0
    boost_gamma_default_idx: int = 0
    # Gaussian sigma of the normblur back view, in pixels.
    grad_norm_blur_radius: float = 4.0
    # Show top-5 class labels in the aux pane at start.
    init_show_label_predictions: bool = True
    # Show the per-unit images pane at start.
    init_show_unit_jpgs: bool = True
    # Key overrides: {action_id: ("key", ...)} replacing the default keys of that action.
    key_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Colours (RGB in [0, 1]).
    window_background: tuple[float, float, float] = (0.2, 0.2, 0.2)
    stale_background: tuple[float, float, float] = (0.3, 0.3, 0.2)
    layer_clr_cursor: tuple[float, float, float] = (0.5, 1.0, 0.5)
    layer_clr_back_background: tuple[float, float, float] = (0.2, 0.2, 0.5)
    layer_clr_back_sel: tuple[float, float, float] = (0.2, 0.2, 1.0)
    class_clr_0: tuple[float, float, float] = (0.5, 0.5, 0.5)
    class_clr_1: tuple[float, float, float] = (0.5, 1.0, 0.5)
    # Layer-list text colours (the original's caffevis_control_clr*): other layers; the current
    # layer while the cursor is in the grid; the current layer while the cursor is on the list;
    # the layer holding the frozen backprop origin. (The original's grey and blue were (.8, .8, .8)
    # and (.8, .8, 1).)
    control_clr: tuple[float, float, float] = (0.745, 0.745, 0.745)
    control_clr_selected: tuple[float, float, float] = (1.0, 1.0, 1.0)
    control_clr_cursor: tuple[float, float, float] = (0.5, 1.0, 0.5)
    control_clr_bp: tuple[float, float, float] = (0.55, 0.745, 1.0)
    # Factor on every font size of the window: status line, layer list, aux-pane text, help
    # (the original's global_font_size).
    font_scale: float = 1.0
    # Outline each pane and write its name over it, for checking the layout (the original's
    # debug_window_panes).
    debug_window_panes: bool = False
    # Show a column of buttons right of the panes, one per key binding (grouped as in the help
    # screen, labelled with the bound key): a click does what the key does (the arikpoz fork's
    # `caffevis_buttons` pane).
    buttons_pane: bool = False

    # --- backprop and attribution --------------------------------------------------------
    # Options of the back-pane methods, per method, over their defaults, e.g.
    # {"occlusion": {"window": 32, "stride": 16}, "smoothgrad": {"samples": 32}}. Every method's
    # options, defaults and meaning: `deepvis attribute --help` (declared in core/methods.py).
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def setting_names() -> tuple[str, ...]:
    """All setting names, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(Settings))


def setting_docs() -> dict[str, str]:
    """Each setting's comment text, read from this file: the comments are the documentation.

    Consecutive fields under one comment share it.
    """
    import inspect
    import re

    docs: dict[str, str] = {}
    comment: list[str] = []
    last_doc = ""
    for line in inspect.getsource(Settings).splitlines():
        text = line.strip()
        field_match = re.match(r"^([a-z_][a-z0-9_]*)\s*:", text)
        if text.startswith("# ---"):
            comment = []
        elif text.startswith("#"):
            comment.append(text.lstrip("# "))
        elif field_match and line.startswith("    ") and not line.startswith("     "):
            if comment:
                last_doc, comment = " ".join(comment), []
            docs[field_match.group(1)] = last_doc
    return docs
