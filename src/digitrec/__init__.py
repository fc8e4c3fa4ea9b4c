"""digitrec: read handwritten digits.

The MNIST study reproduced, faster and stronger models, and reading digits in
real images.
"""

from digitrec.data import fetch, load_dataset, load_mnist, read_idx, write_idx
from digitrec.errors import DigitrecError
from digitrec.features import downscale, prepare

__version__ = "0.1.0"

__all__ = [
    "DigitrecError",
    "__version__",
    "downscale",
    "fetch",
    "load_dataset",
    "load_mnist",
    "prepare",
    "read",
    "read_idx",
    "write_idx",
]


def __getattr__(name: str):
    # digitrec.read pulls in the vision stack (Pillow, scipy, skimage) only when used.
    if name == "read":
        from digitrec.vision import read

        return read
    raise AttributeError(f"module 'digitrec' has no attribute {name!r}")
