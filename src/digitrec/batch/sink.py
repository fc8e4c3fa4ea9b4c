"""The output of a batch job: a folder of Parquet part files, one row per page.

Parts are written atomically (temporary file, fsync, rename), so a crash never
leaves a partial part; the paths already in the folder are what a rerun skips.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from digitrec._files import atomic_write
from digitrec.errors import InputError

__all__ = [
    "CHAR",
    "LINE",
    "PART_GLOB",
    "SCHEMA",
    "TMP_PREFIX",
    "PartSink",
    "done_paths",
    "read_dataset",
]

_BOX = pa.list_(pa.int32())  # [x, y, w, h] in the page's pixels
DIGIT = pa.struct(
    [
        pa.field("digit", pa.int32(), nullable=True),  # None: below min_confidence, or a separator
        pa.field("confidence", pa.float32()),
        pa.field("box", _BOX),
    ]
)
#: One character of a line (:class:`digitrec.pages.result.CharResult`).
CHAR = pa.struct(
    [
        pa.field("char", pa.string()),
        pa.field("confidence", pa.float32()),
        pa.field("box", _BOX),
        pa.field(
            "top3",
            pa.list_(
                pa.struct([pa.field("char", pa.string()), pa.field("confidence", pa.float32())])
            ),
        ),
    ]
)
#: One line of a page (:class:`digitrec.pages.result.LineResult`).
LINE = pa.struct(
    [
        pa.field("text", pa.string()),
        pa.field("confidence", pa.float32()),
        pa.field("box", _BOX),
        pa.field("chars", pa.list_(CHAR)),
    ]
)

#: One row per page (an image is one page; a PDF or multi-page TIFF gives one row per
#: page). ``error`` is null when the page was read; a file that cannot be read gets one
#: row with ``page``, ``text``, ``digits``, ``confidence`` and ``lines`` null and
#: ``error`` saying why. ``digits`` are the page's characters, all lines together.
SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("page", pa.int32()),
        pa.field("text", pa.string()),
        pa.field("digits", pa.list_(DIGIT)),
        pa.field("confidence", pa.float32()),
        pa.field("lines", pa.list_(LINE)),
        pa.field("error", pa.string()),
    ]
)

PART_GLOB = "part-*.parquet"
#: Temporary part files (digitrec._files.atomic_write's ``.NAME.XXXX.part``) start with a
#: dot: pyarrow and Dask ignore them when reading the folder.
TMP_PREFIX = ".part-"


def _parts(out: Path) -> list[Path]:
    return sorted(out.glob(PART_GLOB))


def done_paths(out: str | os.PathLike) -> set[str]:
    """Paths that already have a row in the Parquet dataset ``out`` (empty if none).

    Raises
    ------
    InputError
        ``out`` is a file, or a part file is not Parquet with this schema.
    """
    out = Path(out)
    if not out.exists():
        return set()
    if not out.is_dir():
        raise InputError(
            f"{out}: expected the output folder of a Parquet dataset, found a file; "
            "choose another --out or remove the file"
        )
    done: set[str] = set()
    for part in _parts(out):
        try:
            col = pq.read_table(part, columns=["path"]).column("path")
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise InputError(
                f"{part}: expected a digitrec batch part file (Parquet with a 'path' column), "
                f"found {exc}; remove it or choose another --out"
            ) from exc
        done.update(col.to_pylist())
    return done


def _write_part(table: pa.Table, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    # Whole or absent after a crash or power cut: the one atomic writer fsyncs and renames.
    return atomic_write(out / name, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def read_dataset(out: str | os.PathLike) -> pa.Table:
    """The whole result dataset as one Arrow table (``.to_pandas()`` for a frame).

    Equivalent to ``pyarrow.parquet.read_table(out)``; rows are in completion
    order, not path order (sort with ``table.sort_by("path")``).
    """
    parts = _parts(Path(out))
    if not parts:
        return SCHEMA.empty_table()
    return pa.concat_tables(pq.read_table(p, schema=SCHEMA) for p in parts)


class PartSink:
    """Gathers result tables and writes them as part files of about ``rows_per_part`` rows.

    Client memory stays bounded by one part. The folder itself is made with the
    first part, so a run that fails early leaves nothing.

    Parameters
    ----------
    out : Path
        The dataset folder.
    rows_per_part : int
        Rows gathered before a part is written.
    """

    def __init__(self, out: Path, rows_per_part: int) -> None:
        self.out = out
        self.rows_per_part = rows_per_part
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
        self.written: list[str] = []
        self.rows = 0
        self.files = 0
        self.errors = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        for stale in out.glob(f"{TMP_PREFIX}*.part"):  # left by a run killed while writing
            stale.unlink(missing_ok=True)

    def add(self, table: pa.Table) -> None:
        """Take one task's rows; write a part once enough rows are gathered.

        A table is never split across parts: a file's pages are written together,
        so a file with rows in the folder is complete (what a rerun skips).
        """
        self._buffer.append(table)
        self._buffered += table.num_rows
        self.rows += table.num_rows
        # A task's table holds every row of its files (all pages), and tasks share no file.
        self.files += len(table.column("path").unique())
        self.errors += table.num_rows - table.column("error").null_count
        if self._buffered >= self.rows_per_part:
            self.flush()

    def flush(self) -> None:
        """Write the rows gathered so far (if any) as one part file."""
        if self._buffer:
            name = f"part-{self.run_id}-{len(self.written):05d}.parquet"
            table = pa.concat_tables(self._buffer)
            self.written.append(str(_write_part(table, self.out, name)))
            self._buffer, self._buffered = [], 0
