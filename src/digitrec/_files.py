"""Writing files: the one place in digitrec that replaces a file atomically.

Every file digitrec writes (data, models, reports, figures, batch parts) goes
through :func:`atomic_write`: the content lands in a temporary file beside the
target, is flushed to disk, gets the permissions a plain ``open()`` would give
it (``0o666`` minus the umask, so usually ``0o644``), and is renamed over the
target. A reader therefore sees the old file or the whole new one, never a
partial one, even after a power cut, and a failed write leaves no temporary
file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "publish", "sha256", "write_json"]

#: Something to write: bytes, text (UTF-8), or a function that writes the file at a path.
Content = bytes | str | Callable[[Path], Any]


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    # Elsewhere the only way to read the umask is to set it and put it back.
    old = os.umask(0o022)
    os.umask(old)
    return old


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries so the rename survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_write(path: str | os.PathLike, content: Content, mode: int | None = None) -> Path:
    """Write a file atomically: temp file, fsync, permissions, rename, fsync folder.

    Parameters
    ----------
    path : path-like
        The file to create or replace; missing parent folders are created.
    content : bytes, str or callable
        Bytes, text (written as UTF-8), or a function called with the temporary
        file's path that writes the file itself (``fig.savefig``, ``onnx.save``,
        ``pyarrow.parquet.write_table``, ...).
    mode : int, optional
        Permission bits of the result. Default: ``0o666`` minus the process
        umask, as ``open()`` would give (``mkstemp`` alone gives ``0o600``).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", "hello").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(name)
    try:
        if callable(content):
            os.close(fd)
            content(tmp)
        else:
            data = content.encode("utf-8") if isinstance(content, str) else content
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        publish(tmp, path, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def publish(tmp: str | os.PathLike, path: str | os.PathLike, mode: int | None = None) -> Path:
    """Move a finished file into place: fsync, permissions, rename, fsync folder.

    The one place where digitrec replaces a file; :func:`atomic_write` and the
    data downloader (which verifies a file before it is published) both end here.

    Parameters
    ----------
    tmp : path-like
        The complete file, on the same file system as ``path``.
    path : path-like
        Where it goes; an existing file there is replaced in one step.
    mode : int, optional
        Permission bits; default ``0o666`` minus the umask.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    tmp, path = Path(tmp), Path(path)
    _fsync_file(tmp)
    os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (with a final newline), atomically.

    Parameters
    ----------
    path : path-like
        The ``.json`` file to write.
    obj : object
        Anything :func:`json.dumps` accepts.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    return atomic_write(path, json.dumps(obj, indent=2) + "\n")


def sha256(path: str | os.PathLike) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like
        The file to hash.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
