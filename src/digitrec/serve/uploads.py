"""Reading uploads under limits: media type, body size, multipart files.

The body is read chunk by chunk and refused as soon as it passes the size
limit, whatever the ``Content-Length`` header claims, so a client cannot make
the server buffer more than the limit. The image itself is opened once, by
:func:`digitrec.vision.io.load_image` under its pixel limit (see
:mod:`digitrec.serve.reader`).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from digitrec.serve.errors import ApiError

__all__ = [
    "RAW_TYPES",
    "Upload",
    "media_type",
    "read_body",
    "read_files",
    "read_multipart",
    "read_single",
]

#: Content types accepted as a raw body (besides any ``image/*``); the bytes say what it is.
RAW_TYPES = ("application/octet-stream", "application/pdf")


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


def media_type(request: Request) -> str:
    """The request's media type: lower case, without parameters (``; boundary=...``)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _unsupported(media: str, how: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        f"content type {media or '(none)'!r} is not accepted; send {how}",
    )


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
    media = media_type(request)
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
        raise _unsupported(
            media,
            "multipart/form-data with a field 'file', or the image itself with an image/* "
            "content type (a PDF: application/pdf)",
        )
    if not upload.data:
        raise ApiError(400, "empty_upload", f"{upload.filename}: the upload is empty")
    return upload


async def read_files(request: Request, limit: int, max_files: int) -> list:
    """The values of the multipart fields ``files`` of ``POST /v1/read/batch``, in order.

    Each value is an :class:`Upload`, or text where a client sent a text field.
    """
    media = media_type(request)
    if media != "multipart/form-data":
        raise _unsupported(
            media,
            "multipart/form-data with one field 'files' per image "
            "(curl: -F files=@a.png -F files=@b.png)",
        )
    body = await read_body(request, limit)
    values = (await read_multipart(request, body, max_files=max_files)).get("files", [])
    if not values:
        raise ApiError(400, "no_files", "expected one or more multipart fields 'files', found none")
    if len(values) > max_files:
        raise ApiError(
            413, "too_many_files", f"{len(values)} files sent; at most {max_files} per batch"
        )
    return values
