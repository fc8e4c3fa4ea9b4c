"""`digitrec batch`: read an image collection on Dask into a Parquet dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from digitrec.cli import reading
from digitrec.cli.app import app, console

OutFolder = Annotated[
    Path,
    typer.Option(
        "--out",
        metavar="FOLDER",
        help="Output Parquet dataset: a FOLDER of part files, read as one table by "
        "pyarrow.parquet.read_table / pandas.read_parquet / dask.dataframe.read_parquet. "
        "Rerunning with the same --out skips the images already there.",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Address of a running Dask scheduler (tcp://host:8786). "
        "Default: start a local cluster.",
        show_default=False,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        metavar="N",
        help="Worker processes of the local cluster. Default: the CPU count.",
        show_default=False,
    ),
]
BatchSize = Annotated[
    int, typer.Option("--batch-size", min=1, metavar="N", help="Images per Dask task.")
]
RowsPerPart = Annotated[
    int, typer.Option("--rows-per-part", min=1, metavar="N", help="Rows per Parquet part file.")
]
AsJson = Annotated[
    bool,
    typer.Option("--json", metavar="", help="Print the run's summary as one JSON object."),
]


def _summary_json(summary: Any, out_dir: Path) -> str:
    return json.dumps(
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


def _run_with_progress(paths: list[str], out_dir: Path, **options: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from digitrec.batch import run_batch

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("reading", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_batch(paths, out_dir, progress=progress, **options)


@app.command(cls=reading.CleanHelpCommand)
def batch(
    inputs: reading.Inputs,
    out_dir: OutFolder = Path("results.parquet"),
    scheduler: Scheduler = None,
    workers: Workers = None,
    model: reading.ModelSpec = "default",
    batch_size: BatchSize = 64,
    rows_per_part: RowsPerPart = 10_000,
    min_confidence: reading.MinConfidence = 0.0,
    max_digits: reading.MaxDigits = None,
    reader: reading.Reader = "auto",
    digits_only: reading.DigitsOnly = False,
    as_json: AsJson = False,
) -> None:
    """Read every image and PDF of a collection on Dask; one Parquet row per page.

    Columns: path, page, text, digits (digit, confidence, box), confidence, lines
    (text, confidence, box, chars), error. A file that cannot be read gets a row
    with its error and the job goes on;
    the exit status is 1 only when every image this run read failed.
    """
    from digitrec.errors import require_extra
    from digitrec.inputs import expand_inputs

    require_extra("batch", "digitrec batch")
    reading.check_reader(reader)
    paths = expand_inputs(inputs)
    where = scheduler or f"a local cluster of {workers or 'CPU-count'} worker processes"
    console.print(f"{len(paths)} images; output {out_dir}; running on {where}", highlight=False)
    summary = _run_with_progress(
        paths,
        out_dir,
        model=model,
        scheduler=scheduler,
        workers=workers,
        batch_size=batch_size,
        rows_per_part=rows_per_part,
        min_confidence=min_confidence,
        max_digits=max_digits,
        reader=reader,
        digits_only=digits_only,
    )
    if as_json:
        typer.echo(_summary_json(summary, out_dir))
    console.print(
        f"read {summary.read} images ({summary.errors} errors) in {summary.seconds:.1f} s "
        f"({summary.images_per_second:.1f} images/s); {summary.skipped} already done; "
        f"{len(summary.parts)} part files written to {out_dir}",
        highlight=False,
    )
    reading.exit_if_all_failed(summary.read, summary.errors)
