"""Two-input (siamese) networks as one-input networks: the pair travels as one tensor.

The original toolbox fed a siamese Caffe net both images stacked along the channels
(``concat_channelwise``) or side by side (``concat_along_width``). deepvis keeps one convention
everywhere: a *frame* of a two-input network is the pair side by side (H, 2W, 3), what the input pane
shows, and the *network input* is both images' channels stacked, (B, 2C, H, W). Every method then
works unchanged, and a map at the input (B, 2C, H, W) splits into one map per image (`side_by_side`
shows them as the frame is shown). The `two_inputs` setting says how the network takes the pair:

- ``"channels"``: as it is (a 2C-channel network);
- ``"width"``: one C-channel input of both images side by side (a pre-hook concatenates the halves);
- ``"arguments"``: ``forward(first, second)`` (a pre-hook splits the channels into two arguments).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

MODES = ("arguments", "channels", "width")


def network_channels(channels: int, two_inputs: str | None) -> int:
    """Channels of the network input tensor for images of ``channels`` channels."""
    return channels * 2 if two_inputs else channels


def frame_size(input_size: tuple[int, int], two_inputs: str | None) -> tuple[int, int]:
    """(height, width) of a fitted frame: the pair side by side for a two-input network."""
    height, width = input_size
    return (height, width * 2) if two_inputs else (height, width)


def install_split(model: nn.Module, two_inputs: str | None, channels: int) -> None:
    """The forward pre-hook that hands ``model`` the pair the way it takes it (see the docstring)."""
    if two_inputs in (None, "channels"):
        return

    def split(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]
        first, second = x[:, :channels], x[:, channels:]
        if two_inputs == "width":
            return (torch.cat([first, second], dim=3), *args[1:])
        return (first, second, *args[1:])

    model.register_forward_pre_hook(split)


def split_frame(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and second image of a side-by-side frame (H, 2W, ...)."""
    half = frame.shape[1] // 2
    return frame[:, :half], frame[:, half:half * 2]


def side_by_side(chw: np.ndarray, channels: int) -> np.ndarray:
    """A (2C, H, W) map at the network input as (C, H, 2W): the first image's map left of the second's."""
    return np.concatenate([chw[:channels], chw[channels:channels * 2]], axis=2)


def join_frames(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two images of the same height side by side."""
    return np.ascontiguousarray(np.concatenate([first, second], axis=1))


def shown_part(image: np.ndarray, view: str, axis: int = 1) -> np.ndarray:
    """What a pair view shows of a side-by-side ``image`` (split along ``axis``): "both", "first", "second"."""
    if view == "both":
        return image
    half = image.shape[axis] // 2
    index = slice(0, half) if view == "first" else slice(half, half * 2)
    return image[(slice(None),) * axis + (index,)]
