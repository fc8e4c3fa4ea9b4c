"""Load test of ``digitrec serve``: bounded concurrent load from a second process.

Starts ``python -m digitrec serve`` on a free loopback port, waits for
``/healthz``, then runs ``--clients`` concurrent keep-alive connections (asyncio), each
sending one drawn digit (a 280x280 PNG, as the web page sends) to ``POST
/v1/read`` in a closed loop for ``--duration`` seconds. Prints one JSON line:
requests/s, p50/p99/max latency and error count under that load; the same for a
single client (latency without queueing); and -- the peer in the same run --
the latency of the same read called in-process without HTTP, as a ratio.

Usage::

    PYTHONPATH=src python benchmarks/serve.py --clients 50 --duration 30

Only loopback traffic; the load stops by itself after ``--duration`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np
from PIL import Image, ImageDraw


def digit_png() -> bytes:
    """One hand-drawn-looking 7 on a 280x280 white canvas."""
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(80, 56), (200, 56), (126, 230)], fill=0, width=22)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int, threads: int | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "digitrec", "serve", "--port", str(port), "--model", model]
    if threads:
        cmd += ["--threads", str(threads)]
    # A file, not a pipe: the server logs a JSON line per request, and nobody
    # reads a pipe until the server exits.
    log = tempfile.TemporaryFile()  # noqa: SIM115  (open as long as the server runs)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"server exited: {log.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not answer /healthz within 120 s")


async def _client(port: int, request: bytes, stop: float, latencies: list, errors: dict) -> None:
    """One keep-alive HTTP/1.1 connection sending ``request`` until ``stop``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                status = lines[0].split(b" ")[1].decode()
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in lines
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, StopIteration, IndexError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            if status == "200":
                latencies.append(time.perf_counter() - t0)
            else:
                errors[status] = errors.get(status, 0) + 1
    finally:
        writer.close()


async def load(port: int, body: bytes, clients: int, duration: float) -> dict:
    """Closed-loop load: ``clients`` connections, each one request at a time.

    The client is a few lines on asyncio streams rather than httpx: httpx's
    connection pool tops out near 50-130 requests/s with 50 concurrent
    connections on this machine, which would measure the client, not the server.
    """
    request = (
        b"POST /v1/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    latencies: list[float] = []
    errors: dict[str, int] = {}
    # Warm-up (connections, first inference), not counted.
    warm = time.perf_counter() + 1.0
    await asyncio.gather(*(_client(port, request, warm, [], {}) for _ in range(clients)))
    start = time.perf_counter()
    await asyncio.gather(
        *(_client(port, request, start + duration, latencies, errors) for _ in range(clients))
    )
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2) if ms.size else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 2) if ms.size else None,
        "max_ms": round(float(ms.max()), 2) if ms.size else None,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def direct_read_ms(model: str, body: bytes, n: int = 200) -> float:
    """p50 latency of the same read in-process, without HTTP (the peer)."""
    from digitrec.pages.documents import Page
    from digitrec.serve.reader import VisionReader
    from digitrec.serve.schemas import ReadOptions

    reader = VisionReader(model)
    options = ReadOptions()
    for _ in range(10):
        reader.read(Page(body, 1, "body"), options)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        reader.read(Page(body, 1, "body"), options)  # decoding included, as in the service
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=None, help="server reader threads")
    args = parser.parse_args()
    if not (1 <= args.clients <= 500 and 0 < args.duration <= 300):
        raise SystemExit("--clients must be 1-500 and --duration 0-300 s")

    body = digit_png()
    port = free_port()
    server = start_server(args.model, port, args.threads)
    try:
        model = httpx.get(f"http://127.0.0.1:{port}/v1/model").json()
        check = httpx.post(
            f"http://127.0.0.1:{port}/v1/read", content=body, headers={"content-type": "image/png"}
        ).json()
        # One client first: the latency of a single digit without queueing.
        single = asyncio.run(load(port, body, 1, min(10.0, args.duration)))
        stats = asyncio.run(load(port, body, args.clients, args.duration))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    direct = direct_read_ms(args.model, body)
    print(
        json.dumps(
            {
                "benchmark": "serve",
                "endpoint": "POST /v1/read (280x280 PNG, one digit)",
                "read": check.get("text"),
                "model": model.get("name"),
                "cpus": os.cpu_count(),
                "server_threads": args.threads or "default",
                "clients": args.clients,
                "duration_s": args.duration,
                **stats,
                "single_client_rps": single["rps"],
                "single_client_p50_ms": single["p50_ms"],
                "single_client_p99_ms": single["p99_ms"],
                "single_client_errors": single["errors"],
                "p99_goal_ms": 50,
                "p99_goal_met_under_load": stats["p99_ms"] is not None and stats["p99_ms"] <= 50,
                "p99_goal_met_single_client": single["p99_ms"] is not None
                and single["p99_ms"] <= 50,
                # The peer: the same read in-process, without HTTP.
                "direct_read_p50_ms": round(direct, 2),
                "ratio_single_client_p50_vs_direct": round(single["p50_ms"] / direct, 2)
                if single["p50_ms"]
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
