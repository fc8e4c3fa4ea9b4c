"""Batch reading of image collections on Dask, into a Parquet dataset.

>>> from digitrec.batch import expand_inputs, run_batch
>>> run_batch(expand_inputs(["scans/"]), "results.parquet", workers=4)  # doctest: +SKIP

:mod:`~digitrec.batch.inputs` turns folders, globs and list files into paths;
:mod:`~digitrec.batch.run` runs the job (needs the ``batch`` extra: Dask and pyarrow).
"""

from digitrec.batch.inputs import expand_inputs, read_list_file
from digitrec.batch.run import SCHEMA, BatchSummary, done_paths, read_batch, read_dataset, run_batch

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
