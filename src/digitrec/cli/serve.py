"""`digitrec serve`: the HTTP service and the drawing page, on uvicorn."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from digitrec.cli import reading
from digitrec.cli.app import app, console
from digitrec.errors import InputError

if TYPE_CHECKING:
    from digitrec.serve.access import Access

# As digitrec.serve.access.KEYS_ENV, which cannot be imported here: `digitrec --help`
# must not load the service's libraries.
KEYS_ENV = "DIGITREC_API_KEYS"


def check_port(host: str, port: int) -> None:
    """Refuse a port that is already taken, before anything is loaded or printed.

    Raises
    ------
    InputError
        ``host`` does not resolve, or ``host:port`` cannot be bound (in use,
        or a privileged port).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise InputError(
            f"--host {host}: expected an address to listen on, found none ({exc.strerror}); "
            "try 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from exc
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by an earlier server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(
                f"--port {port}: expected a free port on {host}, found it taken "
                f"({exc.strerror}); stop the server using it, or choose another --port"
            ) from exc


Host = Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")]
Port = Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="TCP port.")]
UploadMiB = Annotated[
    float, typer.Option("--max-upload-mb", min=0.001, metavar="MIB", help="Largest upload, in MiB.")
]
Pixels = Annotated[
    int | None, typer.Option(min=1, metavar="N", help="Largest image, width x height (as the CLI).")
]
Seconds = Annotated[float, typer.Option(min=0.001, metavar="S", help="Time limit of one read, s.")]
Pages = Annotated[
    int, typer.Option(min=1, metavar="N", help="Most pages read from one PDF or TIFF (413 beyond).")
]
_THREADS_HELP = "Reader threads per process (default: CPUs, max 8; with --workers N: CPUs / N)."
Threads = Annotated[int | None, typer.Option(min=1, max=64, metavar="N", help=_THREADS_HELP)]


KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--api-keys",
        metavar="FILE",
        help=f"API keys, one per line (# comments allowed); also read from ${KEYS_ENV} "
        "(comma-separated). Callers then send 'Authorization: Bearer KEY'.",
    ),
]
Rate = Annotated[
    str | None,
    typer.Option(
        "--rate-limit", metavar="RATE", help="Requests per key (or address) on /v1, e.g. 10/s."
    ),
]
Burst = Annotated[
    int | None,
    typer.Option(min=1, metavar="N", help="Requests at once per caller (default: the rate)."),
]
Origins = Annotated[
    list[str] | None,
    typer.Option(
        "--cors-origin", metavar="ORIGIN", help="Allow browser calls from ORIGIN (repeatable)."
    ),
]
Drain = Annotated[
    float,
    typer.Option(min=0.0, metavar="S", help="On SIGTERM, time for requests in flight to finish."),
]
BodySeconds = Annotated[
    float, typer.Option(min=0.001, metavar="S", help="Time allowed for an upload to arrive.")
]
Connections = Annotated[
    int, typer.Option(min=1, metavar="N", help="Connections at once, per worker (503 beyond).")
]
Workers = Annotated[
    int,
    typer.Option(
        min=1, max=64, metavar="N", help="Worker processes, each with the model loaded once."
    ),
]
BatchWait = Annotated[
    float,
    typer.Option(
        "--batch-wait-ms",
        min=0.0,
        max=1000.0,
        metavar="MS",
        help="Reads running together share one model call; the longest a read waits "
        "for the others, ms (0: off).",
    ),
]


def access_settings(
    api_keys: Path | None, rate_limit: str | None, rate_burst: int | None, origins: list[str]
) -> Access:
    """The :class:`~digitrec.serve.access.Access` of the command's options and environment."""
    from digitrec.serve.access import Access, load_keys, parse_rate

    keys = load_keys(api_keys, os.environ.get(KEYS_ENV))
    rate = None if rate_limit is None else parse_rate(rate_limit)
    return Access(keys=keys, rate=rate, burst=rate_burst, cors_origins=tuple(origins))


def _is_loopback(host: str) -> bool:
    address = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
    return ipaddress.ip_address(address).is_loopback


def _announce(host: str, port: int, access: Access) -> None:
    # Logged, not printed: once serving, stderr holds JSON lines only.
    import logging

    log = logging.getLogger("digitrec.serve")
    url = f"http://{host}:{port}"
    log.info(f"drawing page at {url}/ , API docs at {url}/docs", extra={"fields": {"url": url}})
    if access.keys:
        log.info(f"{len(access.keys)} API key(s) configured: /v1 and /metrics need one")
    elif _is_loopback(host):
        log.info(
            f"no API keys: listening on {host}, this machine only; to serve others, "
            "set --api-keys FILE and --host 0.0.0.0"
        )
    else:
        log.warning(
            f"no API keys, and listening on {host}: anyone who can reach this port can use "
            f"the service; set --api-keys FILE or ${KEYS_ENV}"
        )


def worker_threads(workers: int) -> int:
    """Reader threads of each of ``workers`` processes by default: the CPUs shared out.

    A process's reader threads share one interpreter lock, and the workers
    together already keep every core busy: more threads per worker only
    contend (on 2 cores and 8 clients, 2 workers of 1 thread served 188-204
    strips/s against 175-192 for 2 of 2 threads, at less CPU per read;
    docs/service.md).
    """
    return max(1, (os.cpu_count() or 1) // workers)


@app.command(cls=reading.CleanHelpCommand)
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    model: reading.ModelSpec = "default",
    max_upload_mb: UploadMiB = 10.0,
    max_pixels: Pixels = None,
    max_pages: Pages = 20,
    timeout: Seconds = 10.0,
    threads: Threads = None,
    api_keys: KeyFile = None,
    rate_limit: Rate = None,
    rate_burst: Burst = None,
    cors_origin: Origins = None,
    drain_timeout: Drain = 30.0,
    body_timeout: BodySeconds = 60.0,
    max_connections: Connections = 100,
    workers: Workers = 1,
    batch_wait_ms: BatchWait = 2.0,
) -> None:
    """Serve the HTTP API (/v1/read, /docs, /metrics) and the drawing page (/).

    Logs go to stderr as JSON lines, one per request. SIGTERM drains the
    requests in flight, then exits 0.
    """
    from digitrec.errors import require_extra

    require_extra("serve", "digitrec serve")
    from digitrec.serve.observe import configure_logging

    access = access_settings(api_keys, rate_limit, rate_burst, cors_origin or [])
    check_port(host, port)
    settings = {
        "model": model,
        "max_upload_bytes": int(max_upload_mb * 2**20),
        "max_pixels": max_pixels,
        "max_pages": max_pages,
        "request_timeout_s": timeout,
        "workers": threads,
        "body_timeout_s": body_timeout,
        "batch_wait_ms": batch_wait_ms,
    }
    serving = {"host": host, "port": port, "drain_s": drain_timeout}
    if workers > 1:
        from digitrec.models import load_model

        settings["workers"] = threads or worker_threads(workers)
        from digitrec.serve.workers import run_workers

        with console.status(f"checking model {model}"):
            load_model(model)  # a bad model fails here, once, not in every worker
        settings["access"] = {
            "api_keys": None if api_keys is None else str(api_keys.resolve()),
            "rate_limit": rate_limit,
            "rate_burst": rate_burst,
            "origins": cors_origin or [],
        }
        configure_logging()
        _announce(host, port, access)
        run_workers(settings, workers=workers, max_connections=max_connections, **serving)
        return
    from digitrec.serve import create_app
    from digitrec.serve.lifecycle import run_server

    with console.status(f"loading model {model}"):
        api = create_app(access=access, **settings)  # type: ignore[arg-type]
    configure_logging()
    _announce(host, port, access)
    run_server(api, max_connections=max_connections, **serving)
