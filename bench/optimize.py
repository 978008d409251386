"""Batched regularized optimization vs one unit at a time, same steps: prints one JSON object.

- ``units_per_min_batched``: units finished per minute when all units run as one batch;
- ``units_per_min_loop``: the same units, same config, one `optimize_units` call per unit;
- ``speedup`` = batched / loop (goal >= 4);
- ``*_cpu_s``: process CPU time of each, which other processes on a shared machine do not
  inflate (``speedup_cpu`` is their ratio); ``--batch`` splits the batched run into chunks
  (on a CPU, chunks of 4-8 keep activations in cache and beat one big batch);
- ``max_abs_diff_z``: largest difference between the two runs' images (0..255 units), to show
  they computed the same thing.

Rounds alternate batched and loop so that load from other processes hits both alike; the
median round is reported.

Usage: python bench/optimize.py [--layer _blocks.5] [--units 32] [--steps 8] [--size 112]
       [--preset lucent] [--threads N] [--rounds 3] [--batch B] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from deepvis_app.core.nn.model import load_model
from deepvis_app.core.unitvis.optimize.config import preset
from deepvis_app.core.unitvis.optimize.loop import optimize_units
from deepvis_app.core.unitvis.optimize.params import InputSpace
from deepvis_app.settings.loader import load_settings


def _timed(function):
    start, cpu_start = time.perf_counter(), time.process_time()
    result = function()
    return (time.perf_counter() - start, time.process_time() - cpu_start), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="_blocks.5")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--preset", default="lucent")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda:N")
    parser.add_argument("--batch", type=int, default=0, help="units per batch in the batched run (0: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model(load_settings(overrides=(f"device={args.device!r}",)).settings)
    space = InputSpace.from_preprocessor(loaded.preprocessor, loaded.device)
    config = preset(args.preset).replace(steps=args.steps, size=(args.size, args.size))
    units = list(range(args.units))

    def run(batch: list[int]):
        return optimize_units(loaded.module, space, args.layer, batch, config, loaded.settings.input_size,
                              batch_size=args.batch or len(batch), device=loaded.device)

    run(units[:2])  # warm-up
    batched_times, loop_times = [], []
    for _ in range(args.rounds):
        seconds, batched = _timed(lambda: run(units))
        batched_times.append(seconds)
        seconds, singles = _timed(lambda: [run([unit]) for unit in units])
        loop_times.append(seconds)
    diff = max(float((batched.z[i] - single.z[0]).abs().max()) for i, single in enumerate(singles))
    batched_s, loop_s = (statistics.median(t[0] for t in times) for times in (batched_times, loop_times))
    batched_cpu, loop_cpu = (statistics.median(t[1] for t in times) for times in (batched_times, loop_times))
    print(json.dumps({
        "layer": args.layer, "units": args.units, "steps": args.steps, "size": args.size, "preset": args.preset,
        "threads": torch.get_num_threads(), "device": str(loaded.device), "rounds": args.rounds,
        "batched_s": round(batched_s, 3), "loop_s": round(loop_s, 3),
        "units_per_min_batched": round(60 * args.units / batched_s, 2),
        "units_per_min_loop": round(60 * args.units / loop_s, 2),
        "speedup": round(loop_s / batched_s, 2), "batch": args.batch or args.units,
        "batched_cpu_s": round(batched_cpu, 3), "loop_cpu_s": round(loop_cpu, 3),
        "speedup_cpu": round(loop_cpu / batched_cpu, 2), "max_abs_diff_z": round(diff, 5),
    }, indent=2))


if __name__ == "__main__":
    main()
