"""Settings files written for the original Deep Visualization Toolbox load here.

The original's `settings_local.py` names viewer settings `caffevis_<name>`, describes the network
with Caffe files, and lays out one OpenCV window in pixels. Users bring such files along, so the
loader hands every name it does not know to `translate`, which returns what it means here:

- a `caffevis_*` name whose rest is one of our settings maps to it (`caffevis_boost_gamma_choices`
  -> `boost_gamma_choices`), others through `RENAMES` (with a value conversion where the meaning
  differs: the original's layer filter returns True to *hide* a layer, ours False);
- the window settings: `window_panes` gives the window size (the extent of its panes), whether
  the per-unit pane (`caffevis_jpgvis`) is shown and whether the buttons pane (`caffevis_buttons`,
  arikpoz's fork) is, our `buttons_pane`; `global_scale` scales that size;
  `global_font_size` is our `font_scale`, `caffevis_jpgvis_stack_vert` our
  `unit_images_stack_vertical`, `caffevis_control_clr*` our `control_clr*` (the layer list's
  colours); `debug_window_panes` has the same name here, so it never reaches this module;
- `caffevis_data_mean` naming a .npy file is our `mean_image` (`generate_channelwise_mean` is ours
  too); given as values per channel it gets a note on how to set `mean`;
- Caffe-only settings (`caffe_root`, `deploy_prototxt`, `network_weights`, ...) and
  OpenCV-window tweaks (font faces, text positions, polling sleeps) are not applied; each gets one note saying what to
  use instead or why it does not apply.

`%DVT_ROOT%` in a path (the original's toolbox folder) is the folder of the settings file. A path
setting whose file does not exist is dropped with a note instead of failing the model load. Names
that are neither ours nor the original's stay errors (a typo of our own names must not pass).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

DVT_ROOT = "%DVT_ROOT%"
PREFIX = "caffevis_"
PANES_SETTING = "window_panes"
UNIT_IMAGES_PANE = "caffevis_jpgvis"
BUTTONS_PANE = "caffevis_buttons"   # arikpoz's fork: a clickable menu of the keys, our `buttons_pane`


def _hide_to_show(hide: Any) -> Any:
    """The original's `caffevis_filter_layers(name)` is True for layers to hide; ours is True to show."""
    if not callable(hide):
        return hide

    def layer_filter(name: str) -> bool:
        return not hide(name)
    return layer_filter


def _bytes_to_mib(value: Any) -> Any:
    return max(10, int(value) >> 20) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _gpu_device(value: Any) -> Any:
    return "auto" if value is True else "cpu" if value is False else value


# original name -> (our name, value conversion or None)
RENAMES: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
    "caffevis_unit_jpg_dir": ("unit_vis_dir", None),
    "caffevis_prob_layer": ("output_layer", None),
    "caffevis_layer_pretty_name_fn": ("pretty_names", None),
    "caffevis_filter_layers": ("layer_filter", _hide_to_show),
    "caffevis_jpg_cache_size": ("jpg_cache_mib", _bytes_to_mib),
    "caffevis_mode_gpu": ("device", _gpu_device),
    "caffevis_gpu_id": ("device", lambda index: f"cuda:{index}"),
    "input_updater_capture_device": ("capture_device", None),
    "input_updater_sleep_after_read_frame": ("camera_sleep_s", None),
    "caffevis_jpgvis_stack_vert": ("unit_images_stack_vertical", None),
    "global_font_size": ("font_scale", None),
}
PATH_SETTINGS = frozenset({"labels", "unit_vis_dir", "static_files_dir", "mean_image"})
MEAN_SETTING = "caffevis_data_mean"   # a file: our mean_image; values per channel: see INSTEAD

_NO_CAFFE = "not needed: deepvis runs on PyTorch, there is no Caffe to build or point to"
_NO_POLLING = "not needed: deepvis's threads wake on events (no polling loop, sleeps or heartbeats)"
_QT_TEXT = ("ignored: Qt lays out the text of each pane (the OpenCV window's font faces, sizes and "
            "positions do not apply; global_font_size scales all fonts, caffevis_control_clr* colour the layer list)")
# original name -> what to use instead (one line, shown as a note)
INSTEAD: dict[str, str] = {
    "caffevis_caffe_root": _NO_CAFFE,
    "caffe_root": _NO_CAFFE,
    "caffevis_deploy_prototxt": "set `model` to the PyTorch network: a models/<name> folder, "
                                "'torchvision:<name>' or 'package.module:factory'",
    "deploy_prototxt": "set `model` to the PyTorch network (see caffevis_deploy_prototxt)",
    "caffevis_network_weights": "set `weights` to a PyTorch state dict or checkpoint (convert the .caffemodel first)",
    "network_weights": "set `weights` to a PyTorch state dict or checkpoint",
    MEAN_SETTING: "values per channel: set `mean` and `std` for pixels in [0, 1]; for Caffe-converted weights: "
                  "mean = the 0..255 means in the network's channel order, std = (1, 1, 1), input_scale = 255, "
                  "channel_order = 'BGR'",
    "caffe_net_channel_swap": "set `channel_order` ('BGR' for Caffe-converted weights, else 'RGB')",
    "caffe_net_raw_scale": "set `input_scale` (255 for Caffe-style 0..255 inputs)",
    "caffe_net_input_scale": "set `std`",
    "caffe_net_image_dims": "set `input_size` (height, width)",
    "caffe_net_transpose": "not needed: PyTorch inputs are channels x height x width",
    "is_gray_model": "set `input_channels = 1`",
    "installed_apps": "not needed: deepvis has the one visualization app",
    "default_window_panes": "ignored: set window_panes (the original refused this name too)",
    "caffevis_outputs_dir": "set `unit_vis_dir` to a folder written by `deepvis find-max` / `crops` / `optimize`",
    "static_files_input_mode": "pass the list file to --input instead (for 'siamese_image_list', a line names "
                               "two images: set is_siamese or two_inputs too)",
    # names only arikpoz's fork of the toolbox uses
    "layers_list": "set `layers` (a list of layer names) instead",
    "max_tracker_batch_size": "pass `deepvis find-max --batch N` instead",
    "static_files_input_file": "pass the list file to --input instead",
    "help_pane_loc": _QT_TEXT,
    "caffevis_pause_after_keys": "not needed: a key cancels the computation it makes stale at once, "
                                 "so nothing waits for key presses to settle",
}
for _name in ("caffevis_frame_wait_sleep", "caffevis_jpg_load_sleep", "caffevis_heartbeat_required",
              "input_updater_heartbeat_required", "main_loop_sleep_ms", "keypress_pause_handle_iterations",
              "keypress_pause_redraw_iterations", "redraw_at_least_every", "print_dots"):
    INSTEAD[_name] = _NO_POLLING
_TEXT_STYLE = re.compile(r"^(help_|caffevis_(control|status|class|label|layer|score)_)"
                         r"|_(face|fsize|thick|loc|line_spacing)$")
_WINDOW_NAMES = frozenset({PANES_SETTING, "global_scale"})
# arikpoz's fork: is_siamese with siamese_input_mode -> two_inputs (see core/pairs.py)
_SIAMESE_MODES = {"concat_channelwise": "channels", "concat_along_width": "width"}
_SIAMESE_NAMES = frozenset({"is_siamese", "siamese_input_mode"})


@dataclass
class Translation:
    """What a file's foreign names mean here: values to set, notes (one line each), names left unknown."""

    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def expand_dvt_root(value: Any, base_dir: Path | None) -> Any:
    """`%DVT_ROOT%/x` -> `<folder of the settings file>/x` (the original's toolbox folder)."""
    if isinstance(value, str) and DVT_ROOT in value and base_dir is not None:
        return value.replace(DVT_ROOT, str(base_dir))
    return value


def translate(foreign: Mapping[str, Any], ours: Mapping[str, Any], known: frozenset[str] | set[str],
              base_dir: Path | None) -> Translation:
    """Translate the names of one settings file that are not ours (`ours`: the names it set that are)."""
    result = Translation()
    for name, value in foreign.items():
        if name in _WINDOW_NAMES or name in _SIAMESE_NAMES:
            continue
        target = _target(name, known, value)
        if target is not None and target in ours:
            result.notes.append(f"{name}: not applied, the file also sets `{target}`")
        elif target is not None and target in known:
            _map_value(name, target, expand_dvt_root(value, base_dir), result)
        elif target is not None:
            result.notes.append(f"{name}: no counterpart here (deepvis has no `{target}`); ignored")
        elif name in INSTEAD:
            result.notes.append(f"{name}: {INSTEAD[name]}")
        elif _TEXT_STYLE.search(name):
            result.notes.append(f"{name}: {_QT_TEXT}")
        elif name.startswith(PREFIX):
            result.notes.append(f"{name}: a setting of the original toolbox with no counterpart here; ignored")
        else:
            result.unknown.append(name)
    _window(foreign, ours, known, result)
    _siamese(foreign, ours, result)
    return result


def _siamese(foreign: Mapping[str, Any], ours: Mapping[str, Any], result: Translation) -> None:
    """is_siamese (and siamese_input_mode, default concat_channelwise) as our two_inputs."""
    if not any(name in foreign for name in _SIAMESE_NAMES):
        return
    mode = foreign.get("siamese_input_mode", "concat_channelwise")
    if not foreign.get("is_siamese", False):
        result.notes.append("siamese_input_mode: not applied, is_siamese is not True")
    elif "two_inputs" in ours:
        result.notes.append("is_siamese: not applied, the file also sets `two_inputs`")
    elif mode not in _SIAMESE_MODES:
        result.notes.append(f"siamese_input_mode: {mode!r} is not one of {', '.join(_SIAMESE_MODES)}; "
                            f"set `two_inputs` (\"channels\", \"width\" or \"arguments\")")
    else:
        result.values["two_inputs"] = _SIAMESE_MODES[mode]


def _target(name: str, known: frozenset[str] | set[str], value: Any = None) -> str | None:
    if name == MEAN_SETTING:  # a mean image file maps to mean_image; values per channel get the note
        return "mean_image" if isinstance(value, str) else None
    if name in RENAMES:
        return RENAMES[name][0]
    if name.startswith(PREFIX) and name[len(PREFIX):] in known:
        return name[len(PREFIX):]
    return None


def _map_value(name: str, target: str, value: Any, result: Translation) -> None:
    convert = RENAMES.get(name, (target, None))[1]
    value = convert(value) if convert is not None else value
    if target in PATH_SETTINGS and isinstance(value, str) and not Path(value).expanduser().exists():
        result.notes.append(f"{name}: {value} does not exist; ignored (set `{target}`)")
        return
    result.values[target] = value


def _window(foreign: Mapping[str, Any], ours: Mapping[str, Any], known: frozenset[str] | set[str],
            result: Translation) -> None:
    """window_panes / global_scale -> window_size and whether the per-unit pane is shown."""
    scale = foreign.get("global_scale", 1.0)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
        result.notes.append(f"global_scale: {scale!r} is not a positive number; ignored")
        scale = 1.0
    size = ours.get("window_size")
    panes = _pane_extent(foreign.get(PANES_SETTING), result)
    if panes is not None:
        size, names = panes
        if UNIT_IMAGES_PANE not in names and "init_show_unit_jpgs" not in ours:
            result.values["init_show_unit_jpgs"] = False
        buttons = BUTTONS_PANE in names and "buttons_pane" not in ours and "buttons_pane" in known
        if buttons:
            result.values["buttons_pane"] = True
        result.notes.append(f"{PANES_SETTING}: window size {size[0]}x{size[1]} (x{scale:g}) taken from it"
                            f"{'' if UNIT_IMAGES_PANE in names else ', per-unit pane hidden (9 shows it)'}"
                            f"{', buttons pane shown' if buttons else ''}; "
                            "pane positions follow deepvis's own arrangement")
    if (panes is not None or scale != 1.0) and "window_size" in known:
        from deepvis_app.settings.defaults import Settings

        width, height = size or Settings.window_size
        result.values["window_size"] = (max(1, round(width * scale)), max(1, round(height * scale)))


def _pane_extent(panes: Any, result: Translation) -> tuple[tuple[int, int], set[str]] | None:
    """((width, height), pane names) of the original's ((name, (top, left, height, width)), ...)."""
    if panes is None:
        return None
    try:
        boxes = {str(name): tuple(int(v) for v in box) for name, box in panes}
        if not boxes or any(len(box) != 4 or min(box) < 0 for box in boxes.values()):
            raise ValueError
    except (TypeError, ValueError):
        result.notes.append(f"{PANES_SETTING}: not a table of (name, (top, left, height, width)); ignored")
        return None
    width = max(left + w for _, left, _, w in boxes.values())
    height = max(top + h for top, _, h, _ in boxes.values())
    return (width, height), set(boxes)
