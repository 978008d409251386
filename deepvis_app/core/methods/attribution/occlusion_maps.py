"""Occlusion beyond one objective: every class at once, and DNN-Visualizer's per-channel saliency.

DNN-Visualizer and the toolbox's users ask two things that the one-objective `occlusion` does not
answer in one run:

- `occlusion_all_classes`: the occlusion map of every output class from the same occluded copies
  (one forward per batch of windows serves all K classes), (B, K, H, W); row k equals
  `occlusion` with target k, window for window.
- `occlusion_layer`: DNN-Visualizer's `SaliencyVisualizer.analyze(img, layer, ksize, stride)`
  (dcnn_visualizer/occlusion.py): a window is centred on every `stride`-th pixel from pixel 0
  (its `DeformableROIIterator`: rows 0, s, 2s, ... <= H - 1; the window clipped at the borders) and
  filled with the occluder; for each channel c of the layer the saliency is the *signed* difference
  of the channel's L2 norms over its positions, ||A_c(occluded)||_2 - ||A_c(x)||_2 (negative: the
  window feeds the channel). `occlusion_layer_saliency` returns that (B, C, rows, cols) tensor, the
  original's SaliencyMap channels-first; the registered method shows the selected unit's channel
  (the objective's index; a class of the output when no layer is given), each pixel taking the value
  of the nearest window centre. DNN-Visualizer allows only odd windows; an even window here covers
  (k - 1) // 2 pixels before its centre and k // 2 after.

Both take the `OcclusionOptions` (window, stride, baseline or the image-mean occluder, batch).
DNN-Visualizer fills the window with the mean of the whole image (all channels at once); the
`mean` occluder here is each channel's mean.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.base.torch_args import pair
from deepvis_app.core.methods.attribution.objective import Objective, chunks, single_unit
from deepvis_app.core.methods.attribution.occlusion import Windows, occluder_value
from deepvis_app.core.nn.hooks import tapped, tapping


def _outputs(model: nn.Module, x: torch.Tensor, layer: str | None) -> torch.Tensor:
    """The model output (layer None) or ``layer``'s output, without gradient."""
    with torch.no_grad(), tapping(model, [layer] if layer else []) as taps:
        output = model(x)
    values = tapped(taps, layer) if layer else output
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"the model output is a {type(values).__name__}, not a tensor; name a layer")
    return values


def occlusion_all_classes(model: nn.Module, x: torch.Tensor, window: int | tuple[int, int] = 16,
                          stride: int | tuple[int, int] = 8, baseline: float | torch.Tensor = 0.0,
                          perturbations_per_eval: int = 16, occluder: str = "baseline",
                          progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, K, H, W): the occlusion map of each of the K output classes (logits)."""
    windows = Windows(x, pair(window), pair(stride))
    base = occluder_value(x, baseline, occluder)
    initial = _outputs(model, x, None)                     # (B, K)
    batch, classes = initial.shape[:2]
    drops = torch.zeros(windows.count, batch * classes, dtype=x.dtype, device=x.device)
    for index, part in enumerate(chunks(windows.count, perturbations_per_eval)):
        def run(part: slice = part) -> torch.Tensor:
            copies, count = windows.occluded(x, part, base)
            values = _outputs(model, copies, None).reshape(count, batch, classes)
            return (initial[None] - values).reshape(count, batch * classes)
        drops[part] = progress.step(index, run)
    maps = windows.attribution(drops)[:, 0]                # (B * K, H, W)
    return maps.reshape(batch, classes, *maps.shape[1:])


def centred_membership(size: int, window: int, stride: int) -> torch.Tensor:
    """(n, size) 0/1: row i marks the pixels of the window centred on pixel i * stride (n = (size - 1) //
    stride + 1), clipped to the image: DNN-Visualizer's DeformableROIIterator along one axis."""
    if window < 1 or stride < 1:
        raise ValueError(f"occlusion window ({window}) and stride ({stride}) must be at least 1")
    centres = torch.arange(0, size, stride)[:, None]
    index = torch.arange(size)[None, :]
    return ((index >= centres - (window - 1) // 2) & (index <= centres + window // 2)).double()


def _channel_norms(values: torch.Tensor) -> torch.Tensor:
    """(N, C): each channel's L2 norm over its positions (|value| for a channel of one number)."""
    return values.reshape(values.shape[0], values.shape[1], -1).norm(dim=2)


def occlusion_layer_saliency(model: nn.Module, x: torch.Tensor, layer: str | None,
                             *, window: int | tuple[int, int] = 16, stride: int | tuple[int, int] = 8,
                             baseline: float | torch.Tensor = 0.0, perturbations_per_eval: int = 16,
                             occluder: str = "baseline", progress: Progress = NO_PROGRESS,
                             shown: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """(B, C, rows, cols): ||A_c(x occluded at the window centred on (i*s, j*s))||_2 - ||A_c(x)||_2 for every
    channel c of ``layer`` (the model output when None); see the module docstring. ``shown`` turns the
    partial saliency (windows not done yet: 0) into the map the progress reports offer."""
    (win_h, win_w), (stride_h, stride_w) = pair(window), pair(stride)
    rows = centred_membership(x.shape[2], win_h, stride_h).to(x.device, x.dtype)
    cols = centred_membership(x.shape[3], win_w, stride_w).to(x.device, x.dtype)
    base = occluder_value(x, baseline, occluder)
    initial = _channel_norms(_outputs(model, x, layer))                       # (B, C)
    count, batch = rows.shape[0] * cols.shape[0], x.shape[0]
    saliency = torch.zeros(count, batch, initial.shape[1], dtype=x.dtype, device=x.device)
    parts = chunks(count, perturbations_per_eval)
    for index, part in enumerate(parts):
        def run(part: slice = part) -> torch.Tensor:
            positions = torch.arange(count)[part]
            mask = (rows[positions // cols.shape[0], :, None] * cols[positions % cols.shape[0], None, :])[:, None, None]
            copies = (x[None] * (1 - mask) + base * mask).reshape(-1, *x.shape[1:])
            norms = _channel_norms(_outputs(model, copies, layer)).reshape(len(positions), batch, -1)
            return norms - initial[None]
        saliency[part] = progress.step(index, run)

        def partial() -> torch.Tensor:
            grid = saliency.permute(1, 2, 0).reshape(batch, -1, rows.shape[0], cols.shape[0])
            return shown(grid) if shown is not None else grid
        progress.report((index + 1) / len(parts), partial)
    return saliency.permute(1, 2, 0).reshape(batch, -1, rows.shape[0], cols.shape[0])


def occlusion_layer(model: nn.Module, x: torch.Tensor, objective: Objective, *, window: int | tuple[int, int] = 16,
                    stride: int | tuple[int, int] = 8, baseline: float | torch.Tensor = 0.0,
                    perturbations_per_eval: int = 16, occluder: str = "baseline",
                    progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C_in, H, W): DNN-Visualizer's occlusion saliency of the objective's channel (the unit of its
    layer, or a class of the output), each pixel showing the window centred nearest to it."""
    stride_h, stride_w = pair(stride)
    nearest_row = ((torch.arange(x.shape[2]) + stride_h // 2) // stride_h).clamp(max=(x.shape[2] - 1) // stride_h)
    nearest_col = ((torch.arange(x.shape[3]) + stride_w // 2) // stride_w).clamp(max=(x.shape[3] - 1) // stride_w)
    layer, picked = single_unit(objective)
    picked = picked.to(x.device)

    def at_input(saliency: torch.Tensor) -> torch.Tensor:
        channel = saliency[torch.arange(x.shape[0], device=x.device), picked]        # (B, rows, cols)
        upsampled = channel[:, nearest_row][:, :, nearest_col]
        return upsampled[:, None].expand(-1, x.shape[1], -1, -1).contiguous()

    saliency = occlusion_layer_saliency(model, x, layer, window=window, stride=stride, baseline=baseline,
                                        perturbations_per_eval=perturbations_per_eval, occluder=occluder,
                                        progress=progress, shown=at_input)
    return at_input(saliency)
