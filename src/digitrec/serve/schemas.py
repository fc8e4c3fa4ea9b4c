"""Request options and response shapes, for the routes and the OpenAPI document.

Answers are built as plain dicts; the models here document them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BATCH_BODY",
    "READ_BODY",
    "BatchItem",
    "DigitOut",
    "ErrorBody",
    "ErrorOut",
    "HealthOut",
    "ModelOut",
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

    include_images: bool = False
    min_confidence: float = 0.0
    max_digits: int | None = None


def read_options(
    images: Annotated[
        bool, Query(description="Include each digit's 28x28 input as a base64 PNG.")
    ] = False,
    min_confidence: Annotated[
        float,
        Query(ge=0.0, le=1.0, description="Digits below this confidence are reported as null."),
    ] = 0.0,
    max_digits: Annotated[
        int | None, Query(ge=1, le=1000, description="Read at most this many digits.")
    ] = None,
) -> ReadOptions:
    """The :class:`ReadOptions` of a request's query (a FastAPI dependency)."""
    return ReadOptions(images, min_confidence, max_digits)


class DigitOut(BaseModel):
    """One digit found in the image."""

    model_config = ConfigDict(extra="allow")

    digit: int | None = Field(description="0-9, or null when below min_confidence.")
    confidence: float = Field(description="Probability of the chosen digit, 0-1.")
    box: list[int] = Field(description="[x, y, width, height] in input pixels.")
    top3: list[list[float]] = Field(description="The three likeliest [digit, probability].")
    image: str | None = Field(
        None, description="Base64 PNG of the 28x28 image the model saw (with ?images=true)."
    )


class ReadOut(BaseModel):
    """What was read in one image (``digitrec predict --json`` without ``path``)."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(description="The digits read, left to right ('?' for unsure ones).")
    digits: list[DigitOut]
    confidence: float = Field(description="Confidence of the whole reading, 0-1.")
    reason: str | None = Field(None, description="Why nothing (or less) was read, if so.")


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
    digits: list[DigitOut] | None = None  # type: ignore[assignment]
    confidence: float | None = None  # type: ignore[assignment]
    filename: str
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
