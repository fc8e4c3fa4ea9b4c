"""What `digitrec predict` and `digitrec batch` share: inputs, reading options, exit rule."""

from __future__ import annotations

from typing import Annotated

import typer

from digitrec.cli.app import CleanHelpCommand

__all__ = [
    "CleanHelpCommand",
    "DigitsOnly",
    "Inputs",
    "MaxDigits",
    "MinConfidence",
    "ModelSpec",
    "Reader",
    "check_reader",
    "exit_if_all_failed",
]


Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT",
        help="Image or PDF files, folders (searched recursively for both), glob patterns "
        "(quoted), "
        "list files (.txt/.lst/.list: one path per line) or '-' (paths on standard input).",
        show_default=False,
    ),
]
ModelSpec = Annotated[
    str,
    typer.Option(
        "--model",
        metavar="MODEL",
        help="The digit model of the segment reader (with the default --reader auto: of "
        "one-line images): a saved model folder, or 'default' (the shipped CNN).",
    ),
]
MinConfidence = Annotated[
    float,
    typer.Option(
        "--min-confidence",
        min=0.0,
        max=1.0,
        metavar="P",
        help="Report digits less sure than this as '?'.",
    ),
]
MaxDigits = Annotated[
    int | None,
    typer.Option(
        "--max-digits",
        min=1,
        metavar="N",
        help="Keep only this many digits per line, the largest ones (e.g. 5 for a zip code).",
        show_default=False,
    ),
]

Reader = Annotated[
    str,
    typer.Option(
        "--reader",
        metavar="NAME",
        help="Line reader: auto (an image of one line read by segment, the lines of other "
        "pages by combined), segment (digits only; the one --model and --max-digits apply "
        "to), or combined / ctc (the CTC line model: digits and separators, words skipped; "
        "combined checks its digits with the digit CNN).",
    ),
]


DigitsOnly = Annotated[
    bool,
    typer.Option(
        "--digits-only",
        help="Every line holds only digits (zip codes, meter readings): the combined and ctc "
        "readers never read separators, and a stroke doubtful between '/' and '1' reads as 1.",
    ),
]


def check_reader(reader: str) -> None:
    """A ``--reader`` value that names no line reader is a usage error, before any reading."""
    from digitrec.pages.read import PAGE_READERS

    if reader not in PAGE_READERS:
        raise typer.BadParameter(
            f"expected one of {', '.join(PAGE_READERS)}, found {reader!r}", param_hint="--reader"
        )


def exit_if_all_failed(done: int, failed: int) -> None:
    """The exit rule of both commands: status 1 when every input read failed.

    Parameters
    ----------
    done : int
        Inputs read (successfully or not) by this run.
    failed : int
        Of those, inputs that failed.
    """
    if done > 0 and failed == done:
        raise typer.Exit(1)
