"""Image <-> network input, in one place, and its inverse for display.

Every path that feeds the network (GUI frames, `deepvis classify`, the per-unit pipeline)
goes through `Preprocessor`, so the crop/stretch, channel order, scaling and mean/std are the
same everywhere. An RGB image already at the input size goes in unresized: it is only scaled
to [0, 1] and normalized. The mean is per channel (`mean`), or a mean image (`mean_image`, the
original's caffevis_data_mean file: its centre crop at the input size, or with
`generate_channelwise_mean` that crop's per-channel average, as the original's set_mean).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2gray

from deepvis_app.core.nn import pairs
from deepvis_app.io.image_arrays import as_rgb_uint8
from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.loader import SettingsError, validate


def center_crop_to_aspect(image: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred crop with width/height == aspect."""
    height, width = image.shape[:2]
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        left = (width - new_width) // 2
        return image[:, left:left + new_width]
    new_height = max(1, round(width / aspect))
    top = (height - new_height) // 2
    return image[top:top + new_height]


def resize_uint8(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an HxWxC uint8 image to (height, width): area averaging when shrinking, bilinear when growing.

    OpenCV's uint8 resize is ~20x faster than skimage's float anti-aliased resize, which matters on the
    live path (one resize per camera frame).
    """
    import cv2

    if image.shape[:2] == tuple(size):
        return image
    shrinking = size[0] < image.shape[0] or size[1] < image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = cv2.resize(np.ascontiguousarray(image), (size[1], size[0]), interpolation=interpolation)
    return out.reshape(size[0], size[1], *image.shape[2:])


class Preprocessor:
    """Turns RGB frames into network input tensors and network inputs back into RGB images."""

    def __init__(self, settings: Settings):
        height, width = settings.input_size
        self.input_size = (int(height), int(width))
        self.channels = settings.input_channels
        self.two_inputs = settings.two_inputs
        # a fitted frame: the input size, or the pair side by side for a two-input network (core.pairs)
        self.frame_size = pairs.frame_size(self.input_size, self.two_inputs)
        # (C, H, W) of one network input: a pair's channels stacked (core.pairs)
        self.network_shape = (pairs.network_channels(self.channels, self.two_inputs), *self.input_size)
        self.stretch = settings.static_file_stretch_mode
        self.bgr = settings.channel_order.upper() == "BGR"
        self.scale = float(settings.input_scale)
        self.std = np.asarray(settings.std, dtype=np.float32).reshape(-1, 1, 1)
        problems = validate(settings, {})  # the loader already checked settings it built; this is for the rest
        if problems:
            raise SettingsError(problems)
        # (C, H, W) at the input size, or None; `mean` stays per channel (C, 1, 1) for the callers
        # that need one value a channel (a mean image contributes its per-channel average there)
        self.mean_image: np.ndarray | None = None
        if settings.mean_image is None:
            self.mean = np.asarray(settings.mean, dtype=np.float32).reshape(-1, 1, 1)
        else:
            cropped = load_mean_image(settings.mean_image, self.channels, self.input_size)
            self.mean = cropped.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
            self.mean_image = None if settings.generate_channelwise_mean else cropped

    def _mean_for(self, chw: np.ndarray) -> np.ndarray:
        """The mean image for an input-size array, else the per-channel mean."""
        if self.mean_image is not None and chw.shape[-2:] == self.mean_image.shape[1:]:
            return self.mean_image
        return self.mean

    def fit_frame(self, image: np.ndarray, stretch: bool | None = None) -> np.ndarray:
        """RGB uint8 frame at the network's input size (a two-input network's: the pair's size, a
        camera frame then holding both images): centre-cropped (or stretched), resized."""
        return self._fit(image, self.frame_size, stretch)

    def fit_pair(self, first: np.ndarray, second: np.ndarray, stretch: bool | None = None) -> np.ndarray:
        """Two images fitted to the input size each, side by side: a two-input network's frame."""
        size = self.input_size
        return pairs.join_frames(self._fit(first, size, stretch), self._fit(second, size, stretch))

    def _fit(self, image: np.ndarray, size: tuple[int, int], stretch: bool | None) -> np.ndarray:
        rgb = as_rgb_uint8(image)
        stretch = self.stretch if stretch is None else stretch
        if rgb.shape[:2] == size:
            return rgb
        height, width = size
        cropped = rgb if stretch else center_crop_to_aspect(rgb, width / height)
        return resize_uint8(cropped, size)

    def to_array(self, frame: np.ndarray) -> np.ndarray:
        """A fitted RGB uint8 frame as a normalized CxHxW float32 array (a pair: both images' channels)."""
        if self.two_inputs:
            first, second = pairs.split_frame(as_rgb_uint8(frame))
            return np.concatenate([self._image_array(first), self._image_array(second)])
        return self._image_array(frame)

    def _image_array(self, frame: np.ndarray) -> np.ndarray:
        rgb = as_rgb_uint8(frame)
        if self.channels == 1:
            chw = rgb2gray(rgb.astype(np.float32) / 255.0).astype(np.float32)[None]
            return np.ascontiguousarray((chw * self.scale - self._mean_for(chw)) / self.std, dtype=np.float32)
        pixels = rgb.transpose(2, 0, 1)
        pixels = pixels[::-1] if self.bgr else pixels
        # (x / 255 * scale - mean) / std in two passes over one (C, H, W) array (the live path's every
        # frame: no temporary per step)
        chw = np.multiply(pixels, (self.scale / 255.0) / self.std, dtype=np.float32, order="C")
        chw -= self._mean_for(chw) / self.std
        return chw

    def to_tensor(self, image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """Any RGB image as a 1xCxHxW network input on `device`."""
        return torch.from_numpy(self.to_array(self.fit_frame(image)))[None].to(device)

    def batch(self, images: list[np.ndarray], device: torch.device | str = "cpu") -> torch.Tensor:
        """Several images as one NxCxHxW batch."""
        arrays = [self.to_array(self.fit_frame(img)) for img in images]
        return torch.from_numpy(np.stack(arrays)).to(device)

    def to_image(self, tensor: torch.Tensor | np.ndarray) -> np.ndarray:
        """Inverse of `to_array`: a CxHxW (or 1xCxHxW) network input as an HxWx3 uint8 image."""
        chw = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
        chw = chw[0] if chw.ndim == 4 else chw
        if self.two_inputs and chw.shape[0] == 2 * self.channels:
            return pairs.join_frames(self.to_image(chw[:self.channels]), self.to_image(chw[self.channels:]))
        pixels = (chw.astype(np.float32) * self.std + self._mean_for(chw)) / self.scale
        pixels = pixels[::-1] if (self.bgr and self.channels == 3) else pixels
        return as_rgb_uint8(np.clip(pixels.transpose(1, 2, 0), 0.0, 1.0))


def load_mean_image(path: str, channels: int, input_size: tuple[int, int]) -> np.ndarray:
    """The `mean_image` file as float32 (C, H, W) cropped to `input_size` at its centre (the original's
    set_mean); `SettingsError` naming the file for a missing, unreadable or ill-shaped one."""
    def bad(why: str) -> SettingsError:
        return SettingsError([f"setting 'mean_image' = {path!r}: {why}"])

    if not str(path).lower().endswith(".npy"):
        raise bad("only .npy mean images are read (convert a Caffe .binaryproto with "
                  "caffe.io.blobproto_to_array and numpy.save)")
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise bad("no such file") from None
    except (OSError, ValueError) as exc:
        raise bad(f"not a numpy .npy array ({exc})") from None
    data = data[0] if data.ndim == 4 and data.shape[0] == 1 else data
    if data.ndim != 3 or data.shape[0] != channels or not np.issubdtype(data.dtype, np.number):
        raise bad(f"expected a numeric array of {channels} x height x width (channels first), got shape "
                  f"{data.shape} of {data.dtype}")
    excess_h, excess_w = data.shape[1] - input_size[0], data.shape[2] - input_size[1]
    if excess_h < 0 or excess_w < 0:
        raise bad(f"{data.shape[1]} x {data.shape[2]} is smaller than input_size {input_size[0]} x {input_size[1]}")
    top, left = excess_h // 2, excess_w // 2
    cropped = data[:, top:top + input_size[0], left:left + input_size[1]].astype(np.float32)
    if not np.isfinite(cropped).all():
        raise bad("holds values that are not finite")
    return np.ascontiguousarray(cropped)
