"""Response shapes, for the OpenAPI document (answers are built as plain dicts)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchItem",
    "DigitOut",
    "ErrorBody",
    "ErrorOut",
    "HealthOut",
    "ModelOut",
    "ReadOut",
]


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
