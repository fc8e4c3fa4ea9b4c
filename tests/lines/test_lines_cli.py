"""`digitrec read-line`: plain and JSON output, through the real entry point."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from cli_helpers import run


def test_read_line_json_and_plain(monkeypatch, capsys, tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 160), 235, np.uint8)).save(path)
    code, out, _ = run(monkeypatch, capsys, "read-line", str(path), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["path"] == str(path) and d["text"] == "" and d["reason"] == "no ink found"
    code, out, _ = run(monkeypatch, capsys, "read-line", str(path), "--reader", "segment")
    assert out.startswith(f"{path}\t\t")


def test_read_line_bad_reader_is_one_line(monkeypatch, capsys, tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 160), 235, np.uint8)).save(path)
    code, _, err = run(monkeypatch, capsys, "read-line", str(path), "--reader", "magic")
    assert code == 1 and "reader: expected one of" in err
