"""What the service tells its operators: Prometheus metrics, JSON logs, request IDs.

Every request gets an ID (the client's ``X-Request-ID`` when it is a sane
token, else a fresh one), returned as the ``X-Request-ID`` header and written
in the request's one log line. The line is a JSON object, written by the
``digitrec.serve.access`` logger through :class:`JsonFormatter`; it names the
caller by ``key_id`` (the key's line number), never by the key.

Metrics live in one :class:`prometheus_client.CollectorRegistry` per app (so
several apps in one process do not collide) and are served at ``/metrics``.
With several worker processes (``digitrec serve --workers N``), prometheus_client's
multiprocess mode is on (``PROMETHEUS_MULTIPROC_DIR`` set before the workers
start): every worker writes its values to files there, and whichever worker
answers ``/metrics`` reports the sum over all of them.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ACCESS_LOG",
    "MULTIPROC_ENV",
    "JsonFormatter",
    "ObserveMiddleware",
    "QueuedLines",
    "ServiceMetrics",
    "configure_logging",
    "request_id",
]

#: Where prometheus_client's multiprocess mode keeps the workers' values.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The logger of the one-line-per-request log.
ACCESS_LOG = logging.getLogger("digitrec.serve.access")

# A client's request ID is kept only if it cannot break a log line or a header.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

# Latency buckets (s): an HTTP-only answer takes about 2 ms here, a strip read 10-100 ms.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """The service's Prometheus metrics, in their own registry."""

    in_flight: Gauge
    model_load: Gauge
    warm_up: Gauge
    ready: Gauge

    def __init__(self) -> None:
        #: True when the values are shared between worker processes (see the module).
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.registry = CollectorRegistry()
        if self.multiprocess:
            from prometheus_client import multiprocess

            # /metrics reads every worker's files; the metrics themselves go in a
            # registry of their own, which only gives them names.
            multiprocess.MultiProcessCollector(self.registry)
            registry = CollectorRegistry()
        else:
            registry = self.registry
            ProcessCollector(registry=registry)  # memory, CPU, open files of this process
        by_route = ["method", "route"]
        self.requests = Counter(
            "digitrec_http_requests",
            "HTTP requests answered, by route template and status.",
            [*by_route, "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "digitrec_http_request_duration_seconds",
            "Time from request to the end of the answer, by route template.",
            by_route,
            buckets=_BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "digitrec_rejections",
            "Requests refused (4xx and 503), by status and error code.",
            ["status", "reason"],
            registry=registry,
        )
        self.reads = Counter("digitrec_reads", "Images read.", registry=registry)
        self.digits = Counter(
            "digitrec_digits_read", "Digits found in images read.", registry=registry
        )
        # With several workers: the queue depth sums the live workers'; the start-up
        # times are the slowest worker's; ready is 1 once every live worker is.
        gauges = {
            "in_flight": ("digitrec_reads_in_flight", "livesum", "Reads queued or running in "
                          "the reader threads (the queue depth)."),
            "model_load": ("digitrec_model_load_seconds", "max", "Time taken to load the model."),
            "warm_up": ("digitrec_warm_up_seconds", "max", "Time taken by the start-up read."),
            "ready": ("digitrec_ready", "livemin", "1 once the model is loaded and warmed up."),
        }  # fmt: skip
        for attr, (name, mode, doc) in gauges.items():
            setattr(self, attr, Gauge(name, doc, registry=registry, multiprocess_mode=mode))

    def close(self) -> None:
        """At the worker's exit: drop its live gauges from the shared values."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())

    def read_done(self, result: dict[str, Any]) -> None:
        """Count one successful read and its digits (separators not counted)."""
        self.reads.inc()
        chars = (
            c["char"]
            for page in result.get("pages", ())
            for line in page.get("lines", ())
            for c in line.get("chars", ())
        )
        self.digits.inc(sum(1 for ch in chars if ch.isdigit()))


def request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def _route(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    # The route's template (/v1/read), not the path: a label per URL would
    # let any client grow the metrics without bound.
    route = scope.get("route")
    if route is None:
        # Refused before routing (no key, rate limit): find the route it was for.
        route = next((r for r in routes if r.matches(scope)[0] is not Match.NONE), None)
    return getattr(route, "path", None) or "unmatched"


class ObserveMiddleware:
    """ASGI middleware: request ID header, metrics and one JSON log line per request."""

    def __init__(
        self, app: ASGIApp, metrics: ServiceMetrics, routes: Sequence[BaseRoute] = ()
    ) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        start = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route, method, state = _route(scope, self.routes), scope["method"], scope["state"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        if 400 <= status < 500 or status == 503:
            reason = state.get("error_code") or f"http_{status}"
            self.metrics.rejections.labels(str(status), reason).inc()
        fields = {
            "request_id": state["request_id"],
            "method": method,
            "route": route,
            "path": scope["path"],
            "status": status,
            "ms": round(seconds * 1000, 2),
            "client": (scope.get("client") or ("-",))[0],
        }
        for extra in ("key_id", "error_code"):
            if extra in state:
                fields[extra] = state[extra]
        ACCESS_LOG.info("request", extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``msg``, the record's ``fields`` (see :class:`ObserveMiddleware`) and any
    exception's traceback as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class QueuedLines(logging.Handler):
    """Formats records in the caller's thread; a daemon thread writes them out.

    A request never waits for stderr: if whatever reads it (a terminal, a log
    shipper) stalls, up to ``max_lines`` lines wait in memory and later ones
    are dropped and counted in :attr:`dropped`, instead of the event loop
    blocking on a full pipe.

    Parameters
    ----------
    stream : file-like
        Where the lines go (stderr).
    max_lines : int
        Lines held while the stream is slow.
    """

    def __init__(self, stream: Any, max_lines: int = 10_000) -> None:
        super().__init__()
        self.stream = stream
        self.dropped = 0
        self._lines: queue.Queue[str | None] = queue.Queue(max_lines)
        self._writer = threading.Thread(target=self._write, name="digitrec-log", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.put_nowait(self.format(record))
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while (line := self._lines.get()) is not None:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self, timeout_s: float = 2.0) -> None:
        """Write what is queued (waiting at most ``timeout_s``), then stop."""
        with contextlib.suppress(queue.Full):
            self._lines.put(None, timeout=timeout_s)
            self._writer.join(timeout_s)
        super().close()


def configure_logging(level: int = logging.INFO) -> None:
    """Send the service's and uvicorn's logs to stderr as JSON lines (once per process).

    Parameters
    ----------
    level : int
        Level of the ``digitrec`` and ``uvicorn.error`` loggers (the request
        log is INFO); other libraries log at WARNING and above.
    """
    root = logging.getLogger()
    if not any(isinstance(h, QueuedLines) for h in root.handlers):
        handler = QueuedLines(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        atexit.register(handler.close)
    root.setLevel(logging.WARNING)
    for name in ("digitrec", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)
