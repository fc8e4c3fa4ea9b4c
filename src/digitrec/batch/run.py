"""Read a collection of images on a Dask cluster into a Parquet dataset.

The job, from the client's side:

1. the output folder's existing part files tell which paths are done
   (resumability: only the others are read);
2. the remaining paths are cut into tasks of ``batch_size`` images; a bounded
   window of tasks is in flight at any time, so that neither the scheduler nor
   the client holds millions of futures;
3. each task runs on a worker: the worker reads its images itself (the paths
   must be visible to it, e.g. on a shared file system) with one
   :func:`digitrec.vision.read_many` call, using the model that the worker
   loaded once (:class:`ModelPlugin`), and returns a small Arrow table;
4. tables are gathered as they complete (``distributed.as_completed``) and
   written as Parquet part files of about ``rows_per_part`` rows, each one
   atomically (temporary file, fsync, rename): a crash never leaves a partial
   part, and client memory stays bounded by one part.

A worker lost mid-run (killed, out of memory, node gone) costs only a retry:
the scheduler reruns its tasks elsewhere and each task's result reaches the
client once, so every image is written exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from digitrec._files import atomic_write
from digitrec.errors import DigitrecError, InputError, ModelError

__all__ = [
    "SCHEMA",
    "BatchSummary",
    "ModelPlugin",
    "done_paths",
    "model_loads",
    "read_batch",
    "read_dataset",
    "run_batch",
    "worker_model",
]

log = logging.getLogger(__name__)

DIGIT = pa.struct(
    [
        pa.field("digit", pa.int32(), nullable=True),  # None: below min_confidence
        pa.field("confidence", pa.float32()),
        pa.field("box", pa.list_(pa.int32())),  # [x, y, w, h] in the image's pixels
    ]
)

#: One row per image. ``error`` is null when the image was read; otherwise
#: ``text``, ``digits`` and ``confidence`` are null and ``error`` says why.
SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("digits", pa.list_(DIGIT)),
        pa.field("confidence", pa.float32()),
        pa.field("error", pa.string()),
    ]
)

PART_GLOB = "part-*.parquet"
#: Temporary files start with a dot: pyarrow and Dask ignore them when reading the folder.
TMP_PREFIX = ".tmp-"


# --------------------------------------------------------------------------- worker side

_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()
#: How many times this process loaded each model spec (tests check "once per worker").
LOAD_COUNTS: Counter[str] = Counter()


def worker_model(spec: str) -> Any:
    """The model for ``spec``, loaded at most once per process.

    Parameters
    ----------
    spec : str
        ``"default"`` (the shipped model) or a saved model folder, as for
        :func:`digitrec.models.load_model`.

    Returns
    -------
    object
        A model with ``predict_proba``.
    """
    # A lock, not just a dict: a worker with several threads must not load the model twice.
    with _MODELS_LOCK:
        model = _MODELS.get(spec)
        if model is None:
            from digitrec.models import load_model

            model = _MODELS[spec] = load_model(spec)
            LOAD_COUNTS[spec] += 1
        return model


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model spec (``client.run(model_loads)``)."""
    return dict(LOAD_COUNTS)


try:  # Dask is an optional extra ("digitrec[batch]"); the reader works without it.
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - only without the batch extra
    WorkerPlugin = object  # type: ignore[assignment,misc]


class ModelPlugin(WorkerPlugin):
    """Load the model on every worker when it starts (also on workers that join later).

    Parameters
    ----------
    spec : str
        The model spec, as for :func:`worker_model`.
    """

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.name = f"digitrec-model-{spec}"

    def setup(self, worker: Any) -> None:
        """Load the model into the worker process's cache."""
        worker_model(self.spec)


def _ok_row(path: str, result: Any) -> dict[str, Any]:
    d = result.to_dict()
    return {
        "path": path,
        "text": d["text"],
        "digits": [
            {"digit": g["digit"], "confidence": g["confidence"], "box": g["box"]}
            for g in d["digits"]
        ],
        "confidence": d["confidence"],
        "error": None,
    }


class _KilledError(Exception):
    def __init__(self, exc: BaseException) -> None:
        tries = exc.args[2] + 1 if len(exc.args) > 2 and isinstance(exc.args[2], int) else "every"
        super().__init__(
            f"expected an image that can be read, found one whose reading killed the worker "
            f"process ({tries} tries; a crashing decoder, or an image too large for the "
            "worker's memory?); check the file, or give the workers more memory"
        )


def _error_row(path: str, exc: BaseException) -> dict[str, Any]:
    msg = str(exc) or type(exc).__name__
    if not isinstance(exc, DigitrecError | _KilledError):
        msg = f"{type(exc).__name__}: {msg}"  # not one of ours: the type helps a bug report
    if path not in msg:  # every error names its input
        msg = f"{path}: {msg}"
    return {"path": path, "text": None, "digits": None, "confidence": None, "error": msg}


def read_batch(
    paths: Sequence[str],
    model: str = "default",
    min_confidence: float = 0.0,
    max_digits: int | None = None,
) -> pa.Table:
    """Read one task's images in this process: one row per path, in order.

    All images go through one :func:`digitrec.vision.read_many` call (one
    model call for all their digits). When that fails on a bad image, the
    images are read one by one so that only the bad ones become error rows.

    Parameters
    ----------
    paths : sequence of str
        Image files readable from this process.
    model : str
        Model spec, loaded once per process by :func:`worker_model`.
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`.

    Returns
    -------
    pyarrow.Table
        Rows with :data:`SCHEMA`.

    Raises
    ------
    ModelError
        The model cannot be loaded or used: that fails every image alike,
        so it fails the job instead of filling it with error rows.
    """
    from digitrec.vision import read, read_many

    m = worker_model(model)
    kw: dict[str, Any] = {"model": m, "min_confidence": min_confidence}
    if max_digits is not None:  # read() takes it; pass it on only when asked for
        kw["max_digits"] = max_digits
    try:
        results = read_many(list(paths), **kw)
        rows = [_ok_row(p, r) for p, r in zip(paths, results, strict=True)]
    except ModelError:
        raise
    except Exception:
        # Some image is bad (InputError) or trips the reader: isolate it. Any exception is
        # caught per image on purpose: one odd file must not fail a job of millions.
        rows = []
        for p in paths:
            try:
                rows.append(_ok_row(p, read(p, **kw)))
            except ModelError:
                raise
            except Exception as exc:
                rows.append(_error_row(p, exc))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


# --------------------------------------------------------------------------- output dataset


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
    final = out / name
    # atomic_write fsyncs before the rename: after a power cut a part is whole or absent.
    return atomic_write(final, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def read_dataset(out: str | os.PathLike) -> pa.Table:
    """The whole result dataset as one Arrow table (``.to_pandas()`` for a frame).

    Equivalent to ``pyarrow.parquet.read_table(out)``; rows are in completion
    order, not path order (sort with ``table.sort_by("path")``).
    """
    parts = _parts(Path(out))
    if not parts:
        return SCHEMA.empty_table()
    return pa.concat_tables(pq.read_table(p, schema=SCHEMA) for p in parts)


# --------------------------------------------------------------------------- client side


@dataclass
class BatchSummary:
    """What a run did.

    Attributes
    ----------
    total : int
        Paths given.
    skipped : int
        Paths already in the output (earlier runs).
    read : int
        Paths read by this run (rows written).
    errors : int
        Of those, rows with an error.
    parts : list of str
        Part files this run wrote.
    seconds : float
        Wall time from the first submission to the last part written.
    workers : int
        Worker threads when the run started.
    """

    total: int
    skipped: int
    read: int
    errors: int
    parts: list[str]
    seconds: float
    workers: int

    @property
    def images_per_second(self) -> float:
        """Images read by this run per second of wall time."""
        return self.read / self.seconds if self.seconds > 0 else 0.0


@contextlib.contextmanager
def _client(client: Any, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            c = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"--scheduler {scheduler}: expected a running Dask scheduler, found none ({exc}); "
                "start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                "or drop --scheduler to use a local cluster"
            ) from exc
        with c:
            yield c
        return
    n = workers or os.cpu_count() or 1
    # One thread per process: the reader is CPU-bound Python/numpy, so processes (not
    # threads) are what scale; a random dashboard port, so that two jobs never collide.
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _chunks(paths: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(paths), size):
        yield list(paths[i : i + size])


def _model_spec(model: str) -> str:
    # A saved model folder given relative to here must still be found by workers that run in
    # another folder; "default" and other names are left alone.
    p = Path(model)
    return str(p.resolve()) if p.exists() else model


def run_batch(
    paths: Sequence[str],
    out: str | os.PathLike,
    *,
    model: str = "default",
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    batch_size: int = 64,
    rows_per_part: int = 10_000,
    min_confidence: float = 0.0,
    max_digits: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Read images on a Dask cluster into the Parquet dataset folder ``out``.

    Parameters
    ----------
    paths : sequence of str
        Image paths, as from :func:`~digitrec.batch.inputs.expand_inputs`;
        workers open them, so on a real cluster they must be on storage that
        every worker mounts at the same place.
    out : path-like
        Folder of Parquet part files (created if missing). Paths that already
        have a row there are skipped: rerunning after an interruption resumes.
    model : str
        ``"default"`` or a saved model folder; each worker loads it once.
    client : distributed.Client, optional
        Use this client (and its cluster). Otherwise ``scheduler``, otherwise
        a new ``LocalCluster`` of ``workers`` single-threaded processes.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    workers : int, optional
        Worker processes of the local cluster (default: the CPU count).
    batch_size : int
        Images per task: large enough that per-task overhead (~1 ms of
        scheduler time) is small against the reading, small enough to spread
        the work and lose little when a worker dies.
    rows_per_part : int
        Rows gathered before a part file is written (bounds client memory).
    min_confidence, max_digits
        As for :func:`digitrec.vision.read`.
    progress : callable, optional
        Called as ``progress(images_done, images_to_do)`` after each task.

    Returns
    -------
    BatchSummary

    Raises
    ------
    InputError
        Bad arguments, an unusable output folder, or no scheduler at ``scheduler``.
    ModelError
        The model cannot be loaded on the workers. Rows completed before the
        failure are written, so a rerun resumes after them.
    """
    if batch_size < 1:
        raise InputError(f"--batch-size: expected a positive number of images, found {batch_size}")
    if rows_per_part < 1:
        raise InputError(f"--rows-per-part: expected a positive row count, found {rows_per_part}")
    if not 0.0 <= min_confidence <= 1.0:
        raise InputError(f"--min-confidence: expected a value in [0, 1], found {min_confidence}")
    if (client is not None and scheduler) or (workers and (client is not None or scheduler)):
        raise InputError(
            f"--scheduler {scheduler} / --workers {workers}: expected one way to get a cluster, "
            "found several; --workers sizes the local cluster, a running scheduler brings its "
            "own workers: give one of them"
        )
    out = Path(out)
    done = done_paths(out)
    # The folder itself is made with the first part: a run that fails early leaves nothing.
    for stale in out.glob(f"{TMP_PREFIX}*"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)
    todo = [p for p in dict.fromkeys(paths) if p not in done]
    skipped = len(paths) - len(todo)
    spec = _model_spec(model)
    if client is None and scheduler is None and spec != "default" and not Path(spec).exists():
        # A local cluster sees this file system: say so now rather than from every worker.
        raise ModelError(
            f"{model}: no model there; expected a model folder written by `digitrec train` "
            "(or its model.safetensors), or 'default' for the shipped model"
        )
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
    written: list[str] = []
    n_read = n_errors = 0
    if not todo:
        return BatchSummary(len(paths), skipped, 0, 0, [], 0.0, 0)

    with _client(client, scheduler, workers) as c:
        from distributed import KilledWorker, as_completed

        plugin = ModelPlugin(spec)
        try:
            c.register_plugin(plugin)
        except BaseException:
            # Workers that join later would retry (and fail) the load: unregister.
            with contextlib.suppress(Exception):
                c.unregister_worker_plugin(plugin.name)
            raise
        # The clock starts once the workers are up and hold the model: it measures reading.
        t0 = time.perf_counter()
        threads = sum(c.nthreads().values())
        chunks = _chunks(todo, batch_size)
        buffer: list[pa.Table] = []
        buffered = 0

        def flush() -> None:
            nonlocal buffer, buffered
            if buffer:
                table = pa.concat_tables(buffer)
                name = f"part-{run_id}-{len(written):05d}.parquet"
                written.append(str(_write_part(table, out, name)))
                buffer, buffered = [], 0

        tasks: dict[str, list[str]] = {}  # key of each future in flight -> its paths

        def submit_one(chunk: list[str]) -> Any:
            fut = c.submit(read_batch, chunk, spec, min_confidence, max_digits, pure=False)
            tasks[fut.key] = chunk
            return fut

        def submit(n: int) -> list[Any]:
            futs = []
            for chunk in chunks:
                futs.append(submit_one(chunk))
                if len(futs) >= n:
                    break
            return futs

        # Enough tasks in flight to keep every thread busy while results travel back, but
        # bounded: memory on the client and the scheduler does not grow with the job.
        window = max(2 * threads, 4)
        pending = as_completed(submit(window))
        last_check = time.monotonic()
        # Images of tasks that workers kept dying on, to be read alone one at a time ("probes").
        # One probe at a time, so that a dying probe takes no other probe down with it: an
        # image whose probe kills its worker is then surely the culprit.
        suspects: deque[str] = deque()
        probes: set[str] = set()
        try:
            for fut in pending:
                chunk = tasks.pop(fut.key)
                probed = fut.key in probes
                probes.discard(fut.key)
                table = None
                try:
                    table = fut.result()
                except KilledWorker as exc:
                    # Workers died running this task more often than the scheduler allows
                    # (distributed.scheduler.allowed-failures): usually an image crashes the
                    # decoder or exhausts memory, and the task's other images are innocent.
                    if probed:
                        row = _error_row(chunk[0], _KilledError(exc))
                        table = pa.Table.from_pylist([row], schema=SCHEMA)
                    else:
                        suspects.extend(chunk)
                finally:
                    fut.release()
                if not probes and suspects:
                    probe = submit_one([suspects.popleft()])
                    probes.add(probe.key)
                    pending.add(probe)
                if table is not None:
                    buffer.append(table)
                    buffered += table.num_rows
                    n_read += table.num_rows
                    n_errors += table.num_rows - table.column("error").null_count
                    if buffered >= rows_per_part:
                        flush()
                    if progress is not None:
                        progress(n_read, len(todo))
                if time.monotonic() - last_check > 2.0:  # workers may have joined or left
                    window = max(2 * sum(c.nthreads().values()), 4)
                    last_check = time.monotonic()
                for f in submit(max(window - pending.count(), 1)):
                    pending.add(f)
        finally:
            # Also on Ctrl-C or a failed task: keep what is done, so that a rerun resumes.
            flush()
            pending.clear()
            # On a shared long-lived cluster, new workers need not load this model any more.
            with contextlib.suppress(Exception):
                c.unregister_worker_plugin(plugin.name)
    return BatchSummary(
        len(paths), skipped, n_read, n_errors, written, time.perf_counter() - t0, threads
    )
