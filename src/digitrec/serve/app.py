"""The HTTP service: FastAPI app factory with the read endpoints and the web page.

Endpoints
---------
``POST /v1/read``        one image, multi-page TIFF or PDF (multipart field ``file`` or a
                         raw body) -> its pages, each in the page shape
``POST /v1/read/batch``  several files (multipart fields ``files``) -> a list
``GET /v1/model``        name, accuracy and checksum of the model
``GET /healthz``         liveness
``GET /readyz``          readiness: the model is loaded and warmed up
``GET /metrics``         Prometheus metrics
``GET /``                the drawing page; ``/docs`` the API docs; ``/openapi.json``

This module holds the routes only: uploads are read by
:mod:`~digitrec.serve.uploads`, images by :mod:`~digitrec.serve.reader` (in a
bounded thread pool, each read under a time limit after which the client gets
a 503), answers are documented in :mod:`~digitrec.serve.schemas` and errors
shaped by :mod:`~digitrec.serve.errors`. Keys, rate limits, metrics, logs,
readiness and upload deadlines are added by :mod:`~digitrec.serve.ops`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from digitrec.errors import InputError
from digitrec.serve.access import Access
from digitrec.serve.errors import ApiError, install_handlers
from digitrec.serve.lifecycle import Readiness, lifespan
from digitrec.serve.observe import ServiceMetrics
from digitrec.serve.ops import install_ops
from digitrec.serve.reader import Reader, ReadRunner, VisionReader
from digitrec.serve.schemas import (
    BATCH_BODY,
    READ_BODY,
    BatchItem,
    HealthOut,
    ModelOut,
    ReadOptions,
    ReadOut,
    errors,
    read_options,
)
from digitrec.serve.uploads import Upload, read_files, read_single

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"

# Headers for the HTML pages: nothing is loaded from another origin.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Options = Annotated[ReadOptions, Depends(read_options)]


def create_app(
    model: Any = None,
    *,
    reader: Reader | None = None,
    max_upload_bytes: int = 10 * 2**20,
    max_pixels: int | None = None,
    request_timeout_s: float = 10.0,
    max_batch_files: int = 32,
    workers: int | None = None,
    access: Access | None = None,
    body_timeout_s: float = 60.0,
    max_pages: int = 20,
    batch_wait_ms: float = 2.0,
) -> FastAPI:
    """Build the digitrec HTTP service.

    Parameters
    ----------
    model : object, str, path-like or None
        The model to read with: a loaded model or a spec for
        :func:`digitrec.models.load_model`; ``None`` is ``"default"``, the
        pretrained CNN. Ignored when ``reader`` is given.
    reader : Reader, optional
        Read through this object instead of :class:`VisionReader` (tests
        inject a deterministic fake here).
    max_upload_bytes : int
        Largest request body accepted (413 beyond it). 10 MiB by default.
    max_pixels : int, optional
        Largest image (width x height, from its header) accepted (413 beyond);
        default: :data:`digitrec.vision.io.MAX_PIXELS`, the limit of the CLI.
    request_timeout_s : float
        Time limit of one read, queueing included (503 beyond it).
    max_batch_files : int
        Most files in one batch request.
    workers : int, optional
        Reader threads; default: the number of CPUs, at most 8.
    access : digitrec.serve.access.Access, optional
        API keys, rate limit and CORS origins; default: none of them.
    body_timeout_s : float
        Time allowed for a request body to arrive (408 beyond it).
    max_pages : int
        Most pages read from one PDF or multi-page TIFF (413 beyond).
    batch_wait_ms : float
        Micro-batching of the model calls of concurrent reads
        (:mod:`~digitrec.serve.batching`): the longest a read waits for the
        others, in ms; 0 turns it off. Ignored when ``reader`` is given.

    Returns
    -------
    fastapi.FastAPI
        The application; serve it with :func:`digitrec.serve.lifecycle.run_server`.

    Raises
    ------
    digitrec.errors.InputError
        A limit that is not positive.
    digitrec.errors.ModelError
        The model cannot be loaded.
    """
    if max_pixels is None:
        from digitrec.vision.io import MAX_PIXELS

        max_pixels = MAX_PIXELS
    names = "max_upload_bytes max_pixels request_timeout_s max_batch_files body_timeout_s max_pages"
    values = (max_upload_bytes, max_pixels, request_timeout_s, max_batch_files, body_timeout_s)
    _check_limits(dict(zip(names.split(), (*values, max_pages), strict=True)), batch_wait_ms)
    metrics = ServiceMetrics()
    if reader is None:
        with metrics.model_load.time():
            reader = VisionReader(model, batch_wait_s=batch_wait_ms / 1000)
    limits = {"max_pixels": max_pixels, "timeout_s": request_timeout_s, "max_pages": max_pages}
    workers = workers or min(8, os.cpu_count() or 1)
    runner = ReadRunner(reader, workers=workers, metrics=metrics, **limits)
    readiness = Readiness(on_ready=_ready_metrics(metrics))
    app = _app(runner, readiness, metrics)
    _read_routes(app, runner, max_upload_bytes, max_batch_files)
    info = reader.info()
    _service_routes(app, info)
    install_ops(app, metrics, readiness, access or Access(), body_timeout_s, info["name"])
    return app


def _check_limits(limits: dict[str, float], batch_wait_ms: float) -> None:
    for name, value in limits.items():
        if not value > 0:
            raise InputError(f"create_app: {name} must be positive, found {value!r}")
    if not 0 <= batch_wait_ms <= 1000:
        raise InputError(f"create_app: batch_wait_ms must be in [0, 1000], found {batch_wait_ms!r}")


def _ready_metrics(metrics: ServiceMetrics) -> Callable[[float], None]:
    def on_ready(seconds: float) -> None:
        metrics.warm_up.set(seconds)
        metrics.ready.set(1)

    return on_ready


def _app(runner: ReadRunner, readiness: Readiness, metrics: ServiceMetrics) -> FastAPI:
    app = FastAPI(
        title="digitrec",
        summary="Read handwritten digits over HTTP.",
        description=(
            "Send an image, multi-page TIFF or PDF with handwritten numbers; get every "
            "page's lines of writing in reading order, each with its text, confidence and "
            "box, and each character's confidence, top 3 and box. "
            'Errors are JSON `{"error": {"code", "message"}}`.'
        ),
        version=_version(),
        docs_url=None,  # the default docs load Swagger UI from a CDN; ours is offline
        redoc_url=None,
        lifespan=lifespan(runner, readiness, on_close=metrics.close),
    )
    install_handlers(app)
    app.state.reader = runner.reader
    return app


def _read_routes(app: FastAPI, runner: ReadRunner, max_bytes: int, max_files: int) -> None:
    @app.post(
        "/v1/read",
        summary="Read the numbers in one image, multi-page TIFF or PDF",
        openapi_extra={"requestBody": READ_BODY},
        responses={200: {"model": ReadOut}, **errors(400, 413, 415, 422, 503)},
        tags=["read"],
    )
    async def read_one(request: Request, options: Options) -> JSONResponse:
        """One image, multi-page TIFF or PDF, as the multipart field `file` or as the
        raw body with an image content type (`image/png`, `image/tiff`, ...),
        `application/pdf` or `application/octet-stream`. The kind is found from
        the bytes, not the name or type. The answer has every page in `pages`
        (an image is one page), each with its lines of writing in reading order;
        `text` and `confidence` sum the pages up."""
        upload = await read_single(request, max_bytes)
        return JSONResponse(await runner.read(upload, options))

    @app.post(
        "/v1/read/batch",
        summary="Read the numbers in several images or PDFs",
        openapi_extra={"requestBody": BATCH_BODY},
        responses={200: {"model": list[BatchItem]}, **errors(400, 413, 415, 422)},
        tags=["read"],
    )
    async def read_batch(request: Request, options: Options) -> JSONResponse:
        """Several images, TIFFs or PDFs as repeated multipart fields `files`. The
        answer is a list in upload order, each item the answer of `POST /v1/read`;
        a file that cannot be read gets `{"filename", "error"}` in its place, so
        one bad photo does not fail the others. The size limit
        applies to the whole request."""
        values = await read_files(request, max_bytes, max_files)

        async def one(value: Any) -> dict[str, Any]:
            if not isinstance(value, Upload):
                return {
                    "filename": "files",
                    "error": {"code": "expected_file", "message": "a text field, not a file"},
                }
            try:
                if not value.data:
                    raise ApiError(400, "empty_upload", f"{value.filename}: the upload is empty")
                return {"filename": value.filename, **await runner.read(value, options)}
            except ApiError as exc:
                return {"filename": value.filename, **exc.body()}

        return JSONResponse(list(await asyncio.gather(*(one(v) for v in values))))


def _service_routes(app: FastAPI, info: dict[str, Any]) -> None:
    @app.get("/v1/model", response_model=ModelOut, tags=["service"])
    async def model_card() -> dict[str, Any]:
        """The model's name, test accuracy and checksum."""
        return info

    @app.get("/healthz", response_model=HealthOut, tags=["service"])
    async def healthz() -> dict[str, Any]:
        """Liveness: answers while the server runs."""
        return {"status": "ok", "model": info["name"]}

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

    @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(STATIC_DIR / "docs.html", headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digitrec")
    except PackageNotFoundError:
        return "0"
