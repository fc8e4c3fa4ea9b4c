"""The exceptions digitrec raises on purpose.

Every message names the input, what was expected, what was found and how to
fix it. The CLI catches :class:`DigitrecError`, prints its message on one line
and exits non-zero; any other exception is a bug.

Hierarchy::

    DigitrecError
    ├── DataError            data files: location, download, checksum
    │   ├── IdxFormatError   bytes that are not a valid IDX file
    │   └── ChecksumError    content whose sha256 does not match the registry
    ├── ModelError           saved models: missing, corrupt, incompatible
    ├── InputError           bad arguments or inputs to a command or function
    └── MissingExtra         an optional dependency is not installed (names the pip line)
"""

from __future__ import annotations

__all__ = [
    "EXTRAS",
    "ChecksumError",
    "DataError",
    "DigitrecError",
    "IdxFormatError",
    "InputError",
    "MissingExtra",
    "ModelError",
    "require_extra",
]


class DigitrecError(Exception):
    """Base class of every error digitrec raises deliberately."""


class DataError(DigitrecError):
    """A data set cannot be found, downloaded, read or trusted."""


class IdxFormatError(DataError, ValueError):
    """Bytes that do not form a valid IDX file."""


class ChecksumError(DataError):
    """A file whose content does not match its registered sha256."""


class ModelError(DigitrecError):
    """A saved model that is missing, corrupt or of another kind."""


class InputError(DigitrecError, ValueError):
    """An argument or input outside what a function accepts."""


class MissingExtra(DigitrecError, ImportError):
    """An optional dependency a feature needs is not installed.

    Parameters
    ----------
    module : str
        The module that could not be imported (``"torch"``).
    extra : str
        The digitrec extra that installs it (``"train"``).
    feature : str, optional
        What needs it, for the message (``"training the CNN"``).
    """

    def __init__(self, module: str, extra: str, feature: str | None = None) -> None:
        self.module, self.extra = module, extra
        need = f"{feature} needs" if feature else "this needs"
        super().__init__(
            f"{need} the Python package {module!r}, which is not installed; "
            f"install it with: pip install 'digitrec[{extra}]'"
        )


#: The modules each optional extra of digitrec installs (see pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("torch", "onnx"),
    "serve": ("fastapi", "uvicorn", "prometheus_client"),
    "batch": ("pyarrow", "distributed"),
    "dev": ("faiss",),
}


def require_extra(extra: str, feature: str | None = None) -> None:
    """Check that an optional extra is installed, or raise :class:`MissingExtra`.

    Call it where a command starts, before importing the code that needs the
    extra, so that a missing package ends in the ``pip install`` line instead
    of a traceback.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS` (``"train"``, ``"serve"``, ``"batch"``, ``"dev"``).
    feature : str, optional
        What needs it, for the message (``"digitrec serve"``).

    Raises
    ------
    MissingExtra
        Naming the first module of the extra that cannot be found.
    """
    import importlib.util

    for module in EXTRAS[extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(module, extra, feature)
