"""Image priors for activation maximization, batched: one image per row, each treated alone.

Two families, taken from the two codebases whose results users know:

* Yosinski et al. 2015 (the original toolbox's `optimize/gradient_optimizer.py`): after each
  gradient step, L2 decay, a Gaussian blur every k steps, and zeroing pixels with small values,
  small colour norm, or small (absolute) contribution to the objective, each by a percentile of
  *that image's* own pixels. These are projections, not gradient terms.
* cnn-vis (Johnson 2015): p-norm and total-variation penalties with hand-written gradients,
  added to the network's gradient, and an RMSProp step.

All functions take NxCxHxW tensors and never mix rows, so optimizing a batch of units gives each
unit what it would get alone. Percentiles are numpy's default (linear interpolation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def l2_decay(x: torch.Tensor, decay: float) -> torch.Tensor:
    """x * (1 - decay): the original's weight decay on the image."""
    return x * (1.0 - decay)


def gaussian_kernel1d(sigma: float, truncate: float = 4.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """scipy.ndimage's normalized 1-D Gaussian: radius int(truncate * sigma + 0.5)."""
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / kernel.sum()).to(dtype)


def _symmetric_pad(x: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """scipy's 'reflect' mode (d c b a | a b c d | d c b a), which torch's F.pad lacks; any radius."""
    size = x.shape[dim]
    index = torch.arange(-radius, size + radius, device=x.device) % (2 * size)
    index = torch.where(index >= size, 2 * size - 1 - index, index)
    return x.index_select(dim, index)


def gaussian_blur(x: torch.Tensor, sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Blur each channel of each image like scipy.ndimage.gaussian_filter(img[c], sigma) (mode 'reflect')."""
    if sigma <= 0:
        return x
    kernel = gaussian_kernel1d(sigma, truncate, x.dtype).to(x.device)
    radius = (kernel.numel() - 1) // 2
    batch, channels, height, width = x.shape
    flat = x.reshape(batch * channels, 1, height, width)
    flat = F.conv2d(_symmetric_pad(flat, radius, 2), kernel.view(1, 1, -1, 1))
    flat = F.conv2d(_symmetric_pad(flat, radius, 3), kernel.view(1, 1, 1, -1))
    return flat.reshape(batch, channels, height, width)


def per_image_percentile(values: torch.Tensor, percentile: float) -> torch.Tensor:
    """numpy.percentile over each row's values (N x ...), shaped to broadcast back (N x 1 x ...)."""
    flat = values.reshape(values.shape[0], -1)
    q = torch.quantile(flat.double(), percentile / 100.0, dim=1).to(values.dtype)
    return q.view(-1, *([1] * (values.dim() - 1)))


def zero_small_values(x: torch.Tensor, percentile: float) -> torch.Tensor:
    """Zero entries whose |x| is below the image's percentile of |x| (small_val_percentile)."""
    if percentile <= 0:
        return x
    magnitude = x.abs()
    return torch.where(magnitude < per_image_percentile(magnitude, percentile), torch.zeros_like(x), x)


def _zero_pixels(x: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
    """Zero every channel of the pixels where `small` (N x H x W) is true."""
    return torch.where(small[:, None], torch.zeros_like(x), x)


def zero_small_norm(x: torch.Tensor, percentile: float) -> torch.Tensor:
    """Zero pixels whose colour L2 norm is below the image's percentile of norms (theta_n_pct)."""
    if percentile <= 0:
        return x
    norms = torch.linalg.vector_norm(x, dim=1)
    return _zero_pixels(x, norms < per_image_percentile(norms, percentile))


def pixel_benefit(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """sum_c x * (-grad): the first-order gain in the objective from setting a pixel to zero."""
    return (grad * -x).sum(1)


def zero_small_benefit(x: torch.Tensor, grad: torch.Tensor, percentile: float) -> torch.Tensor:
    """Zero pixels whose benefit is below the image's percentile (px_benefit_percentile)."""
    if percentile <= 0:
        return x
    benefit = pixel_benefit(x, grad)
    return _zero_pixels(x, benefit < per_image_percentile(benefit, percentile))


def zero_small_abs_benefit(x: torch.Tensor, grad: torch.Tensor, percentile: float) -> torch.Tensor:
    """Zero pixels whose |benefit| is below the image's percentile (px_abs_benefit_percentile, theta_c_pct)."""
    if percentile <= 0:
        return x
    benefit = pixel_benefit(x, grad).abs()
    return _zero_pixels(x, benefit < per_image_percentile(benefit, percentile))


def p_norm(x: torch.Tensor, p: float, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-image sum |x/s|^p, its gradient): cnn-vis's p-norm penalty."""
    scaled = x / scale
    loss = scaled.abs().pow(p).flatten(1).sum(1)
    grad = (p / scale) * torch.sign(scaled) * scaled.abs().pow(p - 1)
    return loss, grad


# cnn-vis's image-gradient operators (`--tv_grad_operator`): (footprint, x_diff terms, y_diff terms), each
# term (row offset, column offset, coefficient) inside a footprint x footprint window.
TV_OPERATORS: dict[str, tuple[int, tuple[tuple[int, int, float], ...], tuple[tuple[int, int, float], ...]]] = {
    "naive": (2, ((0, 0, 1.0), (0, 1, -1.0)), ((0, 0, 1.0), (1, 0, -1.0))),
    "sobel": (3, ((0, 2, 1.0), (1, 2, 2.0), (2, 2, 1.0), (0, 0, -1.0), (1, 0, -2.0), (2, 0, -1.0)),
              ((2, 0, 1.0), (2, 1, 2.0), (2, 2, 1.0), (0, 0, -1.0), (0, 1, -2.0), (0, 2, -1.0))),
    "sobel_squish": (3, ((0, 1, 1.0), (1, 1, 2.0), (2, 1, 1.0), (0, 0, -1.0), (1, 0, -2.0), (2, 0, -1.0)),
                     ((1, 0, 1.0), (1, 1, 2.0), (1, 2, 1.0), (0, 0, -1.0), (0, 1, -2.0), (0, 2, -1.0))),
}


def tv_norm(x: torch.Tensor, beta: float = 2.0, floor: float = 1e-3, operator: str = "naive"
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-image TV^beta, its gradient) with cnn-vis's difference operators and 1e-3 floor.

    ``operator``: cnn-vis's ``naive`` forward differences (the default), ``sobel`` (3x3 Sobel
    filters) or ``sobel_squish`` (its shifted variant), see `TV_OPERATORS`. Squared gradient
    magnitudes below `floor` are raised to it (cnn-vis does this so that beta < 2 has a finite
    gradient); as in cnn-vis the gradient formula ignores the floor.
    """
    if operator not in TV_OPERATORS:
        raise ValueError(f"unknown tv_grad_operator '{operator}' (choices: {', '.join(TV_OPERATORS)})")
    size, x_terms, y_terms = TV_OPERATORS[operator]
    height, width = x.shape[-2] - size + 1, x.shape[-1] - size + 1

    def window(dy: int, dx: int) -> tuple[slice, slice, slice, slice]:
        return slice(None), slice(None), slice(dy, dy + height), slice(dx, dx + width)

    x_diff = sum(c * x[window(dy, dx)] for dy, dx, c in x_terms)
    y_diff = sum(c * x[window(dy, dx)] for dy, dx, c in y_terms)
    assert isinstance(x_diff, torch.Tensor) and isinstance(y_diff, torch.Tensor)
    norm2 = (x_diff ** 2 + y_diff ** 2).clamp(min=floor)
    loss = norm2.pow(beta / 2.0).flatten(1).sum(1)
    dnorm2 = (beta / 2.0) * norm2.pow(beta / 2.0 - 1.0)
    dx_diff = 2.0 * x_diff * dnorm2
    dy_diff = 2.0 * y_diff * dnorm2
    grad = torch.zeros_like(x)
    for terms, diff in ((x_terms, dx_diff), (y_terms, dy_diff)):
        for dy, dx, c in terms:
            grad[window(dy, dx)] += c * diff
    return loss, grad


def rmsprop_step(grad: torch.Tensor, cache: torch.Tensor | None, decay_rate: float = 0.95
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """(step before the learning rate, new cache): cnn-vis's RMSProp, step = -g / sqrt(cache + 1e-8)."""
    cache = torch.zeros_like(grad) if cache is None else cache
    cache = decay_rate * cache + (1.0 - decay_rate) * grad ** 2
    return -grad / torch.sqrt(cache + 1e-8), cache


def learning_rate(policy: str, lr: float, grad: torch.Tensor, objective: torch.Tensor,
                  max_lr: float = math.inf, desired_prog: float = 2.0, early_prog: float = 2.0,
                  late_prog_mult: float = 0.1) -> torch.Tensor:
    """Per-image step size (N,) for the original's lr policies.

    constant: lr. progress: min(max_lr, desired_prog / |g|^2), so a first-order step gains
    `desired_prog` in the objective. progress01: desired = min(early_prog, late_prog_mult * (1 - obj)),
    for objectives in [0, 1] (softmax outputs).
    """
    if policy == "constant":
        return torch.full((grad.shape[0],), float(lr), dtype=grad.dtype, device=grad.device)
    norm2 = grad.flatten(1).pow(2).sum(1)
    if policy == "progress":
        desired = torch.full_like(norm2, float(desired_prog))
    elif policy == "progress01":
        desired = torch.clamp(late_prog_mult * (1.0 - objective.to(norm2)), max=float(early_prog))
    else:
        raise ValueError(f"unknown lr policy '{policy}' (constant, progress, progress01)")
    return torch.clamp(desired / norm2, max=float(max_lr))
