"""Small PDFs for the document tests, made in memory."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def pdf_of(pages: list[np.ndarray], dpi: float = 100.0) -> bytes:
    """A PDF with one grey image per page (Pillow's PDF writer)."""
    imgs = [Image.fromarray(p).convert("RGB") for p in pages]
    buf = io.BytesIO()
    imgs[0].save(buf, "PDF", save_all=True, append_images=imgs[1:], resolution=dpi)
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    """A one-page PDF protected by the standard security handler (RC4, 40 bit).

    Its /O and /U entries match no password, so no reader can open it without
    one: what a password-protected scan looks like to digitrec.
    """
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + b"ab" * 32
        + b"> /U <"
        + b"cd" * 32
        + b"> /P -44 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n" % (
        len(objs) + 1,
        b"0123456789abcdef" * 2,
        b"0123456789abcdef" * 2,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
