"""Shared fixtures: tiny IDX data sets in tmp_path, and the real MNIST when present.

No test reaches beyond this machine: :func:`_no_network` makes every connection to a
host that is not local raise, so a test that would download (a data set, a model)
fails loudly instead of depending on the internet. Real-MNIST tests take the
``mnist_dir`` or ``mnist`` fixture, which skips when DIGITREC_DATA_DIR is not set.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from pathlib import Path

import pytest

from data_helpers import TINY, make_tiny_arrays, write_tiny_dataset
from digitrec.data import DATASETS


class NetworkBlocked(OSError):
    """Raised by the test guard when code tries to reach a non-local host."""


def _local_hosts() -> set[str]:
    names = {"localhost", socket.gethostname()}
    with contextlib.suppress(OSError):  # a host name that does not resolve: loopback only
        names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    return names


def _is_local(host: object, local: set[str]) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like never leave the machine
    if host in local:
        return True
    try:
        addr = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Refuse connections and name look-ups for non-local hosts for the whole session.

    Subprocesses (the wheel-install test's pip) are not affected: only this process.
    """
    local = _local_hosts()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address):
        host = address[0] if isinstance(address, tuple) else address
        if not _is_local(host, local):
            raise NetworkBlocked(f"tests must not use the network: tried to reach {address!r}")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None:
            check((host.decode() if isinstance(host, bytes) else host,))
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


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
