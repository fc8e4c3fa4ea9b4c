"""The one input expander: command-line inputs in, image paths out.

``digitrec predict`` and ``digitrec batch`` both call it, so they accept the
same inputs. Each input is one of:

* a **folder**: its images and PDFs (by file name ending, :data:`INPUT_SUFFIXES`),
  searched recursively, hidden sub-folders (``.git``, ``.cache``...) skipped;
* a **list file** (ending ``.txt``, ``.lst`` or ``.list``): the paths it lists,
  one per line; blank lines and ``#`` comments are ignored and relative paths
  are relative to the list file's folder, so a list travels with its images;
* ``-``: paths read from standard input, one per line (relative to the current
  folder), e.g. ``find scans -name '*.png' | digitrec predict -``;
* a **glob pattern** (``scans/**/*.png``; ``**`` recurses; quote it so that the
  shell does not expand it);
* any other **file**: that file, whatever its ending.

An input that matches nothing is an :class:`~digitrec.errors.InputError`
naming it. A path listed in a list file or on standard input is not checked:
a missing image becomes that image's error, not a failed run.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from digitrec.errors import InputError

__all__ = [
    "DOCUMENT_SUFFIXES",
    "IMAGE_SUFFIXES",
    "INPUT_SUFFIXES",
    "LIST_SUFFIXES",
    "STDIN",
    "expand_inputs",
    "iter_inputs",
    "no_images",
    "read_list_file",
]

#: Image file name endings (case-insensitive) that the reader decodes.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
#: Document file name endings: read page by page (:mod:`digitrec.pages.documents`).
DOCUMENT_SUFFIXES = frozenset({".pdf"})
#: Endings taken from folders and globs: the images and the documents.
INPUT_SUFFIXES = IMAGE_SUFFIXES | DOCUMENT_SUFFIXES
#: File name endings of list files: one path per line.
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
#: The input that means "paths on standard input".
STDIN = "-"


def _walk(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # skip .git, .cache, ...
        found += [os.path.join(root, f) for f in files if Path(f).suffix.lower() in INPUT_SUFFIXES]
    return sorted(found)


def _lines(lines: Iterable[str], base: Path | None) -> Iterator[str]:
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            yield line if base is None else os.path.join(base, line)


def read_list_file(path: str | os.PathLike) -> list[str]:
    """Paths listed in a text file, one per line, made absolute.

    Blank lines and lines starting with ``#`` are ignored; relative paths are
    relative to the list file's folder.

    Parameters
    ----------
    path : path-like
        The list file (UTF-8).

    Returns
    -------
    list of str
        Absolute paths, in the file's order (not checked for existence).

    Raises
    ------
    InputError
        The file cannot be read as UTF-8 text.
    """
    return [os.path.abspath(p) for p in _list_file(Path(path))]


def _list_file(p: Path) -> list[str]:
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{p}: expected a UTF-8 text file listing image paths, found {exc}; "
            "check the file, or pass the images or their folder instead"
        ) from exc
    return list(_lines(lines, p.parent))


def _one(raw: str, stdin: TextIO | None) -> list[str]:
    """The paths of one input, in a stable order (see the module docstring)."""
    if raw == STDIN:
        return list(_lines(stdin if stdin is not None else sys.stdin, None))
    p = Path(raw)
    if p.is_dir():
        return _walk(p)
    if p.is_file():
        return _list_file(p) if p.suffix.lower() in LIST_SUFFIXES else [raw]
    if glob.has_magic(raw):
        matches = sorted(m for m in glob.glob(raw, recursive=True) if os.path.isfile(m))
        if not matches:
            raise InputError(
                f"{raw}: expected a glob pattern matching image files, found no match; "
                "check the pattern (quote it so that the shell does not expand it)"
            )
        return matches
    raise InputError(
        f"{raw}: expected an image file, a folder, a list file, '-' or a glob pattern, "
        "found nothing at that path; check the path"
    )


def iter_inputs(
    inputs: Iterable[str | os.PathLike], *, stdin: TextIO | None = None
) -> Iterator[str]:
    """The image paths of ``inputs``, input by input, as given (not de-duplicated).

    Each input is expanded when the iteration reaches it, so a caller can
    start work on the first paths before the last folder is listed.

    Parameters
    ----------
    inputs : iterable of str or path-like
        Files, folders, list files, globs or ``-`` (see the module docstring).
    stdin : text stream, optional
        Where ``-`` reads paths from (default: ``sys.stdin``).

    Yields
    ------
    str
        Paths as found (relative inputs stay relative); a folder's and a glob's
        paths are sorted.

    Raises
    ------
    InputError
        An input that matches nothing, or an unreadable list file.
    """
    for raw in inputs:
        yield from _one(os.fspath(raw), stdin)


def expand_inputs(inputs: Iterable[str | os.PathLike], *, stdin: TextIO | None = None) -> list[str]:
    """All image paths of ``inputs``: absolute, sorted and without duplicates.

    The same inputs always make the same list, so that a resumed batch job
    recognises the images it has done. ``inputs`` and ``stdin`` are as for
    :func:`iter_inputs`.

    Returns
    -------
    list of str
        Absolute paths. ``abspath``, not ``resolve``: the user's symlinks
        (shared mounts are often links) are kept.

    Raises
    ------
    InputError
        An input that matches nothing, or no image at all.
    """
    inputs = [os.fspath(i) for i in inputs]
    found = sorted({os.path.abspath(p) for p in iter_inputs(inputs, stdin=stdin)})
    if not found:
        raise no_images(inputs)
    return found


def no_images(inputs: Iterable[str]) -> InputError:
    """The error for inputs that hold no image at all."""
    return InputError(
        f"{' '.join(inputs) or '(no input)'}: expected image files, found none "
        f"(folders are searched for {', '.join(sorted(INPUT_SUFFIXES))}); check the inputs"
    )
