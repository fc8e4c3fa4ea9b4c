"""The one place where the service calls the digit reader.

The HTTP layer only knows the small :class:`Reader` protocol below. The real
implementation, :class:`VisionReader`, wraps :func:`digitrec.vision.read` and a
loaded model; tests of the HTTP layer's own behaviour (limits, errors, response
shapes) inject a deterministic fake instead, so they do not depend on a model.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Protocol, runtime_checkable

__all__ = ["Reader", "VisionReader", "model_info"]


@runtime_checkable
class Reader(Protocol):
    """What the service needs from a digit reader.

    ``read`` is called in a worker thread and must be thread-safe. It raises
    :class:`digitrec.errors.InputError` for anything that is not a readable image.
    """

    def read(
        self,
        data: bytes,
        *,
        include_images: bool = False,
        min_confidence: float = 0.0,
        max_digits: int | None = None,
    ) -> dict[str, Any]:
        """Read the digits in one encoded image; return ``ReadResult.to_dict()``."""
        ...

    def info(self) -> dict[str, Any]:
        """The model's ``name``, ``accuracy`` and ``checksum``."""
        ...


def _lookup(meta: dict[str, Any], *paths: str) -> Any:
    """First value found at one of the dotted ``paths`` in ``meta``."""
    for path in paths:
        node: Any = meta
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            return node
    return None


def model_info(model: Any) -> dict[str, Any]:
    """``name``, ``accuracy`` and ``checksum`` of a loaded model, from its ``meta``.

    The pretrained CNN stores the three keys at the top level; models trained
    with ``digitrec train`` keep the accuracy under ``metrics``. A model without
    a recorded checksum gets the sha256 of its canonical metadata, so that two
    different models never report the same value.

    Parameters
    ----------
    model : object
        A loaded model with a ``meta`` dict (may be missing or empty).

    Returns
    -------
    dict
        ``{"name": str, "accuracy": float | None, "checksum": str}``.
    """
    meta = getattr(model, "meta", None) or {}
    name = _lookup(meta, "name", "kind") or type(model).__name__
    accuracy = _lookup(meta, "accuracy", "metrics.accuracy")
    checksum = _lookup(meta, "checksum", "sha256")
    if checksum is None:
        blob = json.dumps(meta, sort_keys=True, default=str).encode()
        checksum = "sha256:" + hashlib.sha256(blob).hexdigest()
    return {
        "name": str(name),
        "accuracy": None if accuracy is None else float(accuracy),
        "checksum": str(checksum),
    }


class VisionReader:
    """:class:`Reader` backed by :func:`digitrec.vision.read` and one model.

    Parameters
    ----------
    model : object, str, path-like or None
        A loaded model, or a spec for :func:`digitrec.models.load_model`
        (``None`` means ``"default"``, the pretrained CNN). Loaded once, here,
        so that a missing or corrupt model fails at start-up, not per request.
    """

    def __init__(self, model: Any = None) -> None:
        # Imported here: the service package must import without the reader's
        # heavier dependencies, e.g. to build the OpenAPI document.
        from digitrec import vision
        from digitrec.models import load_model

        if model is None or isinstance(model, (str, os.PathLike)):
            model = load_model("default" if model is None else model)
        self._vision = vision
        self.model = model
        self._info = model_info(model)

    def read(
        self,
        data: bytes,
        *,
        include_images: bool = False,
        min_confidence: float = 0.0,
        max_digits: int | None = None,
    ) -> dict[str, Any]:
        """Read one encoded image; see :class:`Reader`."""
        result = self._vision.read(
            data, model=self.model, min_confidence=min_confidence, max_digits=max_digits
        )
        out = result.to_dict(include_images=include_images)
        # The answer is `digitrec predict --json` for one image, without `path`.
        out.pop("path", None)
        return out

    def info(self) -> dict[str, Any]:
        """The model's name, accuracy and checksum."""
        return dict(self._info)
