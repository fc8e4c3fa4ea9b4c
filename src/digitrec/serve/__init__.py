"""The HTTP service and the drawing web page (``digitrec serve``)."""

from __future__ import annotations

from digitrec.serve.app import create_app
from digitrec.serve.reader import Reader, VisionReader, model_info

__all__ = ["Reader", "VisionReader", "create_app", "model_info"]
