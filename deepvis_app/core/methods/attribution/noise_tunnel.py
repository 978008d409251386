"""Noise tunnel: any attribution method averaged over noisy copies of the input (captum's ``NoiseTunnel``).

With a_s the base method's map of x + n_s, n_s ~ N(0, sigma^2) (s = 1..S):

- ``smoothgrad`` (Smilkov et al. 2017, arXiv:1706.03825): mean_s a_s;
- ``smoothgrad_sq``: mean_s a_s^2;
- ``vargrad`` (Adebayo et al. 2018, arXiv:1810.03292): mean_s a_s^2 - (mean_s a_s)^2.

sigma is ``noise_level * (max x - min x)`` per image, or an absolute ``stdev`` (captum's
``stdevs``). The samples go through the base method ``batch_size`` at a time (captum's
``nt_samples_batch_size``), and the noise of each batch is drawn as captum draws it: one
standard-normal tensor (B * n, C, H, W), copies of an image adjacent; so with the same seed, dtype
and batch size the two agree. ``smoothgrad`` over ``gradient`` is `smoothgrad.smoothgrad`.

The base method is a registered method name (`deepvis_app.core.methods.registry`, with its default options
or ``base_options``) or any function ``run(model, x, objective, **base_options)``; a CAM base takes
``cam_layer``.

``seed`` (flag ``--noise-seed``) seeds a ``torch.Generator`` that draws the noise, so two runs with
the same seed give the same map. A registered base that draws noise of its own (smoothgrad,
gradient_shap, a nested noise tunnel) and has no seed in ``base_options`` gets ``seed + 1 + k`` for
the k-th batch of samples: reproducible too, and independent of the tunnel's own draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.objective import Objective, chunks
from deepvis_app.core.methods.attribution.smoothgrad import noise_stdevs
from deepvis_app.settings.options import option

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


@dataclass(frozen=True)
class NoiseTunnelOptions:
    """Options of `noise_tunnel`."""

    base: str = option("integrated_gradients", "method run on each noisy copy (any registered method)")
    nt_type: str = option("smoothgrad", "mean, mean square or variance over the samples", choices=NT_TYPES)
    samples: int = option(8, "noisy copies", minimum=1)
    noise_level: float = option(0.15, "noise standard deviation, as a fraction of the input's value range")
    stdev: float | None = option(None, "absolute noise standard deviation (replaces noise_level)")
    batch_size: int | None = option(4, "noisy copies per call of the base method (None: all at once)",
                                    flag="batch")
    seed: int | None = option(None, "noise seed (None: torch's global generator)", flag="noise_seed")


Runner = Callable[[nn.Module, torch.Tensor, Objective, "int | None"], torch.Tensor]


def _base_runner(base: str | Callable[..., torch.Tensor], cam_layer: str | None,
                 base_options: Mapping[str, Any] | None, resolve: Callable[[str], Any] | None) -> Runner:
    """run(model, x, objective, base_seed): the base method; base_seed seeds a registered base's own noise."""
    if callable(base):
        extra = dict(base_options or {})
        if cam_layer is not None:
            return lambda model, x, objective, _seed: base(model, x, objective, cam_layer, **extra)
        return lambda model, x, objective, _seed: base(model, x, objective, **extra)
    if resolve is None:
        raise ValueError(f"noise tunnel: the base method '{base}' is a name; call the registry's noise_tunnel "
                         "(deepvis_app.core.methods.registry), which looks names up, or pass a function")
    method = resolve(base)
    options = method.make_options(base_options)
    seeded = hasattr(options, "seed") and (base_options or {}).get("seed") is None

    def run(model: nn.Module, x: torch.Tensor, objective: Objective, base_seed: int | None) -> torch.Tensor:
        chosen = replace(options, seed=base_seed) if seeded and base_seed is not None else options
        return method.compute(model, x, objective, chosen, cam_layer=cam_layer)

    return run


def noise_tunnel(model: nn.Module, x: torch.Tensor, objective: Objective, *,
                 base: str | Callable = "integrated_gradients",
                 nt_type: str = "smoothgrad", samples: int = 8, noise_level: float = 0.15,
                 stdev: float | None = None, batch_size: int | None = 4, seed: int | None = None,
                 progress: Progress = NO_PROGRESS, cam_layer: str | None = None,
                 base_options: Mapping[str, Any] | None = None,
                 resolve: Callable[[str], Any] | None = None) -> torch.Tensor:
    """The ``nt_type`` statistic of ``base``'s maps over ``samples`` noisy copies of each image.

    ``base`` is a function, or a method's name that ``resolve`` turns into a registered method (the
    registry passes its lookup, so this module never imports the registry that imports it)."""
    if nt_type not in NT_TYPES:
        raise ValueError(f"unknown noise tunnel type '{nt_type}' (choose from {', '.join(NT_TYPES)})")
    if samples < 1:
        raise ValueError(f"noise tunnel needs at least one sample, got {samples}")
    run = _base_runner(base, cam_layer, base_options, resolve)
    x = x.detach()
    batch = x.shape[0]
    sigma = noise_stdevs(x, noise_level, stdev).view(-1, *([1] * (x.dim() - 1)))
    generator = None if seed is None else torch.Generator(x.device).manual_seed(seed)
    parts = chunks(samples, batch_size)
    sums: list[torch.Tensor] = []
    done = 0

    noises = progress.remember("noise", lambda: [
        torch.randn((batch * (part.stop - part.start), *x.shape[1:]), dtype=x.dtype, device=x.device,
                    generator=generator) for part in parts])

    def run_part(noise: torch.Tensor, number: int) -> tuple[torch.Tensor, torch.Tensor]:
        count = noise.shape[0] // batch
        maps = run(model, x.repeat_interleave(count, dim=0) + noise * sigma.repeat_interleave(count, dim=0),
                   replace(objective, index=objective.repeat(count)), None if seed is None else seed + 1 + number)
        maps = maps.reshape(batch, count, *maps.shape[1:])
        return maps.sum(dim=1), maps.pow(2).sum(dim=1)

    for number, part in enumerate(parts):
        total, squares = progress.step(number, lambda number=number: run_part(noises[number], number))
        sums = [total, squares] if not sums else [sums[0] + total, sums[1] + squares]
        done += part.stop - part.start
        progress.report(done / samples,
                        lambda sums=sums, done=done: _statistic(nt_type, sums[0] / done, sums[1] / done))
    return _statistic(nt_type, sums[0] / samples, sums[1] / samples)


def _statistic(nt_type: str, mean: torch.Tensor, mean_square: torch.Tensor) -> torch.Tensor:
    if nt_type == "smoothgrad":
        return mean
    if nt_type == "smoothgrad_sq":
        return mean_square
    return mean_square - mean * mean

