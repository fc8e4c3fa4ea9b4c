import dataclasses
import gzip
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from data_helpers import TINY, write_tiny_dataset
from digitrec.data import DATASETS, fetch, load_dataset
from digitrec.errors import ChecksumError, DataError


@pytest.fixture
def http_mirror(tmp_path):
    """Serve a folder over HTTP on a loopback port; yields (root folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _use_mirrors(monkeypatch, *mirrors):
    entry = dataclasses.replace(DATASETS[TINY], mirrors=tuple(mirrors))
    monkeypatch.setitem(DATASETS, TINY, entry)


def test_load_from_data_dir(tiny_dir, tiny_arrays):
    data = load_dataset(TINY, tiny_dir, progress=False)
    np.testing.assert_array_equal(data.train_images, tiny_arrays["train_images"])
    np.testing.assert_array_equal(data.test_labels, tiny_arrays["test_labels"])
    assert data.paths["train_images"] == tiny_dir / "train-images-idx3-ubyte.gz"
    assert len(data.fingerprint) == 64


def test_env_var_and_raw_files(tiny_dir, tiny_arrays, monkeypatch):
    # Replace one file by its decompressed form: gzip and raw mix freely.
    gz = tiny_dir / "t10k-labels-idx1-ubyte.gz"
    (tiny_dir / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    monkeypatch.setenv("DIGITREC_DATA_DIR", str(tiny_dir))
    data = load_dataset(TINY, progress=False)
    np.testing.assert_array_equal(data.test_labels, tiny_arrays["test_labels"])


def test_recompressed_copy_is_valid(tiny_dir):
    path = tiny_dir / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=7))
    load_dataset(TINY, tiny_dir, progress=False)


def test_folder_missing_one_file(tiny_dir):
    (tiny_dir / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing t10k-images-idx3-ubyte\.gz") as err:
        load_dataset(TINY, tiny_dir, progress=False)
    assert str(tiny_dir) in str(err.value)


def test_data_dir_that_is_not_a_folder(tmp_path, tiny_dir):
    with pytest.raises(DataError, match="expected a folder"):
        load_dataset(TINY, tmp_path / "nowhere", progress=False)


def test_one_flipped_byte_is_caught_by_name(tiny_dir):
    path = tiny_dir / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] ^= 0x01
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(
        ChecksumError, match=r"train-images-idx3-ubyte\.gz: content sha256 mismatch"
    ):
        load_dataset(TINY, tiny_dir, progress=False)


def test_label_count_disagrees_with_images(tmp_path, tiny_arrays, monkeypatch):
    arrays = dict(tiny_arrays, train_labels=tiny_arrays["train_labels"][:-1])
    folder = tmp_path / "d"
    folder.mkdir()
    monkeypatch.setitem(DATASETS, TINY, write_tiny_dataset(folder, arrays))
    with pytest.raises(DataError, match=r"label count 59 disagrees with 60 images"):
        load_dataset(TINY, folder, progress=False)


def test_download_tries_mirrors_in_order_then_caches(tiny_dir, http_mirror, monkeypatch, tmp_path):
    root, url = http_mirror
    good = root / "good"
    good.mkdir()
    for f in tiny_dir.iterdir():
        (good / f.name).write_bytes(f.read_bytes())
    _use_mirrors(monkeypatch, url + "missing/", url + "good/")
    paths = fetch(TINY, progress=False)
    cache = tmp_path / "cache" / TINY
    assert set(paths.values()) == {cache / f.name for f in tiny_dir.iterdir()}
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left
    # Second time: served from the cache even with every mirror gone.
    _use_mirrors(monkeypatch)
    assert fetch(TINY, progress=False) == paths


def test_download_with_bad_content_leaves_nothing(tiny_dir, http_mirror, monkeypatch, tmp_path):
    root, url = http_mirror
    for f in tiny_dir.iterdir():
        (root / f.name).write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"))
    _use_mirrors(monkeypatch, url)
    with pytest.raises(DataError, match="content sha256 mismatch"):
        fetch(TINY, progress=False)
    cache = tmp_path / "cache" / TINY
    assert list(cache.iterdir()) == []


def test_offline_error_lists_where_it_looked(tiny_dir, monkeypatch, tmp_path):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    with pytest.raises(DataError) as err:
        fetch(TINY, progress=False)
    message = str(err.value)
    assert "DIGITREC_DATA_DIR / --data-dir: not set" in message
    assert str(tmp_path / "cache" / TINY) in message
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in message
    assert "Fix:" in message


def test_corrupt_cache_file_is_replaced(tiny_dir, http_mirror, monkeypatch, tmp_path):
    root, url = http_mirror
    for f in tiny_dir.iterdir():
        (root / f.name).write_bytes(f.read_bytes())
    cache = tmp_path / "cache" / TINY
    cache.mkdir(parents=True)
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"junk")
    _use_mirrors(monkeypatch, url)
    data = load_dataset(TINY, progress=False)
    assert len(data.train_labels) == 60


def test_corrupt_cache_file_offline_is_named(tiny_dir, monkeypatch, tmp_path):
    cache = tmp_path / "cache" / TINY
    cache.mkdir(parents=True)
    (cache / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    _use_mirrors(monkeypatch)
    with pytest.raises(DataError, match=r"corrupt: .*train-images-idx3-ubyte\.gz"):
        load_dataset(TINY, progress=False)


def test_unwritable_cache(tiny_dir, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DIGITREC_CACHE", str(blocker / "cache"))
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    with pytest.raises(DataError, match=r"cache folder is not writable.*DIGITREC_CACHE"):
        fetch(TINY, progress=False)


def test_unknown_dataset():
    from digitrec.errors import InputError

    with pytest.raises(InputError, match="expected one of fashion-mnist, mnist"):
        load_dataset("cifar")


def test_registry_is_complete():
    for ds in DATASETS.values():
        assert set(ds.files) == {"train_images", "train_labels", "test_images", "test_labels"}
        for f in ds.files.values():
            assert len(f.sha256) == 64 and len(f.gz_md5) == 32
        assert ds.mirrors and all(m.endswith("/") for m in ds.mirrors)


@pytest.mark.mnist
def test_real_mnist_loads_and_verifies(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.train_images.dtype == np.uint8
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(mnist.test_labels).tolist()[:3] == [980, 1135, 1032]


@pytest.mark.mnist
def test_real_mnist_fetch_reports_paths(mnist_dir):
    paths = fetch("mnist", mnist_dir, progress=False)
    assert {p.parent for p in paths.values()} == {Path(mnist_dir)}


def test_tests_cannot_reach_the_internet():
    # The conftest guard: a download attempted by a test fails at once, offline or not.
    import socket
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError, match="must not use the network"):
        urllib.request.urlopen("https://example.org/", timeout=5)
    with pytest.raises(OSError, match="must not use the network"):
        socket.create_connection(("93.184.215.14", 443), timeout=5)
