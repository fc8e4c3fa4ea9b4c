import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitrec.data import parse_idx, read_idx, write_idx
from digitrec.errors import DataError, IdxFormatError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gz", [False, True])
def test_roundtrip_every_type(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert path.read_bytes().startswith(b"\x1f\x8b") == gz
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)
    np.testing.assert_array_equal(read_idx(path.read_bytes()), array)


def test_header_is_big_endian_as_specified():
    data = write_idx(None, np.array([[1, 258]], dtype=np.int16))
    assert data[:4] == bytes([0, 0, 0x0B, 2])
    assert struct.unpack(">II", data[4:12]) == (1, 2)
    assert data[12:] == b"\x00\x01\x01\x02"


def test_mnist_style_header_offsets():
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    data = write_idx(None, images)
    assert len(data) == 16 + images.size  # 16-byte header for 3-D images
    labels = write_idx(None, np.array([3, 7], dtype=np.uint8))
    assert len(labels) == 8 + 2  # 8-byte header for labels


def test_uint8_is_a_view_not_a_copy():
    data = write_idx(None, np.zeros((10, 28, 28), np.uint8))
    array = parse_idx(data)
    assert not array.flags.owndata
    assert not array.flags.writeable


def test_wrong_magic_names_file_and_hints_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x1f\x8b\x08\x08" + b"\x00" * 20)
    with pytest.raises(IdxFormatError, match=r"train-images-idx3-ubyte: expected an IDX magic"):
        parse_idx(path.read_bytes(), str(path))
    with pytest.raises(IdxFormatError, match=r"found 0x1f8b0808; is it still gzip-compressed"):
        parse_idx(path.read_bytes(), str(path))


def test_unknown_type_code():
    with pytest.raises(IdxFormatError, match="found 0x00000701"):
        parse_idx(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")


def test_truncated_data(tmp_path):
    data = write_idx(None, np.zeros((5, 28, 28), np.uint8))
    path = tmp_path / "t.idx"
    path.write_bytes(data[:-10])
    expected = r"t\.idx: expected 3936 bytes .* found 3926.*truncated"
    with pytest.raises(IdxFormatError, match=expected):
        read_idx(path)


def test_truncated_header():
    with pytest.raises(IdxFormatError, match="header"):
        parse_idx(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(IdxFormatError, match="empty or truncated"):
        parse_idx(b"")


def test_extra_bytes():
    data = write_idx(None, np.zeros(4, np.uint8)) + b"\x00"
    with pytest.raises(IdxFormatError, match="followed by extra bytes"):
        parse_idx(data)


def test_gzip_stream_that_ends_early(tmp_path):
    blob = gzip.compress(write_idx(None, np.arange(1000, dtype=np.int32)))
    path = tmp_path / "x.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(IdxFormatError, match=r"x\.gz: the gzip stream ends early"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    blob = bytearray(gzip.compress(write_idx(None, np.arange(1000, dtype=np.int32))))
    blob[20] ^= 0xFF
    with pytest.raises(IdxFormatError, match="gzip"):
        read_idx(bytes(blob), name="c.gz")


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope.idx")


def test_write_rejects_unsupported_dtype():
    with pytest.raises(IdxFormatError, match="uint8, int8"):
        write_idx(None, np.zeros(3, np.uint16))


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.idx"

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr("digitrec.data.idx.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_idx(target, np.zeros(3, np.uint8))
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=256))
def test_arbitrary_bytes_give_array_or_our_error(blob):
    try:
        result = read_idx(blob)
    except IdxFormatError:
        return
    assert isinstance(result, np.ndarray)


@settings(max_examples=200, deadline=None)
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
    dims=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    tail=st.binary(max_size=64),
    gz=st.booleans(),
)
def test_plausible_headers_give_array_or_our_error(code, dims, tail, gz):
    blob = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + tail
    if gz:
        blob = gzip.compress(blob)[: 10 + len(tail)]
    try:
        result = read_idx(blob)
    except IdxFormatError:
        return
    assert result.shape == tuple(dims)
