"""Read a collection of images on a Dask cluster into a Parquet dataset: the client loop.

The job, from the client's side:

1. the output folder's existing part files tell which paths are done
   (resumability: only the others are read);
2. the remaining paths are cut into tasks of ``batch_size`` images; a bounded
   window of tasks is in flight at any time, so that neither the scheduler nor
   the client holds millions of futures;
3. each task runs on a worker (:mod:`~digitrec.batch.worker`): the worker reads
   its images itself (the paths must be visible to it, e.g. on a shared file
   system) with the model it loaded once, and returns a small Arrow table;
4. tables are gathered as they complete (``distributed.as_completed``) and
   written as Parquet part files (:mod:`~digitrec.batch.sink`).

A worker lost mid-run (killed, out of memory, node gone) costs only a retry:
the scheduler reruns its tasks elsewhere and each task's result reaches the
client once, so every image is written exactly once.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from digitrec.batch.sink import SCHEMA, PartSink, done_paths
from digitrec.batch.worker import ModelPlugin, WorkerKilled, error_row, read_batch
from digitrec.errors import InputError, ModelError

__all__ = ["BatchSummary", "run_batch"]


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
        Paths read by this run (a PDF's pages are one path, several rows).
    errors : int
        Of those, paths that failed (rows with an error).
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


@contextlib.contextmanager
def _model_on_workers(c: Any, spec: str) -> Iterator[None]:
    """Every worker loads the model at start (also those that join later), for this run."""
    plugin = ModelPlugin(spec)
    try:
        c.register_plugin(plugin)
        yield
    finally:
        # On failure, workers that join later would retry (and fail) the load; on a shared
        # long-lived cluster, new workers need not load this model any more.
        with contextlib.suppress(Exception):
            c.unregister_worker_plugin(plugin.name)


def _model_spec(model: str, local: bool) -> str:
    # A saved model folder given relative to here must still be found by workers that run in
    # another folder; "default" and other names are left alone.
    p = Path(model)
    if p.exists():
        return str(p.resolve())
    if local and model != "default":
        # A local cluster sees this file system: say so now rather than from every worker.
        raise ModelError(
            f"{model}: no model there; expected a model folder written by `digitrec train` "
            "(or its model.safetensors), or 'default' for the shipped model"
        )
    return model


def _check(
    batch_size: int,
    rows_per_part: int,
    min_confidence: float,
    client: Any,
    scheduler: str | None,
    workers: int | None,
) -> None:
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


class _Tasks:
    """Submits tasks of ``batch_size`` paths, keeping a bounded window of them in flight."""

    def __init__(self, c: Any, todo: list[str], batch_size: int, task_args: tuple) -> None:
        self.c = c
        self.task_args = task_args
        self.chunks = (todo[i : i + batch_size] for i in range(0, len(todo), batch_size))
        self.paths: dict[str, list[str]] = {}  # key of each future in flight -> its paths
        self.window = 0
        self.last_check = 0.0

    def submit_one(self, chunk: list[str]) -> Any:
        fut = self.c.submit(read_batch, chunk, *self.task_args, pure=False)
        self.paths[fut.key] = chunk
        return fut

    def more(self, in_flight: int) -> list[Any]:
        """New tasks to fill the window (at least one while paths remain)."""
        if time.monotonic() - self.last_check > 2.0:  # workers may have joined or left
            # Enough tasks to keep every thread busy while results travel back, but bounded:
            # memory on the client and the scheduler does not grow with the job.
            self.window = max(2 * sum(self.c.nthreads().values()), 4)
            self.last_check = time.monotonic()
        futs: list[Any] = []
        for chunk in self.chunks:
            futs.append(self.submit_one(chunk))
            if len(futs) >= max(self.window - in_flight, 1):
                break
        return futs


def _tables(tasks: _Tasks) -> Iterator[pa.Table]:
    """Result tables of all tasks, as they complete.

    Tasks that workers kept dying on (distributed.scheduler.allowed-failures) usually hold one
    image that crashes the decoder or exhausts memory; their images are read again alone,
    one "probe" at a time, so that a dying probe takes no other down with it: an image whose
    probe kills its worker is then surely the culprit and becomes an error row.
    """
    from distributed import KilledWorker, as_completed

    pending = as_completed(tasks.more(0))
    suspects: deque[str] = deque()
    probes: set[str] = set()
    try:
        for fut in pending:
            chunk = tasks.paths.pop(fut.key)
            probed = fut.key in probes
            probes.discard(fut.key)
            table = None
            try:
                table = fut.result()
            except KilledWorker as exc:
                if probed:
                    from digitrec.vision.isolate import ReadError

                    row = error_row(chunk[0], ReadError.of(chunk[0], WorkerKilled(exc)).message)
                    table = pa.Table.from_pylist([row], schema=SCHEMA)
                else:
                    suspects.extend(chunk)
            finally:
                fut.release()
            if not probes and suspects:
                probe = tasks.submit_one([suspects.popleft()])
                probes.add(probe.key)
                pending.add(probe)
            if table is not None:
                yield table
            for f in tasks.more(pending.count()):
                pending.add(f)
    finally:
        pending.clear()


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
    reader: str = "auto",
    digits_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Read images on a Dask cluster into the Parquet dataset folder ``out``.

    Parameters
    ----------
    paths : sequence of str
        Image paths, as from :func:`digitrec.inputs.expand_inputs`; workers open
        them, so on a real cluster they must be on storage that every worker
        mounts at the same place.
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
    reader, digits_only
        The line reader of each page (:func:`digitrec.pages.read.make_line_reader`).
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
    _check(batch_size, rows_per_part, min_confidence, client, scheduler, workers)
    from digitrec.pages.read import check_reader_name

    check_reader_name(reader)  # before the cluster starts
    out = Path(out)
    done = done_paths(out)
    sink = PartSink(out, rows_per_part)
    todo = [p for p in dict.fromkeys(paths) if p not in done]
    spec = _model_spec(model, local=client is None and scheduler is None)
    task_args = (spec, min_confidence, max_digits, reader, digits_only)
    if not todo:
        return BatchSummary(len(paths), len(paths), 0, 0, [], 0.0, 0)
    with _client(client, scheduler, workers) as c, _model_on_workers(c, spec):
        # The clock starts once the workers are up and hold the model: it measures reading.
        t0, threads = time.perf_counter(), sum(c.nthreads().values())
        try:
            for table in _tables(_Tasks(c, todo, batch_size, task_args)):
                sink.add(table)
                if progress is not None:
                    progress(sink.files, len(todo))
        finally:
            sink.flush()  # also on Ctrl-C or a failed task: keep what is done, to resume
    seconds = time.perf_counter() - t0
    skipped = len(paths) - len(todo)
    return BatchSummary(
        len(paths), skipped, sink.files, sink.errors, sink.written, seconds, threads
    )
