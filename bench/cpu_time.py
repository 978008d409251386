"""CPU time per frame for the benchmarks: a step's rate and CPU ms per call, and each thread's CPU so far.

Why a module of its own: `live.py` splits the live loop's CPU per frame by thread (compute, torch's
workers, render, video reading) to show where the work over the bare model goes, and stays under the
400 lines a module may have.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path
from typing import NamedTuple


class Rate(NamedTuple):
    """Frames (or calls) per second, and this process's CPU milliseconds per frame meanwhile (all its
    threads: on a shared machine CPU time barely moves with other processes' load, wall time does)."""

    fps: float
    cpu_ms: float
    by_thread: dict[str, float] = {}
    faults: float = 0.0      # minor page faults per frame (fresh pages the kernel maps and zeroes)


def minor_faults() -> int:
    """This process's minor page faults so far (every thread)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def thread_cpu_ms() -> dict[str, float]:
    """CPU ms so far of each thread of this process, by Python thread name (threads Python did not start,
    torch's OpenMP workers, summed as "torch-workers"); empty where /proc is not there."""
    names = {str(t.native_id): t.name for t in threading.enumerate()}
    ticks = 1000.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 10.0
    totals: dict[str, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return totals
    for tid in tasks:
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        name = names.get(tid, "torch-workers")
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) * ticks
    return totals


def rate(step, seconds: float, warmup: int = 1) -> Rate:
    """``step``'s calls per second over about ``seconds`` (after ``warmup`` calls), CPU ms per call, and
    that split by thread."""
    for _ in range(warmup):
        step()
    count, start, cpu, threads, faults = 0, time.perf_counter(), time.process_time(), thread_cpu_ms(), minor_faults()
    while time.perf_counter() - start < seconds or count < 3:
        step()
        count += 1
    by_thread = {name: (ms - threads.get(name, 0.0)) / count for name, ms in thread_cpu_ms().items()}
    return Rate(count / (time.perf_counter() - start), 1000 * (time.process_time() - cpu) / count,
                {name: ms for name, ms in by_thread.items() if ms > 0}, (minor_faults() - faults) / count)
