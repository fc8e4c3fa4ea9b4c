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
    └── InputError           bad arguments or inputs to a command or function
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "DataError",
    "DigitrecError",
    "IdxFormatError",
    "InputError",
    "ModelError",
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
