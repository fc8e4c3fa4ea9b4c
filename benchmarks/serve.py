"""Load test of ``digitrec serve`` on 5-digit strips, against its peers in the same run.

Each configuration is a server started in its own process on a free loopback
port, loaded in turn by 1, 8 and 50 concurrent keep-alive connections (a
closed loop: each connection sends its next request when the previous answer
has arrived) for ``--duration`` seconds, with photos of 5-digit strips
(MNIST test digits rendered by :mod:`digitrec.testing.synth`, PNG) sent as raw
``POST /v1/read`` bodies. The configurations:

* ``floor``: the HTTP-only floor: the same app and middleware, with
  ``--workers`` processes, but a trivial reader that answers a fixed 5-digit
  page without decoding the image;
* ``today``: the code of ``--old-src`` (a checkout of the commit to compare
  with), ``digitrec serve`` with its defaults; left out without ``--old-src``;
* ``w1_nobatch``: this code, one process, no micro-batching (``--workers 1
  --batch-wait-ms 0``);
* ``new``: this code with ``--workers`` processes and ``--batch-wait-ms`` (and the
  default reader threads per worker, the CPUs shared out, unless ``--threads``).

For every configuration and client count the JSON line has requests/s,
p50/p99/max latency, errors, and the CPU the server processes used per
request (from ``/proc``), beside the model's own CPU per read: the digit
crops of each strip run through the model alone, in this process. Every
configuration reads the strips first, and the texts must agree.

Usage::

    git archive OLD_COMMIT src | tar -x -C /tmp/old   # optional: "today"
    DIGITREC_DATA_DIR=... PYTHONPATH=src python benchmarks/serve.py \\
        --duration 15 --workers 2 --old-src /tmp/old/src

Only loopback traffic; every server is stopped (SIGTERM) after its runs.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
CLIENTS = (1, 8, 50)


# ---- the floor's server (run in a child process: `serve.py --serve-floor`) -----


class TrivialReader:
    """A reader that answers one fixed 5-digit line without looking at the page."""

    def info(self) -> dict:
        return {"name": "trivial", "accuracy": None, "checksum": "sha256:none"}

    def read(self, page, options) -> dict:
        chars = [
            {"char": d, "confidence": 0.99, "box": [10 * i, 0, 9, 20], "top3": [[d, 0.99]] * 3}
            for i, d in enumerate("12345")
        ]
        line = {"text": "12345", "confidence": 0.99, "box": [0, 0, 50, 20], "chars": chars}
        return {"path": None, "page": 1, "text": "12345", "confidence": 0.99, "lines": [line]}


def floor_app():
    """App factory of the floor's workers (imported as ``serve:floor_app``)."""
    from digitrec.serve import create_app
    from digitrec.serve.observe import configure_logging

    configure_logging()
    return create_app(reader=TrivialReader())


def serve_floor(port: int, workers: int) -> None:
    from digitrec.serve.workers import run_workers

    run_workers(
        {}, factory="serve:floor_app", workers=workers, host="127.0.0.1", port=port,
        drain_s=5, max_connections=100,
    )  # fmt: skip


# ---- servers --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, port: int, args: argparse.Namespace) -> subprocess.Popen:
    """Start configuration ``name`` on ``port``; return once /readyz is 200."""
    src = str(HERE.parent / "src")
    serve = [sys.executable, "-m", "digitrec", "serve", "--port", str(port)]
    if name == "floor":
        cmd = [sys.executable, str(HERE / "serve.py"), "--serve-floor", str(port)]
        cmd += ["--workers", str(args.workers)]
        path = [src, str(HERE)]
    elif name == "today":
        cmd, path = serve, [args.old_src]
    elif name == "w1_nobatch":
        cmd, path = [*serve, "--workers", "1", "--batch-wait-ms", "0"], [src]
    else:
        cmd = [*serve, "--workers", str(args.workers), "--batch-wait-ms", str(args.batch_wait_ms)]
        path = [src]
    if args.threads and name not in ("floor", "today"):
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), OMP_NUM_THREADS="1")
    # A file, not a pipe: the server logs a line per request, and nobody reads a pipe.
    log = tempfile.TemporaryFile()  # noqa: SIM115  (open as long as the server runs)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{name} exited: {log.read().decode(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                time.sleep(0.5)  # every worker warmed up, not only the one that answered
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{name}: no 200 from /readyz within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (the workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


# ---- load -----------------------------------------------------------------------


def requests_for(bodies: list[bytes]) -> list[bytes]:
    return [
        b"POST /v1/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
        + f"Content-Length: {len(b)}\r\n\r\n".encode()
        + b
        for b in bodies
    ]


async def _client(port: int, reqs: list[bytes], first: int, stop_at: float, out: dict) -> None:
    """One keep-alive HTTP/1.1 connection sending the strips in turn until ``stop_at``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = first
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                writer.write(reqs[i % len(reqs)])
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
                out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
                return
            i += 1
            if status == "200":
                out["latencies"].append(time.perf_counter() - t0)
            else:
                out["errors"][status] = out["errors"].get(status, 0) + 1
    finally:
        writer.close()


async def load(port: int, reqs: list[bytes], clients: int, duration: float) -> dict:
    """Closed-loop load of ``clients`` connections for ``duration`` seconds.

    The client is a few lines on asyncio streams rather than httpx, whose
    connection pool would measure the client instead of the server.
    """
    out: dict = {"latencies": [], "errors": {}}
    start = time.perf_counter()
    await asyncio.gather(
        *(_client(port, reqs, 7 * k, start + duration, out) for k in range(clients))
    )
    elapsed = time.perf_counter() - start
    ms = np.array(out["latencies"]) * 1000
    pct = (lambda q: round(float(np.percentile(ms, q)), 1)) if ms.size else (lambda q: None)
    return {
        "rps": round(ms.size / elapsed, 1),
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "max_ms": round(float(ms.max()), 1) if ms.size else None,
        "requests": int(ms.size),
        "errors": sum(out["errors"].values()),
        "error_kinds": out["errors"],
    }


def measure(name: str, bodies: list[bytes], args: argparse.Namespace) -> dict:
    """Start ``name``, read every strip once, then load it at each client count."""
    port = free_port()
    proc = start(name, port, args)
    try:
        texts = [
            httpx.post(
                f"http://127.0.0.1:{port}/v1/read",
                content=b,
                headers={"content-type": "image/png"},
                timeout=30,
            ).json()["text"]
            for b in bodies
        ]
        runs = {}
        reqs = requests_for(bodies)
        for clients in args.clients:
            asyncio.run(load(port, reqs, clients, 1.0))  # warm-up (caches, queues): not counted
            cpu0, client0 = cpu_seconds(proc.pid), time.process_time()
            stats = asyncio.run(load(port, reqs, clients, args.duration))
            n = max(stats["requests"], 1)
            stats["server_cpu_ms_per_request"] = round(1000 * (cpu_seconds(proc.pid) - cpu0) / n, 2)
            stats["client_cpu_ms_per_request"] = round(
                1000 * (time.process_time() - client0) / n, 2
            )
            runs[str(clients)] = stats
            print(f"{name} x{clients}: {json.dumps(stats)}", file=sys.stderr)
    finally:
        stop(proc)
    return {"texts": texts, "runs": runs}


# ---- the model alone --------------------------------------------------------------


class _Recorder:
    """Passes predict_proba through and keeps every batch of crops it was given."""

    def __init__(self, model) -> None:
        self.model, self.meta, self.batches = model, model.meta, []

    def predict_proba(self, images):
        self.batches.append(np.array(images))
        return self.model.predict_proba(images)


def model_only(bodies: list[bytes], repeat: int = 20) -> dict:
    """CPU ms per strip of the model alone on the strip's own crops, and of the read in process."""
    from digitrec.models import shared_model
    from digitrec.pages.documents import Page
    from digitrec.serve.reader import VisionReader
    from digitrec.serve.schemas import ReadOptions

    model = shared_model("default")
    recorder = _Recorder(model)
    reader, options = VisionReader(recorder), ReadOptions()
    for b in bodies:
        reader.read(Page(b, 1, "strip"), options)
    batches = recorder.batches
    t0 = time.process_time()
    for _ in range(repeat):
        for batch in batches:
            model.predict_proba(batch)
    model_ms = 1000 * (time.process_time() - t0) / (repeat * len(bodies))
    plain = VisionReader(model)
    t0 = time.process_time()
    for _ in range(max(1, repeat // 4)):
        for b in bodies:
            plain.read(Page(b, 1, "strip"), options)
    read_ms = 1000 * (time.process_time() - t0) / (max(1, repeat // 4) * len(bodies))
    return {
        "model_cpu_ms_per_read": round(model_ms, 2),
        "crops_per_read": round(sum(map(len, batches)) / len(bodies), 2),
        "model_calls_per_read": round(len(batches) / len(bodies), 2),
        "in_process_read_cpu_ms": round(read_ms, 2),
    }


# ---- where a read's CPU goes ---------------------------------------------------------

#: Stages of a strip read: (file, function) whose cumulative time is the stage's.
STAGES = {
    "decode": ("digitrec/vision/io.py", "load_image"),
    "ink_map": ("digitrec/vision/normalize.py", "ink_map"),
    "layout": ("digitrec/pages/layout.py", "find_lines"),
    "segment": ("digitrec/vision/segment.py", "segment"),
    "crops": ("digitrec/vision/normalize.py", "to_mnist"),
    "model": ("digitrec/models/cnn/infer.py", "predict_proba"),
    "json": ("json/__init__.py", "dumps"),
}


def stage_profile(bodies: list[bytes], repeat: int = 5) -> dict:
    """cProfile of in-process strip reads (answer to JSON included): ms per read by stage.

    Profiling slows Python-heavy stages more than the model; the shares are
    what to compare between two versions of the code.
    """
    import cProfile
    import pstats

    from digitrec.pages.documents import Page
    from digitrec.serve.reader import VisionReader
    from digitrec.serve.schemas import ReadOptions

    reader, options = VisionReader("default"), ReadOptions()
    for b in bodies[:5]:
        json.dumps(reader.read(Page(b, 1, "strip"), options))
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        for b in bodies:
            json.dumps(reader.read(Page(b, 1, "strip"), options))
    profile.disable()
    stats = pstats.Stats(profile).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    n = repeat * len(bodies)
    total = sum(v[2] for v in stats.values())  # every function's own time
    out = {
        stage: round(
            1000 * sum(v[3] for k, v in stats.items() if k[0].endswith(f) and k[2] == name) / n, 2
        )
        for stage, (f, name) in STAGES.items()
    }
    out["total"] = round(1000 * total / n, 2)
    out["other"] = round(out["total"] - sum(out[s] for s in STAGES), 2)
    return out


# ---- main -------------------------------------------------------------------------


def strips(n: int, seed: int) -> tuple[list[bytes], list[str]]:
    from PIL import Image

    from digitrec.data import load_mnist
    from digitrec.testing.synth import strings

    data = load_mnist()
    samples = strings(data.test_images, data.test_labels, n, seed=seed, length=5)
    out = []
    for s in samples:
        buf = io.BytesIO()
        Image.fromarray(s.image).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out, [s.text for s in samples]


def summary(results: dict, model: dict) -> dict:
    """Ratios against the peers, and the goal of issue 13 (>= 2.5x today, p99 <= 150 ms at 8)."""
    rps = {name: {c: r["rps"] for c, r in res["runs"].items()} for name, res in results.items()}
    out: dict = {}
    for peer in ("today", "w1_nobatch", "floor"):
        if peer in rps:
            out[f"new_vs_{peer}"] = {c: round(rps["new"][c] / rps[peer][c], 2) for c in rps["new"]}
    new8 = results["new"]["runs"].get("8")
    base = rps.get("today", rps.get("w1_nobatch", {}))
    if new8 is not None and "8" in base:
        out["goal_met"] = bool(rps["new"]["8"] >= 2.5 * base["8"] and new8["p99_ms"] <= 150)
    cpu = {
        n: r["runs"][max(r["runs"], key=int)]["server_cpu_ms_per_request"]
        for n, r in results.items()
    }
    out["server_cpu_ms_per_request_at_max_clients"] = cpu
    out["new_cpu_over_model_only"] = round(cpu["new"] / model["model_cpu_ms_per_read"], 1)
    if "floor" in cpu:
        out["new_cpu_minus_floor_ms"] = round(cpu["new"] - cpu["floor"], 2)
    return out


def old_profile(args: argparse.Namespace) -> dict:
    """:func:`stage_profile` of the code in ``--old-src``, in a process of its own."""
    env = dict(os.environ, PYTHONPATH=args.old_src, OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--profile-only", "--strips", str(args.strips)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per load")
    parser.add_argument("--clients", default="1,8,50", help="comma-separated client counts")
    parser.add_argument("--workers", type=int, default=2, help="processes of 'new' and 'floor'")
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None, help="reader threads per process")
    parser.add_argument("--old-src", default=None, help="src/ of the code to compare with")
    parser.add_argument("--strips", type=int, default=40)
    parser.add_argument("--configs", default=None, help="comma-separated subset to run")
    parser.add_argument("--profile-only", action="store_true", help="only the stage profile")
    parser.add_argument("--serve-floor", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor is not None:
        serve_floor(args.serve_floor, args.workers)
        return
    if args.profile_only:
        print(json.dumps(stage_profile(strips(args.strips, seed=2026)[0])))
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    if not (all(1 <= c <= 500 for c in args.clients) and 0 < args.duration <= 300):
        raise SystemExit("--clients must be 1-500 and --duration 0-300 s")
    bodies, truth = strips(args.strips, seed=2026)
    names = ["floor", *(["today"] if args.old_src else []), "w1_nobatch", "new"]
    if args.configs:
        names = [n for n in names if n in args.configs.split(",")]
    results = {name: measure(name, bodies, args) for name in names}
    texts = {n: r.pop("texts") for n, r in results.items()}
    texts.pop("floor", None)  # the trivial reader's fixed answer
    model = model_only(bodies)
    profiles = {"new": stage_profile(bodies)}
    if args.old_src:
        profiles["today"] = old_profile(args)
    line = {
        "benchmark": "serve",
        "endpoint": "POST /v1/read, raw PNG body: a photo of a 5-digit strip",
        "strips": len(bodies),
        "cpus": os.cpu_count(),
        "duration_s": args.duration,
        "workers": args.workers,
        "batch_wait_ms": args.batch_wait_ms,
        "threads": args.threads or "default",
        "same_texts_in_every_config": len({tuple(t) for t in texts.values()}) <= 1,
        "exact_5_digit_reads": {n: float(np.mean(np.equal(t, truth))) for n, t in texts.items()},
        **model,
        "profile_ms_per_read": profiles,
        "configs": results,
    }
    if "new" in results:
        line["summary"] = summary(results, model)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
