"""Reading uploads under limits: body size, multipart files, pixel count.

The body is read chunk by chunk and refused as soon as it passes the size
limit, whatever the ``Content-Length`` header claims, so a client cannot make
the server buffer more than the limit. The pixel count is read from the image
header (no pixel is decoded) before the image reaches the reader.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from digitrec.serve.errors import ApiError

__all__ = [
    "RAW_TYPES",
    "Upload",
    "check_pixels",
    "read_body",
    "read_multipart",
    "read_single",
]

#: Content types accepted as a raw image body (besides any ``image/*``).
RAW_TYPES = ("application/octet-stream",)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name (for messages and batch answers) and bytes."""

    filename: str
    data: bytes


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError(
                400, "bad_content_length", f"Content-Length {declared!r} is not a byte count"
            )
        if int(declared) > limit:
            raise ApiError(
                413,
                "upload_too_large",
                f"upload of {_mib(int(declared))} is over the limit of {_mib(limit)}; "
                "send a smaller image (a phone photo can be resized or saved as JPEG)",
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413,
                "upload_too_large",
                f"upload is over the limit of {_mib(limit)}; send a smaller image",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_multipart(request: Request, body: bytes, max_files: int) -> dict[str, list]:
    """Parse an already size-checked multipart body into ``{field: [values]}``."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=max_files, max_fields=max_files + 16
        )
    except StarletteHTTPException as exc:
        # Starlette reports malformed multipart and too many parts alike, as a 400.
        if "too many files" in str(exc.detail).lower():
            raise ApiError(
                413, "too_many_files", f"more than {max_files} files sent in one request"
            ) from exc
        raise ApiError(
            400, "bad_multipart", f"the multipart/form-data body cannot be parsed: {exc.detail}"
        ) from exc
    fields: dict[str, list] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            value = Upload(value.filename or key, data)
        fields.setdefault(key, []).append(value)
    return fields


def _files(fields: dict[str, list], name: str) -> list[Upload]:
    values = fields.get(name, [])
    bad = [v for v in values if not isinstance(v, Upload)]
    if bad:
        raise ApiError(
            400,
            "expected_file",
            f"form field {name!r} holds text; expected a file upload (curl: -F {name}=@digit.png)",
        )
    return values


async def read_single(request: Request, limit: int) -> Upload:
    """The one image of ``POST /v1/read``: multipart field ``file`` or a raw body."""
    media = _media_type(request)
    if media == "multipart/form-data":
        body = await read_body(request, limit)
        files = _files(await read_multipart(request, body, max_files=4), "file")
        if len(files) != 1:
            raise ApiError(
                400,
                "expected_one_file",
                f"expected exactly one multipart field 'file', found {len(files)}; "
                "send one image as -F file=@digit.png (several: POST /v1/read/batch)",
            )
        upload = files[0]
    elif media.startswith("image/") or media in RAW_TYPES:
        upload = Upload("body", await read_body(request, limit))
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"content type {media or '(none)'!r} is not accepted; send multipart/form-data "
            "with a field 'file', or the image itself with an image/* content type",
        )
    if not upload.data:
        raise ApiError(400, "empty_upload", f"{upload.filename}: the upload is empty")
    return upload


def check_pixels(upload: Upload, max_pixels: int) -> None:
    """Refuse (413) an image whose header declares more than ``max_pixels`` pixels.

    Bytes that Pillow cannot identify pass through: the reader then answers
    with its own precise error, so there is one source of truth for "not an image".
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(upload.data)) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise ApiError(
            413, "too_many_pixels", f"{upload.filename}: {exc}; send a smaller image"
        ) from exc
    except Exception:
        # Only a pre-check: undecodable input is the reader's to diagnose.
        return
    if width * height > max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"{upload.filename}: image of {width}x{height} = {width * height:,} pixels is over "
            f"the limit of {max_pixels:,}; resize it first",
        )
