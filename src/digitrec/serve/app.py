"""The HTTP service: FastAPI app factory with the read endpoints and the web page.

Endpoints
---------
``POST /v1/read``        one image (multipart field ``file`` or a raw image body)
``POST /v1/read/batch``  several files (multipart fields ``files``) -> a list
``GET /v1/model``        name, accuracy and checksum of the model
``GET /healthz``         liveness
``GET /``                the drawing page; ``/docs`` the API docs; ``/openapi.json``

Reading is CPU-bound, so it runs in a bounded thread pool; each read has a
time limit after which the client gets a 503 (the worker finishes in the
background; reads still queued are dropped).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from digitrec.errors import InputError
from digitrec.serve.errors import ApiError, install_handlers
from digitrec.serve.reader import Reader, VisionReader
from digitrec.serve.schemas import BatchItem, ErrorOut, HealthOut, ModelOut, ReadOut
from digitrec.serve.uploads import (
    Upload,
    check_pixels,
    read_body,
    read_multipart,
    read_single,
)

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"

_BINARY = {"type": "string", "format": "binary"}
_READ_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"], "properties": {"file": _BINARY}}
        },
        "image/png": {"schema": _BINARY},
        "image/jpeg": {"schema": _BINARY},
        "application/octet-stream": {"schema": _BINARY},
    },
}
_BATCH_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {"files": {"type": "array", "items": _BINARY}},
            }
        }
    },
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in codes}


# Headers for the HTML pages: nothing is loaded from another origin.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Images = Annotated[bool, Query(description="Include each digit's 28x28 input as a base64 PNG.")]
MinConfidence = Annotated[
    float,
    Query(ge=0.0, le=1.0, description="Digits below this confidence are reported as null."),
]
MaxDigits = Annotated[
    int | None, Query(ge=1, le=1000, description="Read at most this many digits.")
]


def create_app(
    model: Any = None,
    *,
    reader: Reader | None = None,
    max_upload_bytes: int = 10 * 2**20,
    max_pixels: int = 50_000_000,
    request_timeout_s: float = 10.0,
    max_batch_files: int = 32,
    workers: int | None = None,
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
    max_pixels : int
        Largest image (width x height, from its header) accepted (413 beyond).
    request_timeout_s : float
        Time limit of one read, queueing included (503 beyond it).
    max_batch_files : int
        Most files in one batch request.
    workers : int, optional
        Reader threads; default: the number of CPUs, at most 8.

    Returns
    -------
    fastapi.FastAPI
        The application; serve it with uvicorn.

    Raises
    ------
    digitrec.errors.InputError
        A limit that is not positive.
    digitrec.errors.ModelError
        The model cannot be loaded.
    """
    for name, value in (
        ("max_upload_bytes", max_upload_bytes),
        ("max_pixels", max_pixels),
        ("request_timeout_s", request_timeout_s),
        ("max_batch_files", max_batch_files),
    ):
        if not value > 0:
            raise InputError(f"create_app: {name} must be positive, found {value!r}")
    if reader is None:
        reader = VisionReader(model)
    info = reader.info()
    pool = _Pool(workers or min(8, os.cpu_count() or 1))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="digitrec",
        summary="Read handwritten digits over HTTP.",
        description=(
            "Send an image with handwritten digits; get the number read, each digit's "
            'confidence, top 3 and box. Errors are JSON `{"error": {"code", "message"}}`.'
        ),
        version=_version(),
        docs_url=None,  # the default docs load Swagger UI from a CDN; ours is offline
        redoc_url=None,
        lifespan=lifespan,
    )
    install_handlers(app)
    app.state.reader = reader
    app.state.limits = {
        "max_upload_bytes": max_upload_bytes,
        "max_pixels": max_pixels,
        "request_timeout_s": request_timeout_s,
        "max_batch_files": max_batch_files,
    }

    async def run_read(upload: Upload, **options: Any) -> dict[str, Any]:
        check_pixels(upload, max_pixels)
        call: Callable[[], dict[str, Any]] = lambda: reader.read(upload.data, **options)  # noqa: E731
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(pool.get(), call), timeout=request_timeout_s
            )
        except TimeoutError as exc:
            raise ApiError(
                503,
                "timeout",
                f"{upload.filename}: reading took longer than {request_timeout_s:g} s "
                "(the server is busy, or the image is unusually complex); retry later",
                headers={"Retry-After": "1"},
            ) from exc
        except InputError as exc:
            raise ApiError(422, "invalid_image", f"{upload.filename}: {exc}") from exc

    @app.post(
        "/v1/read",
        summary="Read the digits in one image",
        openapi_extra={"requestBody": _READ_BODY},
        responses={200: {"model": ReadOut}, **_errors(400, 413, 415, 422, 503)},
        tags=["read"],
    )
    async def read_one(
        request: Request,
        images: Images = False,
        min_confidence: MinConfidence = 0.0,
        max_digits: MaxDigits = None,
    ) -> JSONResponse:
        """One image, as the multipart field `file` or as the raw body with an image
        content type (`image/png`, `image/jpeg`, ...)."""
        upload = await read_single(request, max_upload_bytes)
        result = await run_read(
            upload, include_images=images, min_confidence=min_confidence, max_digits=max_digits
        )
        return JSONResponse(result)

    @app.post(
        "/v1/read/batch",
        summary="Read the digits in several images",
        openapi_extra={"requestBody": _BATCH_BODY},
        responses={200: {"model": list[BatchItem]}, **_errors(400, 413, 415, 422)},
        tags=["read"],
    )
    async def read_batch(
        request: Request,
        images: Images = False,
        min_confidence: MinConfidence = 0.0,
        max_digits: MaxDigits = None,
    ) -> JSONResponse:
        """Several images as repeated multipart fields `files`. The answer is a list
        in upload order; a file that cannot be read gets `{"filename", "error"}` in
        its place, so one bad photo does not fail the others. The size limit
        applies to the whole request."""
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "multipart/form-data":
            raise ApiError(
                415,
                "unsupported_media_type",
                f"content type {media or '(none)'!r} is not accepted; send multipart/form-data "
                "with one field 'files' per image (curl: -F files=@a.png -F files=@b.png)",
            )
        body = await read_body(request, max_upload_bytes)
        fields = await read_multipart(request, body, max_files=max_batch_files)
        values = fields.get("files", [])
        if not values:
            raise ApiError(
                400, "no_files", "expected one or more multipart fields 'files', found none"
            )
        if len(values) > max_batch_files:
            raise ApiError(
                413,
                "too_many_files",
                f"{len(values)} files sent; at most {max_batch_files} per batch",
            )

        async def one(value: Any) -> dict[str, Any]:
            if not isinstance(value, Upload):
                return {
                    "filename": "files",
                    "error": {"code": "expected_file", "message": "a text field, not a file"},
                }
            if not value.data:
                err = ApiError(400, "empty_upload", f"{value.filename}: the upload is empty")
                return {"filename": value.filename, **err.body()}
            try:
                result = await run_read(
                    value,
                    include_images=images,
                    min_confidence=min_confidence,
                    max_digits=max_digits,
                )
            except ApiError as exc:
                return {"filename": value.filename, **exc.body()}
            return {"filename": value.filename, **result}

        return JSONResponse(list(await asyncio.gather(*(one(v) for v in values))))

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
    return app


class _Pool:
    """The reader threads, started on first use and stopped at shutdown.

    Started lazily rather than in ``create_app`` because an app can go through
    several lifespans (a test client per test, an ASGI fuzzer per call).
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="digitrec-read"
                )
            return self._executor

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            # Running reads finish in the background; queued ones are dropped.
            executor.shutdown(wait=False, cancel_futures=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digitrec")
    except PackageNotFoundError:
        return "0"
