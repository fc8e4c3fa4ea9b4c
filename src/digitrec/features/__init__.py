"""Feature preparation: downscaling and flattening."""

from digitrec.features.downscale import downscale, flatten, prepare

__all__ = ["downscale", "flatten", "prepare"]
