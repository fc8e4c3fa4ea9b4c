"""What `digitrec predict` and `digitrec batch` share: inputs, reading options, exit rule."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand

__all__ = [
    "CleanHelpCommand",
    "Inputs",
    "MaxDigits",
    "MinConfidence",
    "ModelSpec",
    "exit_if_all_failed",
]


class _NamedArgument(TyperArgument):
    """An argument whose help shows its metavar only, not the Python type (``<list[str]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        """No type column: the metavar (``INPUT...``) already says what to give."""
        return None if self.metavar is not None else super().display_type_rich(ctx)


class CleanHelpCommand(TyperCommand):
    """A command whose help shows no Python types: metavars instead (``INPUT``, ``N``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument and param.metavar is not None:
                param.__class__ = _NamedArgument

    def get_help_option(self, ctx: Any) -> Any:
        """``--help``, without the ``<bool>`` type that Typer shows for it."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""  # an empty metavar hides the type column
        return option


Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT",
        help="Image files, folders (searched recursively), glob patterns (quoted), "
        "list files (.txt/.lst/.list: one path per line) or '-' (paths on standard input).",
        show_default=False,
    ),
]
ModelSpec = Annotated[
    str,
    typer.Option(
        "--model", metavar="MODEL", help="A saved model folder, or 'default' (the shipped CNN)."
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
        help="Keep only this many digits per image, the largest ones (e.g. 5 for a zip code).",
        show_default=False,
    ),
]


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
