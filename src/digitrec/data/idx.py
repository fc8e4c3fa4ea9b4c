"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the elements in
big-endian C order. Files may be gzip-compressed; the reader detects that from
the content, not the file name.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from digitrec._files import atomic_write
from digitrec.errors import IdxFormatError

__all__ = ["IDX_TYPES", "decompress", "parse_idx", "read_idx", "write_idx"]

#: IDX type code -> big-endian numpy dtype.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# A sanity bound that keeps a corrupt header from asking for petabytes.
_MAX_NDIM = 16


def decompress(raw: bytes, name: str = "<bytes>") -> bytes:
    """Return ``raw`` gunzipped if it is gzip data, else ``raw`` unchanged.

    Raises
    ------
    IdxFormatError
        If the gzip stream is corrupt or ends early.
    """
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise IdxFormatError(
            f"{name}: the gzip stream ends early ({len(raw)} compressed bytes); "
            "the file is truncated: delete it and download it again"
        ) from exc
    except (OSError, zlib.error) as exc:
        raise IdxFormatError(
            f"{name}: expected a valid gzip stream, found corrupt data ({exc}); "
            "delete the file and download it again"
        ) from exc


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into an array in native byte order.

    Single-byte types come back as a read-only view of ``data`` (no copy).

    Parameters
    ----------
    data : bytes
        The whole file, already decompressed.
    name : str
        What to call the input in error messages.

    Returns
    -------
    numpy.ndarray
        An array with the shape and type the header declares.

    Raises
    ------
    IdxFormatError
        On a bad magic number, a bad type code, or a byte count that does not
        match the header.
    """
    if len(data) < 4:
        raise IdxFormatError(
            f"{name}: expected an IDX header of at least 4 bytes, found {len(data)} bytes; "
            "the file is empty or truncated"
        )
    zero, code, ndim = struct.unpack_from(">HBB", data, 0)
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or code not in IDX_TYPES or not 1 <= ndim <= _MAX_NDIM:
        hint = (
            "is it still gzip-compressed?" if data.startswith(_GZIP_MAGIC) else "is it an IDX file?"
        )
        raise IdxFormatError(
            f"{name}: expected an IDX magic number 0x0000TTDD (TT a type code in "
            f"{', '.join(f'0x{c:02x}' for c in IDX_TYPES)}, DD the number of dimensions, 1..."
            f"{_MAX_NDIM}), found 0x{magic:08x}; {hint}"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(
            f"{name}: expected a {header}-byte header for {ndim} dimensions, found only "
            f"{len(data)} bytes; the file is truncated"
        )
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = IDX_TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "followed by extra bytes"
        raise IdxFormatError(
            f"{name}: expected {expected} bytes for shape {shape} of {dtype.name} "
            f"(type 0x{code:02x}), found {len(data)}; the file is {what}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_idx(source: str | os.PathLike | bytes, name: str | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, from a path or from bytes.

    Parameters
    ----------
    source : path-like or bytes
        A file path, or the file's content.
    name : str, optional
        What to call the input in error messages (defaults to the path).

    Returns
    -------
    numpy.ndarray
        The array the file holds, in native byte order.

    Raises
    ------
    IdxFormatError
        If the content is not a valid IDX file.
    DataError
        If the path cannot be read.

    Examples
    --------
    >>> import numpy as np
    >>> from digitrec.data import parse_idx, write_idx
    >>> parse_idx(write_idx(None, np.arange(6, dtype=np.uint8).reshape(2, 3))).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        label = name or "<bytes>"
    else:
        path = Path(source)
        label = name or str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            from digitrec.errors import DataError

            raise DataError(f"{label}: cannot read the file ({exc.strerror})") from exc
    return parse_idx(decompress(raw, label), label)


def write_idx(
    path: str | os.PathLike | None, array: np.ndarray, *, compress: bool | None = None
) -> bytes:
    """Write ``array`` as an IDX file and return the bytes written.

    The file appears atomically: it is written to a temporary file beside the
    target and renamed into place, so a failure leaves no partial file.

    Parameters
    ----------
    path : path-like or None
        Where to write; ``None`` only returns the bytes.
    array : numpy.ndarray
        Any array of uint8, int8, int16, int32, float32 or float64.
    compress : bool, optional
        Gzip the output. Defaults to whether ``path`` ends in ``.gz``.

    Returns
    -------
    bytes
        The file's content (compressed if ``compress``).
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise IdxFormatError(
            f"cannot write dtype {array.dtype} as IDX: expected one of uint8, int8, int16, "
            "int32, float32, float64; convert the array with .astype() first"
        )
    if array.ndim == 0 or array.ndim > _MAX_NDIM:
        raise IdxFormatError(
            f"cannot write a {array.ndim}-dimensional array as IDX: expected 1..{_MAX_NDIM} "
            "dimensions"
        )
    code = _CODES[native]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress is None:
        compress = path is not None and str(path).endswith(".gz")
    if compress:
        # mtime=0 makes the output reproducible byte for byte.
        content = gzip.compress(content, compresslevel=6, mtime=0)
    if path is not None:
        atomic_write(Path(path), content)
    return content
