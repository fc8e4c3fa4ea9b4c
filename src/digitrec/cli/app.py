"""The Typer application and the option types that commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup

#: Click's plain names for the value types Typer would show as ``<int>``, ``<str>``...
_PLAIN_TYPES = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH"}


def _plain_type(label: str) -> str:
    """``<int range>`` -> ``INTEGER``, ``<list[str]>`` -> ``TEXT...``, ``<a|b>`` -> ``a|b``."""
    label = label.strip("<>").removesuffix(" range")
    if label.startswith("list[") and label.endswith("]"):
        return _plain_type(label[5:-1]) + "..."
    return label if "|" in label else _PLAIN_TYPES.get(label, label.upper())


class _NamedArgument(TyperArgument):
    """An argument whose help shows its metavar only, not the Python type (``<list[str]>``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        """No type column: the metavar (``INPUT...``) already says what to give."""
        return None if self.metavar is not None else super().display_type_rich(ctx)


def _clean_params(params: list, ctx: Any = None) -> None:
    """Give every parameter a plain metavar, so that help shows no Python type.

    Flags get an empty metavar (nothing to give), other options Click's plain names
    (``INTEGER``, ``PATH``), arguments their name in capitals (``MODEL``).
    """
    for param in params:
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
            if type(param) is TyperArgument:
                param.__class__ = _NamedArgument
        elif param.metavar is None:
            flag = getattr(param, "is_flag", False)
            param.metavar = "" if flag else _plain_type(param.display_type(ctx))


class _CleanHelp:
    """Mixin of the clean help classes: plain metavars, and ``--help`` without a type."""

    def get_params(self, ctx: Any) -> list:
        """The parameters, cleaned when asked for (Typer adds the completion options late)."""
        params = super().get_params(ctx)  # type: ignore[misc]
        _clean_params(params, ctx)
        return params

    def get_help_option(self, ctx: Any) -> Any:
        """``--help``, without the ``<bool>`` type that Typer shows for it."""
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""  # an empty metavar hides the type column
        return option


class CleanHelpCommand(_CleanHelp, TyperCommand):
    """A command whose help shows no Python types: metavars instead (``INPUT``, ``N``).

    Every ``digitrec`` command uses it (the default class of :data:`app`'s commands).
    """


class CleanHelpGroup(_CleanHelp, TyperGroup):
    """A command group with the same clean help as :class:`CleanHelpCommand`."""


class _Typer(typer.Typer):
    """A Typer whose groups and commands default to the clean help classes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=kwargs.pop("cls", CleanHelpGroup), **kwargs)

    def command(self, *args: Any, cls: type | None = None, **kwargs: Any) -> Any:
        """Register a command; its class defaults to :class:`CleanHelpCommand`."""
        return super().command(*args, cls=cls or CleanHelpCommand, **kwargs)


app = _Typer(
    name="digitrec",
    help="Read handwritten digits: the MNIST study reproduced, and far past it.",
    no_args_is_help=True,
    # --install-completion / --show-completion: bash, zsh, fish and PowerShell.
    add_completion=True,
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


train_app = _Typer(help="Train a model and save it to a folder.", no_args_is_help=True)
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
