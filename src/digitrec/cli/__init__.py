"""The ``digitrec`` command line: a thin layer over the library.

Each sub-module registers its commands on :data:`digitrec.cli.app.app`.
Expected failures (:class:`~digitrec.errors.DigitrecError`) print one line
and exit with status 1; a traceback means a bug.
"""

from __future__ import annotations

import sys

from digitrec.cli import (  # noqa: F401  (registers commands)
    batch,
    cnn,
    data,
    leaderboard,
    lines,
    models,
    predict,
    serve,
    study,
)
from digitrec.cli.app import app, console
from digitrec.errors import DigitrecError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``digitrec`` console script."""
    try:
        # Standalone mode: Click reports usage errors itself (exit 2).
        app()
    except DigitrecError as exc:
        console.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
        sys.exit(1)
