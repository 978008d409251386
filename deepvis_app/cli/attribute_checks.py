"""`deepvis attribute --faithfulness / --randomization-check`: how much to trust the map just computed.

- ``--faithfulness``: deletion and insertion curves of the map (`core.attribution.faithfulness`,
  RISE's metrics): the objective as the top-ranked pixels are removed / put back; a faithful map has
  a low deletion and a high insertion area. With ``--probability`` the objective is the class
  probability, as in RISE.
- ``--randomization-check``: the cascading model-parameter randomization test of Adebayo et al.
  2018 (`core.attribution.sanity`): the map's rank correlation with itself as the layers are
  re-initialized from the output down. It should fall; a map that stays correlated does not
  depend on what the model learned.

Both explain the same objective as the map (for a class, the class picked on the original model).
Both take long on a CPU (one map per layer for the randomization check): a bar on stderr shows
their progress when stderr is a terminal (`core.progress.terminal_bar`).
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable

import torch
from torch import nn

from deepvis_app.core.base.progress import forward_ticks, terminal_bar
from deepvis_app.core.methods.attribution.faithfulness import deletion_insertion
from deepvis_app.core.methods.attribution.objective import Objective
from deepvis_app.core.methods.attribution.sanity import cascading_randomization, parameter_layers

FAITHFULNESS_BATCH = 16   # images per forward of the curves (deletion_insertion's batch_size)


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("checks of the map (printed, and in --json)")
    group.add_argument("--faithfulness", action="store_true",
                       help="deletion / insertion curves of the map and their areas (RISE, Petsiuk et al. 2018)")
    group.add_argument("--faithfulness-steps", type=int, default=32, metavar="N",
                       help="points of the curves after the first: 1/N of the pixels each (default 32)")
    group.add_argument("--randomization-check", action="store_true",
                       help="rank correlation of the map with the maps of the model randomized layer by layer "
                            "from the output down (Adebayo et al. 2018)")
    group.add_argument("--randomization-seed", type=int, default=0, help="seed of the re-initialization (default 0)")


def run_checks(args: argparse.Namespace, model: nn.Module, x: torch.Tensor, objective: Objective,
               saliency: torch.Tensor, map_of: Callable[[nn.Module], torch.Tensor]) -> dict[str, Any]:
    """{"faithfulness": ..., "randomization": [...]} for the checks asked for."""
    checks: dict[str, Any] = {}
    if args.faithfulness:
        forwards = 2 * -(-(args.faithfulness_steps + 1) // FAITHFULNESS_BATCH)
        with terminal_bar("faithfulness", total=forwards, unit="batch") as bar, forward_ticks(model, bar.update):
            curves = deletion_insertion(model, x, objective, saliency, steps=args.faithfulness_steps,
                                        batch_size=FAITHFULNESS_BATCH)
        checks["faithfulness"] = {"deletion_auc": float(curves.deletion_auc[0]),
                                  "insertion_auc": float(curves.insertion_auc[0]),
                                  "fractions": curves.fractions.tolist(), "deletion": curves.deletion[0].tolist(),
                                  "insertion": curves.insertion[0].tolist()}
    if args.randomization_check:
        layers = parameter_layers(model, x)
        with terminal_bar("randomization check", total=len(layers) + 1, unit="map") as bar:
            def counted(module: nn.Module) -> torch.Tensor:
                result = map_of(module)
                bar.update()
                return result
            steps = cascading_randomization(model, x, counted, seed=args.randomization_seed, layers=layers)
        checks["randomization"] = [{"layer": s.layer, "rank_correlation": _finite(s.rank_correlation[0]),
                                    "abs_rank_correlation": _finite(s.abs_rank_correlation[0])} for s in steps]
    return checks


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def print_checks(checks: dict[str, Any]) -> None:
    if "faithfulness" in checks:
        result = checks["faithfulness"]
        print(f"deletion AUC {result['deletion_auc']:.6g} (lower is better), "
              f"insertion AUC {result['insertion_auc']:.6g} (higher is better), "
              f"{len(result['fractions']) - 1} steps")
    if "randomization" in checks:
        rows = checks["randomization"]
        width = max([len("randomized down to")] + [len(row["layer"]) for row in rows])
        print(f"{'randomized down to':<{width}}  rank corr  |rank corr|")
        for row in rows:
            print(f"{row['layer']:<{width}}  {_shown(row['rank_correlation']):>9}  "
                  f"{_shown(row['abs_rank_correlation']):>11}")


def _shown(value: float | None) -> str:
    return "constant" if value is None else f"{value:.4f}"
