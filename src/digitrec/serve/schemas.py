"""Request options and response shapes, for the routes and the OpenAPI document.

Answers are built as plain dicts; the models here document them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BATCH_BODY",
    "READ_BODY",
    "BatchItem",
    "CharOut",
    "ErrorBody",
    "ErrorOut",
    "HealthOut",
    "LineOut",
    "ModelOut",
    "PageOut",
    "ReadOptions",
    "ReadOut",
    "errors",
    "read_options",
]

_BINARY = {"type": "string", "format": "binary"}
#: Request body of ``POST /v1/read`` (parsed by hand, so declared for the OpenAPI document).
READ_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"], "properties": {"file": _BINARY}}
        },
        "image/png": {"schema": _BINARY},
        "image/jpeg": {"schema": _BINARY},
        "image/tiff": {"schema": _BINARY},
        "application/pdf": {"schema": _BINARY},
        "application/octet-stream": {"schema": _BINARY},
    },
}
#: Request body of ``POST /v1/read/batch``.
BATCH_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {"files": {"type": "array", "items": _BINARY}},
            }
        }
    },
}


@dataclass(frozen=True)
class ReadOptions:
    """The query options of both read endpoints, as passed to the reader."""

    min_confidence: float = 0.0
    max_digits: int | None = None
    page_images: bool = False
    reader: str = "auto"
    digits_only: bool = False


async def read_options(
    min_confidence: Annotated[
        float,
        Query(ge=0.0, le=1.0, description="Characters below this confidence are read as '?'."),
    ] = 0.0,
    max_digits: Annotated[
        int | None,
        Query(ge=1, le=1000, description="Read at most this many digits in each line."),
    ] = None,
    page_images: Annotated[
        bool,
        Query(
            description="Include each page as a base64 PNG in `image`: the picture the "
            "boxes refer to (a PDF page as rendered)."
        ),
    ] = False,
    reader: Annotated[
        Literal["auto", "segment", "combined", "ctc"],
        Query(
            description="Line reader: `auto` (an image of one line read by `segment`, the "
            "lines of other pages by `combined`), `segment` (digits only; the CNN the "
            "service loaded), "
            "`combined` (the line model with the digit CNN's second opinion: separators "
            "read, words skipped) or `ctc` (the line model alone)."
        ),
    ] = "auto",
    digits_only: Annotated[
        bool,
        Query(
            description="Every line holds only digits (zip codes, meter readings): the line "
            "model never reads separators."
        ),
    ] = False,
) -> ReadOptions:
    """The :class:`ReadOptions` of a request's query (a FastAPI dependency).

    ``async`` although it does not wait: FastAPI runs a plain function
    dependency in a worker thread, a thread hop per request for nothing.
    """
    return ReadOptions(min_confidence, max_digits, page_images, reader, digits_only)


_BOX = "[x, y, width, height] in the page's pixels (a PDF page: as rendered)."


class CharOut(BaseModel):
    """One character of a line."""

    char: str = Field(description="A digit, a separator, or '?' when below min_confidence.")
    confidence: float = Field(description="Probability of the chosen character, 0-1.")
    box: list[int] = Field(description=_BOX)
    top3: list[tuple[str, float]] = Field(
        description="The three likeliest [character, probability]."
    )


class LineOut(BaseModel):
    """One line of writing that holds a number (lines without one are dropped): its
    `text` left to right, its `confidence` (the least confident character's), its `box`
    ([x, y, width, height] in the page's pixels) and its `chars`."""

    text: str
    confidence: float
    box: list[int]
    chars: list[CharOut]


class PageOut(BaseModel):
    """One page (an image is one page): the output shape of every digitrec reader."""

    model_config = ConfigDict(extra="allow")

    path: str | None = Field(description="The upload's file name.")
    page: int = Field(description="1-based page number.")
    text: str = Field(description="The lines' texts, top to bottom, joined by a newline.")
    confidence: float = Field(description="The least confident line's, 0-1 (0 without lines).")
    lines: list[LineOut] = Field(description="Lines holding a number, in reading order.")
    reason: str | None = Field(None, description="Why nothing was read (only then).")
    image: str | None = Field(
        None, description="The page as a base64 grey PNG (with ?page_images=true)."
    )


class ReadOut(BaseModel):
    """What was read in one upload: every page, and their text and confidence together."""

    model_config = ConfigDict(extra="allow")

    filename: str = Field(description="The upload's file name ('body' for a raw body).")
    text: str = Field(
        description="The pages' texts joined by a newline (one page: that page's text; a "
        "one-line image: what it reads)."
    )
    confidence: float = Field(description="The least confident page's, 0-1.")
    pages: list[PageOut]
    reason: str | None = Field(None, description="Why nothing was read, if so.")


class ErrorBody(BaseModel):
    """A failure: a stable code and a message that says what to fix."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer."""

    error: ErrorBody


class BatchItem(ReadOut):
    """One file of a batch: its reading, or an ``error`` instead."""

    text: str | None = None  # type: ignore[assignment]
    confidence: float | None = None  # type: ignore[assignment]
    pages: list[PageOut] | None = None  # type: ignore[assignment]
    error: ErrorBody | None = None


class ModelOut(BaseModel):
    """The model that reads the digits."""

    name: str
    accuracy: float | None = Field(description="Test-set accuracy recorded with the model.")
    checksum: str


class HealthOut(BaseModel):
    """Liveness answer."""

    status: str
    model: str


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry documenting error answers with these status codes."""
    return {code: {"model": ErrorOut} for code in codes}
