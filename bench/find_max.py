"""find-max benchmark: prints one JSON object.

- ``find_max_images_per_s``: `find_max` end to end (decoding in DataLoader workers, capture of
  the layers, top-k merging, checkpoints, JSON) over a generated folder of JPEG files;
- ``bare_forward_images_per_s``: the same model's batched forward on the same images, already
  decoded and preprocessed in memory, same batch size (``bare_capture_...``: with the same layers
  captured by hooks); ``ratio`` = find_max / bare forward (goal >= 0.85);
- ``ranks2_vs_1``: scan time of `deepvis find-max` under `torchrun --nproc-per-node 1` divided by
  the time with 2 ranks (gloo, OMP_NUM_THREADS=1 per rank, no decoding workers); > 1 means faster.

Each timing is the best of ``--rounds`` runs, alternating, to resist other load on the machine.

Usage: python bench/find_max.py [--variants 8] [--batch 32] [--workers 1] [--rounds 2] [--no-ranks]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepvis_app.core.nn.hooks import tapping
from deepvis_app.core.nn.model import load_model
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
from deepvis_app.core.unitvis.store.sample_set import write_sample_set
from deepvis_app.io.images import list_image_files, read_image
from deepvis_app.settings.loader import load_settings

LAYERS = ("_blocks.1", "_blocks.3", "_blocks.5", "_blocks.10", "_blocks.15", "_fc")


def bare_forward_seconds(loaded, inputs: torch.Tensor, batch: int, layers: tuple[str, ...]) -> float:
    """Seconds for batched forwards over all inputs (with `layers` captured when given)."""
    start = time.perf_counter()
    for first in range(0, len(inputs), batch):
        with tapping(loaded.module, layers), torch.inference_mode():
            loaded.module(inputs[first:first + batch])
    return time.perf_counter() - start


def find_max_seconds(loaded, dataset: Path, out: Path, batch: int, workers: int) -> float:
    for state in out.glob("find_max/.state-*"):
        state.unlink()
    start = time.perf_counter()
    find_max(loaded, FindMaxRequest(dataset, LAYERS, out, 9, batch, workers))
    return time.perf_counter() - start


def torchrun_seconds(dataset: Path, out: Path, ranks: int, batch: int) -> float:
    """Scan seconds reported by rank 0 of `torchrun --nproc-per-node ranks ... find-max`."""
    for state in out.glob("find_max/.state-*"):
        state.unlink()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks),
               "--master-addr", "127.0.0.1", "--master-port", str(29500 + ranks + os.getpid() % 1000),
               "-m", "deepvis_app", "find-max", str(dataset), "--layers", ",".join(LAYERS), "--batch", str(batch),
               "--workers", "0", "--out", str(out), "--no-progress", "--device", "cpu"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout[done.stdout.index("{"):])["scan_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=8, help="images per sample image (22 samples)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-ranks", action="store_true", help="skip the torchrun comparison")
    args = parser.parse_args()
    loaded = load_model(load_settings(overrides=["device='cpu'"]).settings)
    with tempfile.TemporaryDirectory() as tmp:
        dataset, out = Path(tmp) / "images", Path(tmp) / "out"
        write_sample_set(dataset, variants=args.variants)
        files = list_image_files(dataset, recursive=True)
        pre = loaded.preprocessor
        inputs = torch.from_numpy(np.stack([pre.to_array(pre.fit_frame(read_image(p))) for p in files]))
        bare, bare_capture, scan = [], [], []
        bare_forward_seconds(loaded, inputs[:args.batch], args.batch, ())  # warm-up
        for _ in range(args.rounds):
            bare.append(bare_forward_seconds(loaded, inputs, args.batch, ()))
            bare_capture.append(bare_forward_seconds(loaded, inputs, args.batch, LAYERS))
            scan.append(find_max_seconds(loaded, dataset, out, args.batch, args.workers))
        result = {"images": len(files), "batch": args.batch, "workers": args.workers, "layers": list(LAYERS),
                  "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                  "bare_forward_images_per_s": round(len(files) / min(bare), 2),
                  "bare_capture_images_per_s": round(len(files) / min(bare_capture), 2),
                  "find_max_images_per_s": round(len(files) / min(scan), 2)}
        result["ratio"] = round(min(bare) / min(scan), 3)
        result["ratio_vs_capture"] = round(min(bare_capture) / min(scan), 3)
        if not args.no_ranks:
            one = min(torchrun_seconds(dataset, out, 1, args.batch) for _ in range(args.rounds))
            two = min(torchrun_seconds(dataset, out, 2, args.batch) for _ in range(args.rounds))
            result.update({"rank1_scan_s": round(one, 2), "rank2_scan_s": round(two, 2),
                           "ranks2_vs_1": round(one / two, 3)})
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
