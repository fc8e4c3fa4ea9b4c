"""`digitrec serve`: the HTTP service and the drawing page, on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from digitrec.cli.app import app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    model: Annotated[
        str, typer.Option("--model", help="Saved model folder, or 'default' (the CNN).")
    ] = "default",
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=0.001, help="Largest upload, in MiB.")
    ] = 10.0,
    max_pixels: Annotated[
        int, typer.Option("--max-pixels", min=1, help="Largest image, width x height.")
    ] = 50_000_000,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Time limit of one read, seconds.")
    ] = 10.0,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, max=64, help="Reader threads (default: CPUs, max 8)."),
    ] = None,
) -> None:
    """Serve the HTTP API (/v1/read, /docs) and the drawing page (/)."""
    from digitrec.errors import require_extra

    require_extra("serve", "digitrec serve")
    import uvicorn

    from digitrec.serve import create_app

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
