"""The service as a real uvicorn process on a loopback port: SIGTERM drain, and a soak.

The drain test runs ``tests/serve_slow_app.py`` (the fake reader, slow on big
images, served exactly as ``digitrec serve`` serves); the soak runs the real
``digitrec serve`` with the shipped model.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import digitrec
from serve_helpers import bomb_png, seven_png

TESTS = Path(__file__).parent
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the server's memory from Linux /proc"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(args: list[str], log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """Start a server process (``args`` after the interpreter), wait until /readyz is 200."""
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    paths = [str(Path(digitrec.__file__).parents[1]), str(TESTS), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, *[a.replace("PORT", str(port)) for a in args]],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"the server exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the server was not ready within 90 s"
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def log_lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_sigterm_drains_the_read_in_flight_then_exits_0(tmp_path) -> None:
    log = tmp_path / "server.log"
    with server([str(TESTS / "serve_slow_app.py"), "PORT", "2.0"], log) as (proc, url):
        answer: dict = {}

        def slow_read() -> None:
            r = httpx.post(
                url + "/v1/read",
                content=seven_png(),  # 280 px wide: the slow path
                headers={"content-type": "image/png", "x-request-id": "drain-me"},
                timeout=30,
            )
            answer.update(status=r.status_code, body=r.json())

        thread = threading.Thread(target=slow_read)
        thread.start()
        deadline = time.monotonic() + 15
        while metric(url, "digitrec_reads_in_flight") < 1:
            assert time.monotonic() < deadline, "the read never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        thread.join(30)
        assert answer["status"] == 200, answer
        assert answer["body"]["text"] == "22"  # the fake reader's answer for 280 px
        assert proc.wait(30) == 0
    lines = log_lines(log)
    read = [line for line in lines if line.get("request_id") == "drain-me"]
    assert read and read[0]["status"] == 200
    assert lines[-1]["msg"].startswith("drained after SIGTERM")


# ---- soak ---------------------------------------------------------------------


def raw_upload(url: str, sent: int, declared: int, wait_s: float = 0.0) -> int | None:
    """POST ``sent`` of ``declared`` body bytes over a raw socket, wait, then read
    the status (``None``: closed without waiting, the client vanishing mid-upload)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        head = (
            f"POST /v1/read HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        conn.sendall(head.encode() + b"\x89PNG" + b"\0" * (sent - 4))
        if not wait_s:
            return None
        time.sleep(wait_s)
        return int(conn.recv(4096).split(b" ", 2)[1])


def soak_cases(url: str) -> dict[str, tuple[Callable[[httpx.Client], int | None], set]]:
    """Each case: a request, and the statuses it may get (503 always allowed)."""
    seven, wide = seven_png(), seven_png(width=900, height=200)

    def post(content: bytes, kind: str = "image/png", path: str = "/v1/read"):
        return lambda c: c.post(path, content=content, headers={"content-type": kind}).status_code

    def multipart(files):
        return lambda c: c.post("/v1/read/batch", files=files).status_code

    return {
        "good": (post(seven), {200}),
        "good wide": (post(wide), {200}),
        "good batch": (multipart([("files", ("a.png", seven)), ("files", ("b.png", wide))]), {200}),
        "garbage": (post(os.urandom(3000)), {422}),
        "text": (post(b"hello", "text/plain"), {415}),
        "broken multipart": (post(b"--zz\r\nnope", "multipart/form-data; boundary=zz"), {400}),
        "empty": (post(b""), {400}),
        "huge body": (post(b"\x89PNG" + os.urandom(2 * 2**20)), {413}),
        "pixel bomb": (post(bomb_png(100_000, 100_000)), {413}),
        "vanishing client": (lambda c: raw_upload(url, 20_000, 500_000), {None}),
    }


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def soak_round(url: str, cases: dict, requests: int, seed: int) -> list[tuple[str, int | None]]:
    names = random.Random(seed).choices(sorted(cases), k=requests)
    results: list[tuple[str, int | None]] = []
    lock = threading.Lock()

    def worker(share: list[str]) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            for name in share:
                status = cases[name][0](c)
                with lock:
                    results.append((name, status))

    threads = [threading.Thread(target=worker, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == requests, "a client thread did not finish"
    return results


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_soak_mixed_uploads_no_5xx_no_memory_growth(tmp_path) -> None:
    log = tmp_path / "server.log"
    args = ["-m", "digitrec", "serve", "--port", "PORT", "--max-upload-mb", "1"]
    args += ["--body-timeout", "1", "--threads", "2"]
    with server(args, log) as (proc, url):
        cases = soak_cases(url)
        soak_round(url, cases, 120, seed=0)  # warm every path (allocator high-water marks)
        before = rss_bytes(proc.pid)
        slow = [raw_upload(url, 5000, 100_000, wait_s=1.5) for _ in range(2)]  # past the deadline
        results = [r for seed in (1, 2, 3) for r in soak_round(url, cases, 160, seed)]
        after = rss_bytes(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert slow == [408, 408]
    wrong = [(name, s) for name, s in results if s not in cases[name][1] | {503}]
    assert not wrong, wrong[:10]
    assert sum(s == 200 for _, s in results) > len(results) // 5
    growth = after - before
    counts = {s: sum(1 for _, t in results if t == s) for s in {t for _, t in results}}
    print(
        f"soak: {len(results)} requests, statuses {counts}, RSS {before / 2**20:.1f} -> "
        f"{after / 2**20:.1f} MiB"
    )
    assert growth < 40 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over {len(results)} requests"
    statuses = [line["status"] for line in log_lines(log) if line.get("msg") == "request"]
    assert statuses and all(s < 500 or s == 503 for s in statuses)
    assert not [line for line in log_lines(log) if line["level"] in {"error", "critical"}]
