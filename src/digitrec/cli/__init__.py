"""The ``digitrec`` command line: a thin layer over the library.

Each sub-module registers its commands on :data:`digitrec.cli.app.app`.
Expected failures (:class:`~digitrec.errors.DigitrecError`) print one line
and exit with status 1; a traceback means a bug.
"""

from __future__ import annotations

import sys

from digitrec.cli import cnn, data, models, study  # noqa: F401  (registers commands)
from digitrec.cli.app import app, console
from digitrec.errors import DigitrecError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``digitrec`` console script."""
    try:
        app(standalone_mode=False)
    except DigitrecError as exc:
        console.print(f"error: {exc}", style="bold red", highlight=False, markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
