"""Batch reading of image collections on Dask, into a Parquet dataset.

>>> from digitrec.batch import expand_inputs, run_batch
>>> run_batch(expand_inputs(["scans/"]), "results.parquet", workers=4)  # doctest: +SKIP

:mod:`~digitrec.batch.run` runs the job from the client (the loop over tasks),
:mod:`~digitrec.batch.worker` reads each task on a worker (with the worker's
model cache), :mod:`~digitrec.batch.sink` writes and reads the Parquet parts.
Inputs are expanded by :mod:`digitrec.inputs`, as for ``digitrec predict``.
Needs the ``batch`` extra (Dask and pyarrow).
"""

from digitrec.batch.run import BatchSummary, run_batch
from digitrec.batch.sink import SCHEMA, done_paths, read_dataset
from digitrec.batch.worker import read_batch
from digitrec.inputs import expand_inputs, read_list_file

__all__ = [
    "SCHEMA",
    "BatchSummary",
    "done_paths",
    "expand_inputs",
    "read_batch",
    "read_dataset",
    "read_list_file",
    "run_batch",
]
