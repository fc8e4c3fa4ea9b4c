"""``digitrec serve --workers 2``: a real supervisor and two worker processes.

Both workers answer reads with the shipped model; ``/metrics`` adds up the
workers' counts whichever answers; SIGTERM ends the workers and the parent
exits 0, leaving no metrics folder behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from serve_helpers import seven_png
from test_serve_process import server

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="finds the worker processes in Linux /proc"
)


def test_cli_workers_and_batch_wait_reach_the_workers_settings(monkeypatch, tmp_path) -> None:
    from typer.testing import CliRunner

    import digitrec.models
    import digitrec.serve.observe
    import digitrec.serve.workers
    from digitrec.cli.app import app

    seen: dict = {}
    monkeypatch.setattr(digitrec.models, "load_model", lambda spec: seen.update(checked=spec))
    monkeypatch.setattr(
        digitrec.serve.workers, "run_workers", lambda s, **kw: seen.update(settings=s, run=kw)
    )
    monkeypatch.setattr(digitrec.serve.observe, "configure_logging", lambda: None)
    keys = tmp_path / "keys.txt"
    keys.write_text("k" * 20 + "\n")
    args = ["serve", "--port", "0", "--workers", "3", "--batch-wait-ms", "5", "--api-keys"]
    result = CliRunner().invoke(app, [*args, str(keys), "--rate-limit", "4/s"])
    assert result.exit_code == 0, result.output
    assert seen["checked"] == "default"  # the model is checked once, before the workers
    assert seen["run"]["workers"] == 3 and seen["run"]["port"] == 0
    settings = seen["settings"]
    assert settings["batch_wait_ms"] == 5.0 and settings["model"] == "default"
    # The workers read the keys themselves: the settings name the file, not the keys.
    assert settings["access"]["api_keys"] == str(keys.resolve())
    assert "k" * 20 not in repr(settings)
    assert settings["access"]["rate_limit"] == "4/s"
    # Reader threads by default: the CPUs shared out among the workers, at least one each.
    assert settings["workers"] == max(1, (os.cpu_count() or 1) // 3)


@pytest.mark.parametrize(("cpus", "workers", "given", "threads"), [
    (2, 2, None, 1), (8, 2, None, 4), (2, 3, None, 1), (2, 2, 3, 3),
])  # fmt: skip
def test_worker_reader_threads_default_to_the_cpus_shared_out(
    monkeypatch, cpus, workers, given, threads
) -> None:
    from typer.testing import CliRunner

    import digitrec.cli.serve
    import digitrec.models
    import digitrec.serve.observe
    import digitrec.serve.workers
    from digitrec.cli.app import app

    seen: dict = {}
    monkeypatch.setattr(digitrec.cli.serve.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(digitrec.models, "load_model", lambda spec: None)
    monkeypatch.setattr(digitrec.serve.workers, "run_workers", lambda s, **kw: seen.update(s=s))
    monkeypatch.setattr(digitrec.serve.observe, "configure_logging", lambda: None)
    args = ["serve", "--port", "0", "--workers", str(workers)]
    args += [] if given is None else ["--threads", str(given)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["s"]["workers"] == threads


def test_app_from_env_builds_the_app_the_settings_describe(monkeypatch, tmp_path) -> None:
    import json

    import digitrec.serve.app
    import digitrec.serve.observe
    from digitrec.serve.workers import SETTINGS_ENV, app_from_env
    from serve_helpers import FakeReader

    monkeypatch.setattr(digitrec.serve.observe, "configure_logging", lambda: None)
    built: dict = {}
    real = digitrec.serve.app.create_app
    monkeypatch.setattr(
        digitrec.serve.app,
        "create_app",
        lambda **kw: built.update(kw) or real(reader=FakeReader(), access=kw["access"]),
    )
    keys = tmp_path / "keys.txt"
    keys.write_text("a" * 24 + "\n")
    access = {"api_keys": str(keys), "rate_limit": "2/s", "rate_burst": 3, "origins": []}
    settings = {"model": "default", "batch_wait_ms": 0.0, "max_upload_bytes": 1000}
    monkeypatch.setenv(SETTINGS_ENV, json.dumps({**settings, "access": access}))
    app = app_from_env()
    assert {k: built[k] for k in settings} == settings
    assert built["access"].keys and built["access"].rate is not None
    assert app.title == "digitrec"


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def workers_of(pid: int) -> list[int]:
    """The uvicorn workers among the children (not multiprocessing's resource tracker)."""
    return [
        c
        for c in children(pid)
        if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
    ]


def reads_total(url: str) -> float:
    # A new connection per call: the kernel hands it to either worker.
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("digitrec_reads_total "):
            return float(line.split()[1])
    raise AssertionError("digitrec_reads_total not in /metrics")


def test_two_workers_read_share_metrics_and_stop_on_sigterm(tmp_path) -> None:
    log = tmp_path / "server.log"
    args = ["-m", "digitrec", "serve", "--port", "PORT", "--workers", "2", "--threads", "1"]
    with server(args, log) as (proc, url):
        pids = workers_of(proc.pid)
        assert len(pids) == 2, log.read_text()[-2000:]
        # The folder the parent made for the workers' metrics (in their environment).
        env = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
        (metrics_dir,) = [
            Path(v.split(b"=", 1)[1].decode())
            for v in env
            if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        ]
        assert metrics_dir.is_dir()
        n = 12
        for _ in range(n):
            r = httpx.post(
                url + "/v1/read",
                content=seven_png(),
                headers={"content-type": "image/png"},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            assert r.json()["text"] == "7"
        # Whichever worker answers, it reports both workers' reads.
        assert [reads_total(url) for _ in range(6)] == [float(n)] * 6
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        for pid in pids:
            assert (
                not Path(f"/proc/{pid}").exists()
                or b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower()
            )
    text = log.read_text()
    assert "Received SIGTERM" in text and "Stopping parent process" in text
    # The parent made the metrics folder, and removed it.
    assert not metrics_dir.exists()


def test_the_pinned_uvicorn_has_the_supervisor_the_workers_extend() -> None:
    """If a new uvicorn changes its (non-public) supervisor, this says so before users do."""
    from digitrec.serve.workers import _supervisor_api_fits

    assert _supervisor_api_fits()


def test_another_uvicorn_falls_back_to_its_own_workers(monkeypatch, caplog) -> None:
    import uvicorn

    from digitrec.serve import workers

    calls = []
    monkeypatch.setattr(workers, "_supervisor_api_fits", lambda: False)
    monkeypatch.setattr(workers, "_listening", lambda *a: pytest.fail("no socket of our own"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    access = {"api_keys": None, "rate_limit": None, "rate_burst": None, "origins": []}
    with caplog.at_level("WARNING", logger="digitrec.serve"):
        workers.run_workers(
            {"access": access},
            workers=3,
            host="127.0.0.1",
            port=8123,
            drain_s=2.5,
            max_connections=40,
        )
    ((app, kw),) = calls
    assert app == "digitrec.serve.workers:app_from_env" and kw["factory"] is True
    assert (kw["workers"], kw["port"], kw["limit_concurrency"]) == (3, 8123, 40)
    assert kw["timeout_graceful_shutdown"] == 2.5
    assert "uvicorn's own workers" in caplog.text
    assert workers.SETTINGS_ENV not in os.environ  # cleaned up as on the usual path


def test_a_killed_worker_is_replaced_and_its_live_gauges_dropped(tmp_path) -> None:
    log = tmp_path / "server.log"
    args = ["-m", "digitrec", "serve", "--port", "PORT", "--workers", "2", "--threads", "1"]
    with server(args, log) as (proc, url):
        pids = workers_of(proc.pid)
        env = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
        (metrics_dir,) = [
            Path(v.split(b"=", 1)[1].decode())
            for v in env
            if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")
        ]
        dead = pids[0]
        assert list(metrics_dir.glob(f"gauge_live*_{dead}.db")), sorted(metrics_dir.iterdir())
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (len(now := workers_of(proc.pid)) == 2 and dead not in now):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        while list(metrics_dir.glob(f"gauge_live*_{dead}.db")):
            assert time.monotonic() < deadline, sorted(metrics_dir.iterdir())
            time.sleep(0.2)
        # the replacement serves, and the service reports ready once it is
        while httpx.get(url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        r = httpx.post(url + "/v1/read", content=seven_png(), headers={"content-type": "image/png"})
        assert r.status_code == 200 and r.json()["text"] == "7"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
