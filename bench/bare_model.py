"""The bare model, timed in a process of its own: what a user's plain script gets from it.

Why a process: torch keeps a pool of OpenMP threads for each thread that runs parallel operators,
and once the pools' threads outnumber the cores libgomp makes all of them sleep between operators. A
bare loop in the benchmark's own process, beside the live session's compute thread, ran throttled
that way (45 ms a forward of the default model instead of 23 on 2 cores), so the ratios compared
the app with a bare model slowed down by the benchmark itself. The child loads the model in its main
thread at torch's default thread count, as a script would, and answers each line "fwd SECONDS" or
"fb SECONDS" with one JSON line (`Rate`), so that `live.py` can alternate bare and live measurements.

Usage (live.py starts it): python bench/bare_model.py LAYER [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from cpu_time import Rate, rate


class BareModel:
    """The child process; `rate` measures one step there while this process waits."""

    def __init__(self, layer: str, model: str | None = None):
        command = [sys.executable, str(Path(__file__)), layer] + (["--model", model] if model else [])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.threads = json.loads(self._reply())["torch_threads"]

    def rate(self, step: str, seconds: float) -> Rate:
        """``step``: "fwd" (forward, no gradient) or "fb" (forward and the input gradient of one unit)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{step} {seconds}\n")
        self.process.stdin.flush()
        return Rate(*json.loads(self._reply()))

    def _reply(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bare model process ended (exit code {self.process.wait()})")
        return line

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def serve(layer: str, model: str | None) -> None:
    import torch

    from deepvis_app.core.nn.hooks import find_module
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.io.images import sample_image
    from deepvis_app.settings.loader import load_settings

    loaded = load_model(load_settings(model).settings)
    x = loaded.preprocessor.to_tensor(sample_image("chelsea"), loaded.device)
    module = loaded.module
    captured: dict[str, torch.Tensor] = {}
    find_module(module, layer).register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out))

    def forward() -> None:
        with torch.no_grad():
            module(x)

    def forward_backward() -> None:
        leaf = x.detach().requires_grad_(True)
        module(leaf)
        out = captured["out"]
        seed = torch.zeros_like(out)
        seed[:, 0] = out[:, 0].detach()
        torch.autograd.grad(out, leaf, grad_outputs=seed)

    steps = {"fwd": forward, "fb": forward_backward}
    for step in steps.values():
        rate(step, 0.0, warmup=10)   # the first calls of a fresh process are much slower
    print(json.dumps({"torch_threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        name, seconds = line.split()
        print(json.dumps(rate(steps[name], float(seconds))), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layer")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    serve(args.layer, args.model)
