"""Bad images isolated one way: a per-image failure becomes a per-image error result.

``digitrec predict``, the batch workers and the service all read many images
where one bad file must not fail the others. They share :func:`read_each`
(read a group of images, each failure kept as a :class:`ReadError` in its
place) and :meth:`ReadError.of` (the message of one image's failure).

A :class:`~digitrec.errors.ModelError` is never isolated: a model that cannot
be loaded or used fails every image alike, so it fails the whole call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from digitrec.errors import DigitrecError, ModelError
from digitrec.vision.io import MAX_PIXELS, Loaded, describe, load_image
from digitrec.vision.read import ReadResult, read_many

__all__ = ["ReadError", "read_each"]


@dataclass(frozen=True)
class ReadError:
    """One image that could not be read.

    Attributes
    ----------
    name : str
        The input (path or upload name).
    message : str
        Why, naming the input; for an exception that is not one of digitrec's
        own, prefixed with its type (it is a bug, and the type helps a report).
    exc : BaseException
        The exception itself, for callers that map kinds of failure (the
        service answers too many pixels with 413, any other with 422).
    """

    name: str
    message: str
    exc: BaseException

    @classmethod
    def of(cls, name: str, exc: BaseException) -> ReadError:
        """The error result of ``exc``, raised while reading the input ``name``."""
        msg = str(exc) or type(exc).__name__
        if not isinstance(exc, DigitrecError):
            msg = f"{type(exc).__name__}: {msg}"
        if name not in msg:  # every error names its input
            msg = f"{name}: {msg}"
        return cls(name, msg, exc)

    def to_dict(self) -> dict[str, Any]:
        """``{"error": message}``, the shape of a failed entry of ``predict --json``."""
        return {"error": self.message}


def _load(source: Any, name: str, max_pixels: int) -> Loaded | ReadError:
    try:
        return load_image(source, name=name, max_pixels=max_pixels)
    except ModelError:
        raise
    except Exception as exc:
        # Any exception, on purpose: one odd file must not fail a job of millions.
        return ReadError.of(name, exc)


def read_each(
    sources: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    model: Any = None,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> list[ReadResult | ReadError]:
    """Read a group of images; each one that fails gets a :class:`ReadError` in its place.

    The images that load go through one :func:`~digitrec.vision.read_many`
    call (one model call for all their digits). Should that call fail on one
    of them, they are read one by one so that only the culprit gets an error.

    Parameters
    ----------
    sources : sequence
        Images as accepted by :func:`~digitrec.vision.io.load_image`.
    names : sequence of str, optional
        How messages name each source (default: the path, or a description).
    model, min_confidence, max_digits
        As for :func:`~digitrec.vision.read`.
    max_pixels : int
        Largest image accepted, as for :func:`~digitrec.vision.io.load_image`.

    Returns
    -------
    list of ReadResult or ReadError
        One per source, in order.

    Raises
    ------
    ModelError
        The model cannot be loaded or used.
    """
    kw = {"model": model, "min_confidence": min_confidence, "max_digits": max_digits}
    read_many([], **kw)  # checks the options once: a bad option fails the call, not each image
    names = [describe(s) for s in sources] if names is None else list(names)
    out = [_load(s, n, max_pixels) for s, n in zip(sources, names, strict=True)]
    good = [i for i, item in enumerate(out) if isinstance(item, Loaded)]
    try:
        results = read_many([out[i] for i in good], **kw)
    except ModelError:
        raise
    except Exception:
        results = [_read_one(out[i], names[i], kw) for i in good]
    for i, result in zip(good, results, strict=True):
        out[i] = result
    return out


def _read_one(loaded: Any, name: str, kw: dict[str, Any]) -> ReadResult | ReadError:
    try:
        return read_many([loaded], **kw)[0]
    except ModelError:
        raise
    except Exception as exc:
        return ReadError.of(name, exc)
