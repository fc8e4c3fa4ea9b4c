"""Error responses: every failure is JSON ``{"error": {"code", "message"}}``.

Expected failures are raised as :class:`ApiError` with a 4xx (or 503) status
where they are detected. Framework errors (unknown route, wrong method, invalid
query parameter) are rewritten into the same shape. The handler for any other
exception is a last resort for bugs: it logs the traceback and answers 500
without leaking internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "error_body", "install_handlers"]

log = logging.getLogger("digitrec.serve")


class ApiError(Exception):
    """A failure with an HTTP status, a stable machine code and a human message.

    Parameters
    ----------
    status : int
        HTTP status code.
    code : str
        Stable, snake_case identifier clients can branch on.
    message : str
        What was expected, what was found and how to fix it.
    headers : dict, optional
        Extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return error_body(self.code, self.message)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{"error": {"code": code, "message": message, **extra}}``."""
    return {"error": {"code": code, "message": message, **extra}}


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


def _note(request: Request, code: str) -> None:
    # For the request's log line and the rejection metrics (digitrec.serve.observe).
    request.scope.setdefault("state", {})["error_code"] = code


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    _note(request, exc.code)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404:
        message = f"{request.url.path}: no such endpoint; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} {request.url.path}: method not allowed; see /docs"
    _note(request, _slug(exc.status_code))
    return JSONResponse(
        error_body(_slug(exc.status_code), message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()))
        details.append({"field": where, "problem": str(err.get("msg", "invalid"))})
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details) or "invalid request"
    _note(request, "invalid_request")
    return JSONResponse(
        error_body("invalid_request", f"invalid request parameters: {summary}", details=details),
        status_code=422,
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Last resort: reaching this is a bug, never an answer to bad input.
    rid = request.scope.get("state", {}).get("request_id", "-")
    log.exception("unexpected error on %s %s (request %s)", request.method, request.url.path, rid)
    return JSONResponse(
        error_body(
            "internal_error",
            f"the server hit an unexpected error; please report it with request ID {rid}",
        ),
        status_code=500,
        headers={"X-Request-ID": rid},
    )


def install_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
