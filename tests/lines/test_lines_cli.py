"""`digitrec read-line`: plain and JSON output, through the real entry point."""

from __future__ import annotations

import json
import sys

import numpy as np
from PIL import Image

from digitrec.cli import main


def _run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["digitrec", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr()


def test_read_line_json_and_plain(monkeypatch, capsys, tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 160), 235, np.uint8)).save(path)
    code, out = _run(monkeypatch, capsys, "read-line", str(path), "--json")
    assert code == 0
    d = json.loads(out.out)
    assert d["path"] == str(path) and d["text"] == "" and d["reason"] == "no ink found"
    code, out = _run(monkeypatch, capsys, "read-line", str(path), "--reader", "segment")
    assert out.out.startswith(f"{path}\t\t")


def test_read_line_bad_reader_is_one_line(monkeypatch, capsys, tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 160), 235, np.uint8)).save(path)
    code, out = _run(monkeypatch, capsys, "read-line", str(path), "--reader", "magic")
    assert code == 1 and "reader: expected one of" in out.err
