"""Occlusion beyond one objective: every class at once, and the change of a whole layer.

DNN-Visualizer and the toolbox's users ask two things that the one-objective `occlusion` does not
answer in one run:

- `occlusion_all_classes`: the occlusion map of every output class from the same occluded copies
  (one forward per batch of windows serves all K classes), (B, K, H, W); row k equals
  `occlusion` with target k, window for window.
- `occlusion_layer`: how much a whole layer changes when a window is occluded, DNN-Visualizer's
  per-layer measure: the L2 norm of A(x) - A(x with the window occluded) over every unit and
  position of the layer, averaged over the windows covering each pixel (the same window grid and
  coverage average as `occlusion`). It is a registered method: its "objective" is the origin
  layer (the unit is not used); a map that ignores the unit is what the measure is.

Both take the `OcclusionOptions` (window, stride, baseline or the image-mean occluder, batch).
"""

from __future__ import annotations

import torch
from torch import nn

from deepvis_app.core.attribution.objective import Objective, chunks
from deepvis_app.core.attribution.occlusion import Windows, occluder_value
from deepvis_app.core.hooks import tapped, tapping
from deepvis_app.core.progress import NO_PROGRESS, Progress
from deepvis_app.core.torch_args import pair


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


def occlusion_layer(model: nn.Module, x: torch.Tensor, objective: Objective, window: int | tuple[int, int] = 16,
                    stride: int | tuple[int, int] = 8, baseline: float | torch.Tensor = 0.0,
                    perturbations_per_eval: int = 16, occluder: str = "baseline",
                    progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C, H, W): the mean, over the windows covering each pixel, of ||A(x) - A(occluded)||_2 of the
    objective's layer A (the model output when the objective is a class)."""
    windows = Windows(x, pair(window), pair(stride))
    base = occluder_value(x, baseline, occluder)
    initial = _outputs(model, x, objective.layer)
    batch = x.shape[0]
    changes = torch.zeros(windows.count, batch, dtype=x.dtype, device=x.device)
    parts = chunks(windows.count, perturbations_per_eval)
    done = torch.zeros(windows.count, dtype=torch.bool)
    for index, part in enumerate(parts):
        def run(part: slice = part) -> torch.Tensor:
            copies, count = windows.occluded(x, part, base)
            values = _outputs(model, copies, objective.layer).reshape(count, *initial.shape)
            return (values - initial[None]).flatten(2).norm(dim=2)
        changes[part] = progress.step(index, run)
        done[part] = True
        progress.report((index + 1) / len(parts),
                        lambda: torch.nan_to_num(windows.attribution(changes, done), nan=0.0))
    return windows.attribution(changes)
