"""`reuse_freed_memory` (core.nn.allocator): a thread that allocates and frees torch tensors of a forward's
sizes gets no fresh pages from the kernel per round once the thresholds are fixed; glibc's defaults map
them anew each round. Each case runs in a process of its own: malloc's settings are process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

import pytest

from deepvis_app.core.nn import allocator

# In a thread of its own, rounds of tensors from 1.2 MB to 10 MB made and freed, like a forward's
# activations; prints the minor page faults per round after a warm-up.
WORKLOAD = textwrap.dedent("""
    import resource, sys, threading, torch
    from deepvis_app.core.nn.allocator import reuse_freed_memory
    torch.set_num_threads(1)
    if sys.argv[1] == "reuse":
        assert reuse_freed_memory()
    def rounds(count):
        for _ in range(count):
            for n in (1, 2, 3, 5, 8):
                a = torch.ones(n * 300_000)
                b = torch.ones(n * 200_000)
                del a, b
    def work(out):
        rounds(5)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        rounds(20)
        out.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
    out = []
    thread = threading.Thread(target=work, args=(out,))
    thread.start()
    thread.join()
    print(out[0])
""")


def faults_per_round(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", WORKLOAD, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


def test_a_thread_reuses_freed_memory_instead_of_mapping_fresh_pages():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc thresholds: Linux only")
    default = faults_per_round("default")
    if default < 50:
        pytest.skip(f"this C library maps no fresh pages here ({default} a round): nothing to fix")
    assert faults_per_round("reuse") <= 2, f"glibc's defaults: {default} a round"


def test_another_c_library_is_left_alone(monkeypatch):
    """No gnu_get_libc_version (macOS, musl): nothing is set and the caller hears so."""
    calls: list[tuple] = []
    fake = types.SimpleNamespace(mallopt=lambda *args: calls.append(args) or 1)
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda _name: fake)
    assert allocator.reuse_freed_memory() is False
    assert calls == []
