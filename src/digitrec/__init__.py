"""digitrec: read handwritten digits.

The MNIST study reproduced, faster and stronger models, and reading digits in
real images. :func:`read` reads one line of digits (one image);
:func:`read_document` reads every line of every page of an image, a
multi-page TIFF or a PDF (:func:`read_page`: one page).

Importing the package is cheap: every name below is imported from its module
on first use, so ``import digitrec`` (and ``digitrec --help``) loads none of
scipy, scikit-image, scikit-learn, onnxruntime, torch or numba.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from digitrec.errors import DigitrecError

try:
    __version__ = version("digitrec")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: public name -> the module that defines it (imported on first access).
_LAZY = {
    "downscale": "digitrec.features",
    "fetch": "digitrec.data",
    "load_dataset": "digitrec.data",
    "load_mnist": "digitrec.data",
    "load_model": "digitrec.models",
    "prepare": "digitrec.features",
    "read": "digitrec.vision",
    "read_document": "digitrec.pages.read",
    "read_idx": "digitrec.data",
    "read_page": "digitrec.pages.read",
    "write_idx": "digitrec.data",
}

__all__ = ["DigitrecError", "__version__", *sorted(_LAZY)]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'digitrec' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
