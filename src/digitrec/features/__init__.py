"""Feature preparation: downscaling, flattening and deskewing."""

from digitrec.features.deskew import deskew
from digitrec.features.downscale import downscale, flatten, prepare

__all__ = ["deskew", "downscale", "flatten", "prepare"]
