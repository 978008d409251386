"""Fuzz the image reader for a while: mutated JPEG/PNG/WebP/TIFF/BMP/GIF bytes into `decode_image_bytes`;
and, with the same harness, find-max records, output templates and the text parsers (`fuzz_targets.py`).

The suite runs a short, deterministic Hypothesis version (tests/io/test_decode_fuzz.py); this is
the long run. A child process decodes random mutations of the seeds in `tests/helpers/image_seeds.py`
(PNG chunk CRCs repaired half the time so mutations reach the decoder) and reports, per input,
anything but a decoded array or an `ImageReadError`:

- ``exception``: another exception type came out (the reader must wrap every decoder failure);
- ``slow``: one input took longer than ``--time-bound`` seconds;
- ``stderr``: a library wrote to file descriptor 2 (noise deepvis promised to silence);
- ``bad_array``: a result that is not an HxW / HxWxC array;
- ``crash`` / ``hang``: the child died, or printed nothing for ``--hang-s`` seconds (it is
  restarted with the next seed; the input it was on is saved).

The child runs under an address-space limit (``--memory-gib``) so a decoder that tries to
allocate gigabytes fails instead of swapping the machine. Failing inputs are written to
``--save`` (default: a temp folder). Prints one JSON object: inputs tried, outcomes, failures.

The other targets (`--targets images,records,templates,parsers`, all by default, drawn in turn) allow
"ok" or their one-line refusal only; any other exception is a failure, as is a slow input.

Usage: python bench/fuzz_images.py [--seconds 180] [--max-pixels 4000000] [--seed 0] [--targets ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child(args: argparse.Namespace) -> None:
    """Decode mutated inputs forever, one JSON line per report, on stdout."""
    import numpy as np

    from deepvis_app.io.decode import ImageReadError, decode_image_bytes
    from tests.helpers.image_seeds import apply, fix_png_crcs, random_ops, seeds

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fuzz_targets import TARGETS, scratch_folder

    targets = args.targets.split(",")
    for target in targets:   # imported before the address-space limit is set (torch alone maps gigabytes)
        if target != "images":
            TARGETS[target](np.random.default_rng(0), scratch_folder())
    limit = int(args.memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    noise = tempfile.TemporaryFile()
    os.dup2(noise.fileno(), 2)  # anything a library prints to stderr lands here and is reported
    rng = np.random.default_rng(args.seed)
    corpus = seeds()
    names = sorted(corpus)
    last = Path(args.save) / f"current-{os.getpid()}.bin"
    counts: Counter = Counter()
    emit = sys.stdout
    folder = scratch_folder()
    while True:
        target = targets[sum(counts.values()) % len(targets)]
        if target != "images":
            _other_target(TARGETS[target], target, rng, folder, args, counts, last, noise, emit)
            continue
        name = names[int(rng.integers(len(names)))]
        data = apply(corpus[name], random_ops(rng, len(corpus[name]), int(rng.integers(1, 6))))
        if name.startswith("png") and rng.random() < 0.5:
            data = fix_png_crcs(data)
        last.write_bytes(data)
        noise_before = os.fstat(2).st_size
        started = time.perf_counter()
        failure, detail = None, ""
        try:
            array = decode_image_bytes(data, name, args.max_pixels)
            outcome = "decoded"
            if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
                failure, detail = "bad_array", f"{array.dtype} {array.shape}"
        except ImageReadError:
            outcome = "read_error"
        except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
            outcome, failure, detail = "exception", "exception", f"{type(exc).__name__}: {exc}"[:300]
        counts[outcome] += 1
        _report(name, data, failure, detail, started, noise_before, args, counts, noise, emit)


def _other_target(fuzz, target: str, rng, folder: Path, args: argparse.Namespace, counts: Counter, last: Path,
                  noise, emit) -> None:
    """One input of a non-image target: "ok" or "refused" are fine; anything else, or slow, is reported."""
    noise_before = os.fstat(2).st_size
    started = time.perf_counter()
    failure, detail, data = None, "", b""
    try:
        outcome, data = fuzz(rng, folder)
    except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
        outcome, failure, detail = "exception", "exception", f"{type(exc).__name__}: {exc}"[:300]
    counts[f"{target}:{outcome}"] += 1
    last.write_bytes(data)
    _report(target, data, failure, detail, started, noise_before, args, counts, noise, emit)


def _report(seed: str, data: bytes, failure: str | None, detail: str, started: float, noise_before: int,
            args: argparse.Namespace, counts: Counter, noise, emit) -> None:
    """One input's verdict: a failure (its own, too slow, or anything on stderr) is saved and emitted; every
    50 inputs a progress line."""
    seconds = time.perf_counter() - started
    if failure is None and seconds > args.time_bound:
        failure, detail = "slow", f"{seconds:.2f} s"
    if failure is None and os.fstat(2).st_size != noise_before:
        noise.seek(noise_before)
        failure, detail = "stderr", noise.read(300).decode(errors="replace")
    if failure is not None:
        saved = Path(args.save) / f"{failure}-{seed}-{os.getpid()}-{sum(counts.values())}.bin"
        saved.write_bytes(data)
        emit.write(json.dumps({"failure": failure, "seed": seed, "detail": detail, "saved": str(saved)}) + "\n")
    if sum(counts.values()) % 50 == 0:
        emit.write(json.dumps({"progress": dict(counts), "slowest_s": round(seconds, 4)}) + "\n")
        counts.clear()
    emit.flush()


def run(args: argparse.Namespace) -> dict:
    """Run children until the time is up; gather their reports."""
    save = Path(args.save)
    save.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.seconds
    totals: Counter = Counter()
    failures: list[dict] = []
    kinds: Counter = Counter()
    seed = args.seed
    while time.monotonic() < deadline:
        command = [sys.executable, __file__, "--child", "--seed", str(seed), "--save", str(save),
                   "--max-pixels", str(args.max_pixels), "--time-bound", str(args.time_bound),
                   "--memory-gib", str(args.memory_gib), "--targets", args.targets]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        last_line = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                proc.kill()
                break
            ready, _, _ = select.select([proc.stdout], [], [], min(1.0, deadline - now))
            if ready:
                line = proc.stdout.readline()
                if not line:  # the child died
                    proc.wait()
                    current = save / f"current-{proc.pid}.bin"
                    detail = proc.stderr.read()[-300:]
                    failures.append({"failure": "crash", "returncode": proc.returncode, "detail": detail,
                                     "saved": str(current)})
                    kinds["crash"] += 1
                    break
                last_line = time.monotonic()
                report = json.loads(line)
                if "progress" in report:
                    totals.update(report["progress"])
                else:
                    totals["failed"] += 1
                    kinds[report["failure"]] += 1
                    failures.append(report)
            elif time.monotonic() - last_line > args.hang_s:
                proc.kill()
                proc.wait()
                failures.append({"failure": "hang", "saved": str(save / f"current-{proc.pid}.bin")})
                kinds["hang"] += 1
                break
        proc.wait()
        seed += 1
    tried = sum(totals.values()) - totals["failed"] + kinds["crash"] + kinds["hang"]
    per_target = {key: count for key, count in sorted(totals.items()) if ":" in key}
    return {"seconds": args.seconds, "max_pixels": args.max_pixels, "time_bound_s": args.time_bound,
            "targets": args.targets, "inputs_tried": tried, "decoded": totals["decoded"],
            "read_errors": totals["read_error"], "other_targets": per_target,
            "failures": sum(kinds.values()), "failure_kinds": dict(kinds), "children": seed - args.seed,
            "first_failures": failures[:20], "saved_in": str(save)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pixels", type=int, default=4_000_000)
    parser.add_argument("--time-bound", type=float, default=2.0, help="seconds one input may take")
    parser.add_argument("--hang-s", type=float, default=20.0)
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--save", default=os.path.join(tempfile.gettempdir(), "deepvis-fuzz-images"))
    parser.add_argument("--targets", default="images,records,templates,parsers",
                        help="comma-separated: images, records, templates, parsers")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()
