"""`deepvis web` at rest: CPU the server process uses on a still image with no client watching, and with
one client watching, each over a window of seconds after the first result; prints JSON.

The server runs as the user runs it (``python -m deepvis_app web --port 0``, the default model unless
``--model``); its token is read from the first line it prints. CPU is the process's user + system
time from ``/proc/PID/stat`` (all its threads) over the window, as a share of one core. A picture is
composed and JPEG-encoded only while somebody watches, so with nobody watching a still image the
server should be all but idle.

Usage: python bench/web_idle.py [--seconds 20] [--input sample:chelsea] [--model NAME] [-- extra deepvis args]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=(\S+)$")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(pid: int, seconds: float) -> float:
    """Share of one core the process used over the next ``seconds``."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def wait_ready(port: int, token: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/state?token={token}", timeout=30) as answer:
            if json.loads(answer.read())["ready"]:
                return
        time.sleep(0.5)
    raise SystemExit("no first result in time")


def watch(port: int, token: str, stop: threading.Event) -> None:
    """One stream client reading until ``stop``."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n\r\n"
                     .encode())
        while not stop.is_set():
            try:
                if not sock.recv(65536):
                    return
            except TimeoutError:
                continue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--input", default="sample:chelsea")
    parser.add_argument("--model")
    parser.add_argument("extra", nargs="*", help="more deepvis web arguments (after --)")
    args = parser.parse_args()
    command = [sys.executable, "-m", "deepvis_app", "web", "--port", "0", "--input", args.input, *args.extra]
    if args.model:
        command += ["--model", args.model]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        match = URL_LINE.match(server.stdout.readline().strip())
        if not match:
            raise SystemExit("deepvis web did not print its address")
        port, token = int(match.group(1)), match.group(2)
        wait_ready(port, token)
        time.sleep(3.0)                                  # let the first result's work finish
        idle = measure(server.pid, args.seconds)
        stop = threading.Event()
        client = threading.Thread(target=watch, args=(port, token, stop), daemon=True)
        client.start()
        time.sleep(1.0)
        watched = measure(server.pid, args.seconds)
        stop.set()
        client.join(10)
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps({"input": args.input, "model": args.model or "default", "seconds": args.seconds,
                      "cpu_share_no_client": round(idle, 4), "cpu_share_one_client": round(watched, 4),
                      "cpus": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
