"""`digitrec predict`: read the digits in image files, printing results as they come."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from digitrec.cli.app import app, console
from digitrec.cli.reading import (
    CleanHelpCommand,
    DigitsOnly,
    Inputs,
    MaxDigits,
    MinConfidence,
    ModelSpec,
    Reader,
    check_reader,
    exit_if_all_failed,
)

#: A progress bar is shown (on a terminal) from this many inputs on.
PROGRESS_FROM = 20


def stream_results(
    paths: Iterable[str],
    *,
    model: Any,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
    overlay: str | os.PathLike | None = None,
    reader: str = "auto",
    digits_only: bool = False,
) -> Iterator[dict[str, Any]]:
    """One entry per page of each document, in order, reading one page at a time.

    Paths are taken from ``paths`` only as they are needed, and pages are
    rendered one at a time, so results come out while later inputs are still
    unread and memory holds one page.

    Parameters
    ----------
    paths : iterable of str
        Image, multi-page TIFF or PDF files.
    model : object
        A loaded model.
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`; ``max_digits`` applies to each line
        (segment reader only).
    overlay : path-like, optional
        Folder where each page's overlay is written as ``{stem}-p{page}.png``.
    reader : str
        Line reader, see :func:`digitrec.pages.read.make_line_reader`.
    digits_only : bool
        Every line holds only digits: the line model never reads separators.

    Yields
    ------
    dict
        :meth:`digitrec.pages.result.PageResult.to_dict` (``path``, ``page``,
        ``text``, ``confidence``, ``lines``[, ``reason``]), or
        ``{"path", "error"}`` for a file that could not be read (after the
        pages it gave, if it failed part way).
    """
    from digitrec.pages.each import read_each_document
    from digitrec.pages.read import make_line_reader
    from digitrec.vision.isolate import ReadError

    line_reader = make_line_reader(
        reader, digits_only=digits_only, model=model, max_digits=max_digits
    )
    for page, result in read_each_document(
        paths, line_reader=line_reader, min_confidence=min_confidence
    ):
        if isinstance(result, ReadError):
            yield {"path": result.name, **result.to_dict()}
            continue
        if overlay is not None and page is not None:
            _save_overlay(page, result, Path(overlay))
        yield result.to_dict()


def _save_overlay(page: Any, result: Any, folder: Path) -> None:
    from digitrec.pages.overlay import save_overlay

    save_overlay(page, result, folder / f"{Path(page.path).stem}-p{page.page}.png")


def _line(entry: dict[str, Any]) -> str:
    if "error" in entry:
        return f"{entry['path']}\terror: {entry['error']}"
    where = f"{entry['path']}:{entry['page']}"
    if not entry["lines"]:  # one line saying so, and why
        reason = f"\t({entry['reason']})" if entry.get("reason") else ""
        return f"{where}\t-\t{0.0:.3f}{reason}"
    return "\n".join(f"{where}\t{ln['text']}\t{ln['confidence']:.3f}" for ln in entry["lines"])


def _progress(total: int) -> Any:
    """A progress bar on stderr for many inputs on a terminal, else nothing."""
    if total < PROGRESS_FROM or not console.is_terminal:
        return nullcontext(None)
    from rich.progress import Progress

    # Results printed to a terminal go above the bar; results sent to a file or a pipe must
    # not be captured by it (rich would write them to its own console, stderr).
    to_terminal = sys.stdout.isatty()
    return Progress(console=console, transient=True, redirect_stdout=to_terminal)


Overlay = Annotated[
    Path | None,
    typer.Option(
        "--overlay",
        metavar="DIR",
        help="Also write each page with its lines' boxes and readings drawn on it, "
        "as DIR/{stem}-p{page}.png.",
        show_default=False,
    ),
]


def _starts_document(entry: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Whether ``entry`` is the first of its file (the progress bar counts files)."""
    if "error" not in entry:
        return entry["page"] == 1
    # An error after pages of the same file ends that file; any other is a file of its own.
    return previous is None or "error" in previous or previous["path"] != entry["path"]


@app.command(cls=CleanHelpCommand)
def predict(
    paths: Inputs,
    model: ModelSpec = "default",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", metavar="", help="Print one JSON array, one entry per page as they come."
        ),
    ] = False,
    min_confidence: MinConfidence = 0.0,
    max_digits: MaxDigits = None,
    overlay: Overlay = None,
    reader: Reader = "auto",
    digits_only: DigitsOnly = False,
) -> None:
    """Read the numbers in images, multi-page TIFFs and PDFs: one line per line read.

    Each output line is the file and page (path:page), the text and its
    confidence; a page where nothing was read prints "-" and the reason.
    Results print as they come. A file that cannot be read gets an error line
    (an "error" key with --json) and the others are still read; the exit
    status is 1 only when every file failed.
    """
    from digitrec.inputs import iter_inputs, no_images
    from digitrec.models import shared_model
    from digitrec.pages.read import reads_with_digit_model

    check_reader(reader)

    files = list(iter_inputs(paths))  # paths only: cheap, and gives the total up front
    if not files:
        raise no_images(paths)
    loaded_model = shared_model(model) if reads_with_digit_model(reader) else None
    if overlay is not None:
        overlay.mkdir(parents=True, exist_ok=True)
    entries = stream_results(
        files,
        model=loaded_model,
        min_confidence=min_confidence,
        max_digits=max_digits,
        overlay=overlay,
        reader=reader,
        digits_only=digits_only,
    )
    failed, previous = 0, None
    with _progress(len(files)) as bar:
        task = bar.add_task("reading", total=len(files)) if bar is not None else None
        for i, entry in enumerate(entries):
            failed += "error" in entry
            if as_json:
                text = ("[\n" if i == 0 else ",\n") + json.dumps(entry)
            else:
                text = _line(entry) + "\n"
            typer.echo(text, nl=False)  # flushed: each result shows as soon as it is read
            if bar is not None and _starts_document(entry, previous):
                bar.advance(task)
            previous = entry
    if as_json:
        typer.echo("\n]")
    exit_if_all_failed(len(files), failed)
