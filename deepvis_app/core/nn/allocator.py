"""Keep the memory torch frees for its next allocation: no fresh pages for every forward off the main thread.

glibc's malloc hands large blocks (over 128 KiB, a threshold it then raises as blocks are freed) out
as their own mappings and gives memory at a heap's top back to the kernel once it exceeds a trim
threshold. In the main thread that settles after a few forwards. A thread of its own (the compute
thread, an optimize job) allocates from a per-thread arena whose heaps are unmapped as soon as they
empty: each forward of the default model there mapped and zeroed about 5,000 fresh pages (20 MB,
7 ms of kernel time: 23 ms a forward instead of 19), and whether the live loop hit that depended on
what the process had allocated before. With both thresholds fixed (`MMAP_THRESHOLD`, `TRIM_THRESHOLD`),
every thread keeps reusing the same memory: no page faults per forward. Either one alone made it
worse (12,000 to 16,000 faults a forward). Memory freed stays in the process up to the trim
threshold; blocks over the mmap threshold still go back at once.

The window, the web front end and the live benchmarks call `reuse_freed_memory` before loading the
model (`core.nn.threads.prepare_live_process`); tests and other scripts keep glibc's defaults. Other C
libraries (macOS, musl) are left alone.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("deepvis.allocator")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20     # blocks from 32 MiB up get mappings of their own (glibc's upper bound)
TRIM_THRESHOLD = 256 << 20    # free memory at a heap's top goes back to the kernel beyond 256 MiB


def reuse_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds (see the module docstring); False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(None)          # the symbols the process has loaded
        if not hasattr(libc, "gnu_get_libc_version"):   # glibc's own: not there on macOS or musl
            return False
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not applied:
        log.warning("glibc refused the malloc thresholds: forwards off the main thread may map fresh pages")
    return applied
