"""What the output head (core/outputs.py) costs a classifier's forward pass: prints one JSON object.

The loaded default model is run with its root hooks (the head picks the output and returns it) and with
them taken off, alternately, one thread, CPU time per forward; ``bare_over_with_head_median`` near 1.0
means the head costs nothing measurable.

Usage: python bench/output_head.py [--model efficientnet_lite0] [--rounds 5] [--calls 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from deepvis_app.core.nn.model import load_model
from deepvis_app.settings.loader import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(load_settings(args.model).settings)
    module = loaded.module
    x = torch.zeros((1, *loaded.preprocessor.network_shape))
    hooks = dict(module._forward_hooks)

    def cpu_ms() -> float:
        start = time.process_time()
        with torch.no_grad():
            for _ in range(args.calls):
                module(x)
        return (time.process_time() - start) / args.calls * 1000

    with_head, bare = [], []
    for _ in range(args.rounds):
        module._forward_hooks.update(hooks)
        with_head.append(cpu_ms())
        module._forward_hooks.clear()
        bare.append(cpu_ms())
    module._forward_hooks.update(hooks)
    print(json.dumps({"model": args.model, "cpu_ms_with_head": round(statistics.median(with_head), 2),
                      "cpu_ms_bare": round(statistics.median(bare), 2),
                      "bare_over_with_head_median": round(statistics.median(
                          b / w for b, w in zip(bare, with_head, strict=True)), 3)}))


if __name__ == "__main__":
    main()
