"""Frames per second and CPU ms per frame of the bare model: one frame at a time on all of torch's threads
against one frame per core at a time, each on one thread (on replicas that share the weights, as the live
loop's frames in flight do: `core.nn.model.replica`).

Why: at batch 1 a small model splits badly over threads (the default model: about 34 ms a forward on one
thread, 23 on two), and each thread of a team waits actively at every operator's end. Frames in flight
side by side keep every core busy without that wait; the live loop's compute thread chooses them when its
own timing says so (`core.nn.threads.frames_side_by_side`), and `live.py`'s `cpu_ratio` compares the live
loop with the first line. Prints one JSON object: per round, fps and CPU ms per frame of both ways, and
their medians.

Usage: python bench/frames_in_flight.py [--seconds 4] [--rounds 3] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time

import torch

from deepvis_app.core.nn.model import load_model, replica
from deepvis_app.core.nn.threads import TORCH_DEFAULT, prepare_live_process
from deepvis_app.io.images import sample_image
from deepvis_app.settings.loader import load_settings


def side_by_side(modules: list[torch.nn.Module], x: torch.Tensor, threads: int, seconds: float) -> dict[str, float]:
    """Each module run in a thread of its own on ``threads`` torch threads, all at once for ``seconds``."""
    counts = [0] * len(modules)
    start = threading.Barrier(len(modules) + 1)

    def run(index: int) -> None:
        torch.set_num_threads(threads)
        with torch.no_grad():
            for _ in range(5):
                modules[index](x)
            start.wait()
            began = time.perf_counter()
            while time.perf_counter() - began < seconds:
                modules[index](x)
                counts[index] += 1

    workers = [threading.Thread(target=run, args=(index,)) for index in range(len(modules))]
    for worker in workers:
        worker.start()
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for worker in workers:   # a finished thread's OpenMP pool goes with it: the next way starts alone
        worker.join()
    frames = max(sum(counts), 1)
    return {"fps": round(frames / (time.perf_counter() - began), 1),
            "cpu_ms_per_frame": round(1000 * (time.process_time() - cpu) / frames, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    prepare_live_process()   # as the window: one torch thread by default, malloc's thresholds fixed
    loaded = load_model(load_settings(args.model).settings)
    x = loaded.preprocessor.to_tensor(sample_image("chelsea"), loaded.device)
    replicas = [loaded.module] + [replica(loaded).module for _ in range(TORCH_DEFAULT - 1)]
    rounds = []
    for _ in range(args.rounds):   # alternating, so that a change in the machine's load hits both
        rounds.append({"one_frame_all_threads": side_by_side(replicas[:1], x, TORCH_DEFAULT, args.seconds),
                       "frame_per_core_one_thread": side_by_side(replicas, x, 1, args.seconds)})
    report: dict = {"model": loaded.settings.model, "cores": TORCH_DEFAULT, "rounds": rounds}
    for way in rounds[0]:
        report[way] = {key: statistics.median(r[way][key] for r in rounds) for key in rounds[0][way]}
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
