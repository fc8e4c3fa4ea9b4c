"""Reading digits in real images: scans and photos, single digits and strings.

>>> from digitrec.vision import read
>>> read("zip.png").text  # doctest: +SKIP
'02139'

Modules, one per step: :mod:`~digitrec.vision.io` (loading images safely),
:mod:`~digitrec.vision.normalize` (polarity, illumination, binarisation,
MNIST normalisation), :mod:`~digitrec.vision.segment` (digits left to right),
:mod:`~digitrec.vision.read` (the whole pipeline). Scan-like test images
come from :mod:`digitrec.testing.synth`.
"""

from digitrec.vision.io import load_image
from digitrec.vision.read import DigitResult, ReadResult, read, read_many

__all__ = ["DigitResult", "ReadResult", "load_image", "read", "read_many"]
