"""The operations layer of the service: ``/readyz``, ``/metrics`` and the middleware.

From the outside in, a request passes :class:`~digitrec.serve.observe.ObserveMiddleware`
(request ID, metrics, log line), CORS (only when origins are configured),
:class:`~digitrec.serve.access.AccessMiddleware` (key, rate limit) and
:class:`~digitrec.serve.guard.BodyGuard` (upload deadline) before the routes.
CORS sits outside the key check because a browser's preflight request carries
no key.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from digitrec.serve.access import Access, AccessMiddleware, KeyRing
from digitrec.serve.errors import error_body
from digitrec.serve.guard import BodyGuard
from digitrec.serve.lifecycle import Readiness
from digitrec.serve.observe import ObserveMiddleware, ServiceMetrics
from digitrec.serve.schemas import HealthOut, errors

__all__ = ["install_ops"]

_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
_ACCESS_ERRORS = {
    401: "No API key, or one that is not valid (`WWW-Authenticate: Bearer`).",
    408: "The request body did not arrive in time.",
    429: "Rate limit reached; retry after `Retry-After` seconds.",
}


def install_ops(
    app: FastAPI,
    metrics: ServiceMetrics,
    readiness: Readiness,
    access: Access,
    body_timeout_s: float,
    model_name: str,
) -> None:
    """Add ``/readyz``, ``/metrics`` and the middleware stack to ``app``.

    Parameters
    ----------
    app : fastapi.FastAPI
        The service, its routes already added.
    metrics : ServiceMetrics
        Where requests and reads are counted.
    readiness : Readiness
        The warm-up state behind ``/readyz``.
    access : Access
        Keys, rate limit and CORS origins.
    body_timeout_s : float
        Time allowed for a request body to arrive (408 beyond).
    model_name : str
        The model's name, for ``/readyz``.
    """
    _ops_routes(app, metrics, readiness, model_name)
    _document(app, access)
    # add_middleware wraps the app built so far: the last added runs first.
    app.add_middleware(BodyGuard, timeout_s=body_timeout_s)
    app.add_middleware(AccessMiddleware, keys=KeyRing(access.keys), buckets=access.buckets())
    if access.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(access.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(ObserveMiddleware, metrics=metrics, routes=app.router.routes)
    app.state.metrics = metrics
    app.state.readiness = readiness


def _ops_routes(
    app: FastAPI, metrics: ServiceMetrics, readiness: Readiness, model_name: str
) -> None:
    @app.get("/readyz", response_model=HealthOut, responses={**errors(503)}, tags=["service"])
    async def readyz() -> Any:
        """Readiness: 200 once the model is loaded and has read a first image, 503
        before (or if that read failed)."""
        if readiness.ready:
            return {"status": "ready", "model": model_name}
        message = readiness.failure or "warming up: the model has not read its first image yet"
        return JSONResponse(
            error_body("not_ready", message), status_code=503, headers={"Retry-After": "1"}
        )

    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"description": "Prometheus text format.", "content": {"text/plain": {}}},
        },
        tags=["service"],
    )
    async def prometheus_metrics() -> Response:
        """The service's metrics in Prometheus text format (needs a key when keys
        are configured)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _document(app: FastAPI, access: Access) -> None:
    """Add the middleware's error answers to the API routes' documentation."""
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        statuses = []
        if route.path.startswith("/v1/"):
            statuses = [408] if "POST" in route.methods else []
            statuses += [401] if access.keys else []
            statuses += [429] if access.rate is not None else []
        elif route.path == "/metrics" and access.keys:
            statuses = [401]
        for status in statuses:
            route.responses.setdefault(
                status, {"description": _ACCESS_ERRORS[status], "content": _ERROR_REF}
            )
