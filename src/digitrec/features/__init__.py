"""Features: block sums, downscaling, flattening and deskewing, one image check.

scipy and scikit-image are imported inside the functions that use them, so
importing this package stays cheap.
"""

from digitrec.features.blocks import block_sums
from digitrec.features.deskew import deskew
from digitrec.features.downscale import downscale, flatten, prepare
from digitrec.features.validate import check_images

__all__ = ["block_sums", "check_images", "deskew", "downscale", "flatten", "prepare"]
