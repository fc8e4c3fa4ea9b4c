"""Shared fixtures: tiny IDX data sets in tmp_path, and the real MNIST when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_helpers import TINY, make_tiny_arrays, write_tiny_dataset
from digitrec.data import DATASETS


@pytest.fixture
def tiny_arrays():
    return make_tiny_arrays()


@pytest.fixture
def tiny_dir(tmp_path, tiny_arrays, monkeypatch):
    """A folder with a tiny four-file data set, registered as ``tiny``."""
    folder = tmp_path / "data"
    folder.mkdir()
    entry = write_tiny_dataset(folder, tiny_arrays)
    monkeypatch.setitem(DATASETS, TINY, entry)
    monkeypatch.delenv("DIGITREC_DATA_DIR", raising=False)
    monkeypatch.setenv("DIGITREC_CACHE", str(tmp_path / "cache"))
    return folder


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder from DIGITREC_DATA_DIR (CI always sets it)."""
    env = os.environ.get("DIGITREC_DATA_DIR")
    if not env:
        if os.environ.get("CI"):
            pytest.fail("CI must export DIGITREC_DATA_DIR (see .ci/run)")
        pytest.skip("DIGITREC_DATA_DIR is not set: the real MNIST is not available here")
    return Path(env)


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """The real MNIST, loaded once per test session."""
    from digitrec.data import load_mnist

    return load_mnist(mnist_dir, progress=False)
