"""The Typer application and the option types that commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="digitrec",
    help="Read handwritten digits: the MNIST study reproduced, and far past it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from digitrec import __version__

        typer.echo(f"digitrec {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Read handwritten digits: the MNIST study reproduced, and far past it."""
    # Commands import the library inside their function: --help and --version stay instant.


train_app = typer.Typer(help="Train a model and save it to a folder.", no_args_is_help=True)
app.add_typer(train_app, name="train")

#: Status and progress go to stderr so that stdout stays clean for --json.
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder with the four IDX files (gzip or raw). Default: $DIGITREC_DATA_DIR, "
        "then the cache, then a download.",
        show_default=False,
    ),
]
DatasetName = Annotated[
    str, typer.Option("--dataset", help="Registered data set: mnist or fashion-mnist.")
]
OutDir = Annotated[Path, typer.Option("--out", help="Folder to write results into.")]
