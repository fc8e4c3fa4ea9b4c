"""digitrec._files: atomic writes with the usual permissions and no leftovers."""

from __future__ import annotations

import json
import os
import stat

import pytest

from digitrec._files import atomic_write, sha256, write_json


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    os.umask(old)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_permissions_follow_umask(tmp_path, umask, mask):
    umask(mask)
    for content in (b"bytes", "text", lambda p: p.write_bytes(b"writer")):
        path = atomic_write(tmp_path / "out.bin", content)
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_explicit_mode_and_contents(tmp_path):
    path = atomic_write(tmp_path / "sub" / "x.txt", "héllo", mode=0o640)
    assert path.read_bytes() == "héllo".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "keep.txt"
    atomic_write(target, b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_write_json_and_sha256(tmp_path):
    path = write_json(tmp_path / "a.json", {"b": [1, 2]})
    assert json.loads(path.read_text()) == {"b": [1, 2]}
    assert path.read_text().endswith("\n")
    # sha256 of b"abc" (FIPS 180-2, appendix B.1)
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256(tmp_path / "abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
