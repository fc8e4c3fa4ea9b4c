"""`digitrec serve`: the HTTP service and the drawing page, on uvicorn."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from digitrec.cli import reading
from digitrec.cli.app import app, console
from digitrec.errors import InputError


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
Threads = Annotated[
    int | None,
    typer.Option(min=1, max=64, metavar="N", help="Reader threads (default: CPUs, max 8)."),
]


@app.command(cls=reading.CleanHelpCommand)
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    model: reading.ModelSpec = "default",
    max_upload_mb: UploadMiB = 10.0,
    max_pixels: Pixels = None,
    timeout: Seconds = 10.0,
    threads: Threads = None,
) -> None:
    """Serve the HTTP API (/v1/read, /docs) and the drawing page (/)."""
    from digitrec.errors import require_extra

    require_extra("serve", "digitrec serve")
    import uvicorn

    from digitrec.serve import create_app

    check_port(host, port)
    with console.status(f"loading model {model}"):
        api = create_app(
            model,
            max_upload_bytes=int(max_upload_mb * 2**20),
            max_pixels=max_pixels,
            request_timeout_s=timeout,
            workers=threads,
        )
    console.print(f"digitrec: drawing page at http://{host}:{port}/ , API docs at /docs")
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)
