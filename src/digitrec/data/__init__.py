"""Data layer: IDX files, the data set registry, finding and verifying files."""

from digitrec.data.fetch import Data, cache_dir, fetch, load_dataset, load_mnist
from digitrec.data.idx import parse_idx, read_idx, write_idx
from digitrec.data.registry import DATASETS, PARTS, DataFile, Dataset, get_dataset

__all__ = [
    "DATASETS",
    "PARTS",
    "Data",
    "DataFile",
    "Dataset",
    "cache_dir",
    "fetch",
    "get_dataset",
    "load_dataset",
    "load_mnist",
    "parse_idx",
    "read_idx",
    "write_idx",
]
