"""Shared helpers for the service tests: images as bytes, a fake reader."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from typing import Any

from PIL import Image, ImageDraw

__all__ = ["FakeReader", "bomb_png", "png", "seven_png"]


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def seven_png(width: int = 280, height: int = 280) -> bytes:
    """A hand-drawn-looking 7, dark ink on white paper."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    draw.line(
        [(width * 0.28, height * 0.2), (width * 0.72, height * 0.2), (width * 0.45, height * 0.82)],
        fill=0,
        width=max(2, width // 12),
        joint="curve",
    )
    return png(image)


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels."""
    raw = zlib.compress(b"\x00\x00")  # one row of one grey pixel: the data is never read

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


class FakeReader:
    """A deterministic reader for tests of the HTTP layer.

    It gets each page the service opened (so non-images never reach it, as
    with the real reader), then answers one line with one "digit" per 100
    pixels of page width, each the width's hundreds digit, and records the
    options it was called with.
    """

    def __init__(self, delay_s: float = 0.0, fail: Exception | None = None) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        return {"name": "fake", "accuracy": 0.5, "checksum": "sha256:fake"}

    def read(self, page: Any, options: Any) -> dict[str, Any]:
        from digitrec.vision.io import load_image

        width, height = load_image(page.image).size
        with self._lock:
            self.calls.append(
                {
                    "size": (width, height),
                    "page": page.page,
                    "min_confidence": options.min_confidence,
                    "max_digits": options.max_digits,
                }
            )
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail is not None:
            raise self.fail
        count = max(1, width // 100)
        if options.max_digits is not None:
            count = min(count, options.max_digits)
        digit = str((width // 100) % 10)
        confidence = 0.75
        char = digit if confidence >= options.min_confidence else "?"
        chars = [
            {
                "char": char,
                "confidence": confidence,
                "box": [i * 100, 0, 100, height],
                "top3": [[digit, confidence], ["x", 0.2], ["y", 0.05]],
            }
            for i in range(count)
        ]
        text = char * count
        line = {"text": text, "confidence": confidence, "box": [0, 0, width, height]}
        return {
            "path": None,
            "page": page.page,
            "text": text,
            "confidence": confidence,
            "lines": [{**line, "chars": chars}],
        }
