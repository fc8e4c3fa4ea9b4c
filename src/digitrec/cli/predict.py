"""`digitrec predict`: read the digits in image files, printing results as they come."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from itertools import islice
from typing import Annotated, Any

import typer

from digitrec.cli.app import app, console
from digitrec.cli.reading import (
    CleanHelpCommand,
    Inputs,
    MaxDigits,
    MinConfidence,
    ModelSpec,
    exit_if_all_failed,
)

#: Images loaded and read together: their digits share model calls, and memory holds
#: at most this many images and results whatever the number of inputs. Measured on
#: five-digit strips: peak memory 253 MB for 300 and 262 MB for 1,500 images with 32 (the
#: model's buffers stay small), against 276 MB and 364 MB with 64, at the same speed.
CHUNK = 32
#: A progress bar is shown (on a terminal) from this many inputs on.
PROGRESS_FROM = 20


def stream_results(
    paths: Iterable[str],
    *,
    model: Any,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[dict[str, Any]]:
    """One entry per path, in order, reading ``chunk`` paths at a time.

    Paths are taken from ``paths`` only as they are needed, so results come
    out while later inputs are still unread and memory stays bounded.

    Parameters
    ----------
    paths : iterable of str
        Image files.
    model : object
        A loaded model.
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`.
    chunk : int
        Images read together.

    Yields
    ------
    dict
        ``{"path", "text", "digits", "confidence"[, "reason"]}``, or
        ``{"path", "error"}`` for an image that could not be read.
    """
    from digitrec.vision.isolate import read_each

    it = iter(paths)
    while group := list(islice(it, chunk)):
        results = read_each(
            group, model=model, min_confidence=min_confidence, max_digits=max_digits
        )
        for path, result in zip(group, results, strict=True):
            yield {"path": path, **result.to_dict()}


def _line(entry: dict[str, Any]) -> str:
    if "error" in entry:
        return f"{entry['path']}\terror: {entry['error']}"
    line = f"{entry['path']}\t{entry['text'] or '-'}\t{entry['confidence']:.3f}"
    return line + (f"\t({entry['reason']})" if entry.get("reason") else "")


def _progress(total: int) -> Any:
    """A progress bar on stderr for many inputs on a terminal, else nothing."""
    if total < PROGRESS_FROM or not console.is_terminal:
        return nullcontext(None)
    from rich.progress import Progress

    # Results printed to a terminal go above the bar; results sent to a file or a pipe must
    # not be captured by it (rich would write them to its own console, stderr).
    to_terminal = sys.stdout.isatty()
    return Progress(console=console, transient=True, redirect_stdout=to_terminal)


@app.command(cls=CleanHelpCommand)
def predict(
    paths: Inputs,
    model: ModelSpec = "default",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", metavar="", help="Print one JSON array, entry by entry as they come."
        ),
    ] = False,
    min_confidence: MinConfidence = 0.0,
    max_digits: MaxDigits = None,
) -> None:
    """Read the digits in images: one line per image (path, text, confidence).

    Results print as they come. A file that cannot be read gets an error line
    (an "error" key with --json) and the others are still read; the exit
    status is 1 only when every file failed.
    """
    from digitrec.inputs import iter_inputs, no_images
    from digitrec.models import shared_model

    files = list(iter_inputs(paths))  # paths only: cheap, and gives the total up front
    if not files:
        raise no_images(paths)
    loaded_model = shared_model(model)
    entries = stream_results(
        files,
        model=loaded_model,
        min_confidence=min_confidence,
        max_digits=max_digits,
        chunk=CHUNK,
    )
    failed = 0
    with _progress(len(files)) as bar:
        task = bar.add_task("reading", total=len(files)) if bar is not None else None
        for i, entry in enumerate(entries):
            failed += "error" in entry
            if as_json:
                text = ("[\n" if i == 0 else ",\n") + json.dumps(entry)
            else:
                text = _line(entry) + "\n"
            typer.echo(text, nl=False)  # flushed: each result shows as soon as it is read
            if bar is not None:
                bar.advance(task)
    if as_json:
        typer.echo("\n]")
    exit_if_all_failed(len(files), failed)
