"""HTTP latency of the API and the console on a real `omnia demo` server (SQLite, small demo).

    python bench/bench_api.py [--requests 300] [--concurrency 4]

Starts `omnia demo` on a free loopback port with a fresh data directory, sends a bounded number of
requests per endpoint from a thread pool, prints p50/p95/max latency and throughput, then stops
the server. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(data_dir: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIA_", "DJANGO_"))}
    env["OMNIA_DATA_DIR"] = data_dir
    omnia = Path(sys.executable).parent / "omnia"
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(omnia), "demo", "--size", "small", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("omnia demo exited early")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("omnia demo did not start in 180 s")


def measure(client: httpx.Client, url: str, headers: dict[str, str], n: int, concurrency: int) -> str:
    def one(_: int) -> float:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        response.raise_for_status()
        return (time.perf_counter() - started) * 1000

    one(0)  # warm-up
    wall = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = sorted(pool.map(one, range(n)))
    wall = time.perf_counter() - wall
    p95 = times[int(len(times) * 0.95) - 1]
    return f"p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  max {times[-1]:6.1f} ms  {n / wall:6.0f} req/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnia-bench-api-") as data_dir:
        port = free_port()
        process = start_demo(data_dir, port)
        try:
            info = json.loads((Path(data_dir) / "demo.json").read_text())
            auth = {"Authorization": f"Bearer {info['api_token']}"}
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=30) as client:
                customers = client.get("/api/v1/customers?limit=1", headers=auth).json()["items"]
                phone = next(i["value"] for i in customers[0]["identities"] if i["kind"] == "phone")
                local = "8 " + phone[2:5] + " " + phone[5:8] + " " + phone[8:10] + " " + phone[10:]
                endpoints = [
                    ("GET /healthz", "/healthz", {}),
                    ("GET /api/v1/locations", "/api/v1/locations", auth),
                    ("GET /api/v1/orders?limit=50", "/api/v1/orders?limit=50", auth),
                    ("GET /api/v1/customers?q=<phone as 8 7xx…>", f"/api/v1/customers?q={local}", auth),
                    ("GET /api/v1/customers?q=<name>", "/api/v1/customers?q=айгерим&limit=20", auth),
                    ("GET /api/v1/products?q=гирлянда", "/api/v1/products?q=гирлянда&limit=20", auth),
                ]
                print(f"{args.requests} requests per endpoint, {args.concurrency} concurrent, SQLite, demo small")
                for label, url, headers in endpoints:
                    print(f"{label:<44} {measure(client, url, headers, args.requests, args.concurrency)}")
        finally:
            process.terminate()
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
