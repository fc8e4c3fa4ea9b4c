"""Start-up and shut-down: warm-up and readiness, and uvicorn with a graceful drain.

At start-up the service reads one small page in the background (the first
read pays for onnxruntime's and numba's lazy set-up, and a page of several
lines for the line model and the page kernels); ``/readyz`` answers 200 only
once it has, so a load balancer sends no traffic to a cold process.
``/healthz`` answers as long as the process runs.

On SIGTERM, :func:`run_server` stops accepting connections, lets the requests
in flight finish (up to ``drain_s``), stops the reader threads and exits 0.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from digitrec.serve.schemas import ReadOptions
from digitrec.serve.uploads import Upload

__all__ = ["Readiness", "lifespan", "run_server", "warm_up_image"]

log = logging.getLogger("digitrec.serve")


def warm_up_image() -> bytes:
    """A 640 x 420 PNG page of two lines of strokes ("11" over "111"), cheap to read.

    Page-sized (above :data:`digitrec.vision.blur.COMPILED_PIXELS`) and of two
    lines, so that the default reader goes through the page layout, its
    compiled kernels and the line model, as the first real page would.
    """
    from PIL import Image, ImageDraw

    image = Image.new("L", (640, 420), 255)
    draw = ImageDraw.Draw(image)
    for top, count in ((60, 2), (240, 3)):
        for k in range(count):
            x = 80 + 60 * k
            draw.line([(x, top), (x, top + 90)], fill=0, width=8)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


class Readiness:
    """Whether the service has warmed up, and why not if it failed.

    Parameters
    ----------
    on_ready : callable, optional
        Called with the warm-up's seconds once it succeeded (the metrics).
    """

    def __init__(self, on_ready: Callable[[float], None] | None = None) -> None:
        self.ready = False
        self.failure: str | None = None
        self._on_ready = on_ready

    async def warm_up(self, runner: Any) -> None:
        """Read :func:`warm_up_image` through ``runner`` (a ``ReadRunner``), then be ready."""
        start = time.perf_counter()
        try:
            await runner.read(Upload("warm-up", warm_up_image()), ReadOptions(), count=False)
        except Exception as exc:
            # Not ready, and the log says why; /healthz still answers.
            self.failure = f"the start-up read failed: {exc}"
            log.exception("warm-up read failed; /readyz stays 503")
            return
        seconds = time.perf_counter() - start
        self.ready = True
        if self._on_ready is not None:
            self._on_ready(seconds)
        log.info("ready", extra={"fields": {"warm_up_ms": round(seconds * 1000, 1)}})


def lifespan(
    runner: Any, readiness: Readiness, on_close: Callable[[], None] | None = None
) -> Callable[[Any], Any]:
    """The app's lifespan: warm up in the background; at shutdown, stop the readers
    (and call ``on_close``)."""

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(readiness.warm_up(runner))
        try:
            yield
        finally:
            task.cancel()
            runner.close()
            if on_close is not None:
                on_close()

    return run


def _drained(signum: int, frame: Any) -> None:
    # uvicorn handles SIGTERM itself, drains, then raises the signal again so
    # that the process ends "as if" killed; this handler takes that second
    # raise, so a drained server exits with status 0.
    log.info("drained after SIGTERM; exiting")


def run_server(
    app: Any,
    *,
    host: str,
    port: int,
    drain_s: float = 30.0,
    max_connections: int | None = 100,
) -> None:
    """Serve ``app`` with uvicorn until SIGINT or SIGTERM.

    Parameters
    ----------
    app : ASGI app
        From :func:`digitrec.serve.create_app`.
    host, port : str, int
        Where to listen.
    drain_s : float
        On SIGTERM, how long requests in flight may take to finish before
        they are cancelled.
    max_connections : int, optional
        Connections (and requests) at once; beyond it uvicorn answers 503 at
        once, which bounds memory (each may hold an upload up to the limit).
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,  # our own JSON line per request replaces it
        log_config=None,  # keep the logging set up by digitrec.serve.observe
        timeout_graceful_shutdown=drain_s,  # type: ignore[arg-type]  # a float works
        limit_concurrency=max_connections,
    )
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
