"""`digitrec batch`: read an image collection on Dask into a Parquet dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import app, console


@app.command()
def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Image files, folders (searched recursively), glob patterns (quoted), "
            "or list files (.txt/.lst/.list: one path per line)."
        ),
    ],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output Parquet dataset: a FOLDER of part files, read as one table by "
            "pyarrow.parquet.read_table / pandas.read_parquet / dask.dataframe.read_parquet. "
            "Rerunning with the same --out skips the images already there.",
        ),
    ] = Path("results.parquet"),
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Address of a running Dask scheduler (tcp://host:8786). "
            "Default: start a local cluster.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Worker processes of the local cluster. Default: the CPU count.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option("--model", help="A saved model folder, or 'default' (the shipped CNN)."),
    ] = "default",
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Images per Dask task.")
    ] = 64,
    rows_per_part: Annotated[
        int, typer.Option("--rows-per-part", min=1, help="Rows per Parquet part file.")
    ] = 10_000,
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence", min=0.0, max=1.0, help="Record digits less sure than this as '?'."
        ),
    ] = 0.0,
    max_digits: Annotated[
        int | None,
        typer.Option(
            "--max-digits", min=1, help="Keep only this many largest digits.", show_default=False
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's summary as one JSON object.")
    ] = False,
) -> None:
    """Read every image of a collection on Dask; one Parquet row per image.

    Columns: path, text, digits (digit, confidence, box), confidence, error.
    An image that cannot be read gets a row with its error and the job goes on.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from digitrec.errors import require_extra

    require_extra("batch", "digitrec batch")
    from digitrec.batch import expand_inputs, run_batch

    paths = expand_inputs(inputs)
    where = scheduler or f"a local cluster of {workers or 'CPU-count'} worker processes"
    console.print(f"{len(paths)} images; output {out_dir}; running on {where}", highlight=False)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run_batch(
            paths,
            out_dir,
            model=model,
            scheduler=scheduler,
            workers=workers,
            batch_size=batch_size,
            rows_per_part=rows_per_part,
            min_confidence=min_confidence,
            max_digits=max_digits,
            progress=progress,
        )
    line = (
        f"read {summary.read} images ({summary.errors} errors) in {summary.seconds:.1f} s "
        f"({summary.images_per_second:.1f} images/s); {summary.skipped} already done; "
        f"{len(summary.parts)} part files written to {out_dir}"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "total": summary.total,
                    "skipped": summary.skipped,
                    "read": summary.read,
                    "errors": summary.errors,
                    "seconds": round(summary.seconds, 3),
                    "images_per_second": round(summary.images_per_second, 2),
                    "parts": summary.parts,
                    "out": str(out_dir),
                }
            )
        )
    console.print(line, highlight=False)
