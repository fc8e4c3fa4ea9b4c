"""Turn the command line's inputs (files, folders, globs, list files) into image paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from pathlib import Path

from digitrec.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "LIST_SUFFIXES", "expand_inputs", "read_list_file"]

#: File name endings taken from folders and globs (case-insensitive).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
#: File name endings of list files: one image path per line.
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})


def _norm(path: str | os.PathLike) -> str:
    # abspath, not resolve(): keep the user's symlinks (shared mounts are often links), but make
    # the key independent of the current folder so that a resumed run recognises its rows.
    return os.path.abspath(os.fspath(path))


def _walk(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # skip .git, .cache, ...
        found += [os.path.join(root, f) for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES]
    return found


def read_list_file(path: str | os.PathLike) -> list[str]:
    """Paths listed in a text file, one per line.

    Blank lines and lines starting with ``#`` are ignored; relative paths are
    relative to the list file's folder, so a list travels with its images.

    Parameters
    ----------
    path : path-like
        The list file (UTF-8).

    Returns
    -------
    list of str
        Absolute paths, in the file's order (not checked for existence: a
        missing image becomes an error row, not a failed job).
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{p}: expected a UTF-8 text file listing image paths, found {exc}; "
            "check the file, or pass the images or their folder instead"
        ) from exc
    base = p.parent
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(_norm(base / line))
    return out


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Expand inputs into a sorted, de-duplicated list of absolute image paths.

    Parameters
    ----------
    inputs : iterable of str or path-like
        Each one is

        * a folder: its images (by file name ending, see :data:`IMAGE_SUFFIXES`),
          recursively, hidden sub-folders skipped;
        * a list file (ending ``.txt``, ``.lst`` or ``.list``): the paths it lists;
        * a glob pattern (``scans/**/*.png``; ``**`` recurses);
        * any other file: that file, whatever its ending.

    Returns
    -------
    list of str
        Absolute paths, sorted and without duplicates, so that the same
        inputs always make the same job (and a resumed run the same keys).

    Raises
    ------
    InputError
        An input that is neither a file, a folder nor a glob with matches,
        or no image at all.
    """
    inputs = [os.fspath(i) for i in inputs]
    found: set[str] = set()
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found.update(_norm(f) for f in _walk(p))
        elif p.is_file():
            if p.suffix.lower() in LIST_SUFFIXES:
                found.update(read_list_file(p))
            else:
                found.add(_norm(p))
        elif glob.has_magic(raw):
            matches = [m for m in glob.glob(raw, recursive=True) if os.path.isfile(m)]
            if not matches:
                raise InputError(
                    f"{raw}: expected a glob pattern matching image files, found no match; "
                    "check the pattern (quote it so that the shell does not expand it)"
                )
            found.update(_norm(m) for m in matches)
        else:
            raise InputError(
                f"{raw}: expected an image file, a folder, a list file or a glob pattern, "
                "found nothing at that path; check the path"
            )
    if not found:
        raise InputError(
            f"{' '.join(inputs) or '(no input)'}: expected image files, found none "
            f"(folders are searched for {', '.join(sorted(IMAGE_SUFFIXES))}); check the inputs"
        )
    return sorted(found)
