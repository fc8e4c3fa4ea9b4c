"""`digitrec read-line`: plain and JSON output, through the real entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

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


def test_read_line_digits_only_flag(monkeypatch, capsys, tmp_path):
    from digitrec.testing.fonts import held_out_fonts

    fonts = held_out_fonts()
    if not fonts:
        pytest.skip("the handwriting fonts are not here (set DIGITREC_FONTS_DIR)")
    img = Image.new("L", (420, 90), 235)
    ImageDraw.Draw(img).text((20, 10), "03/11", font=ImageFont.truetype(str(fonts[1]), 48), fill=20)
    img.save(tmp_path / "date.png")
    _, free, _ = run(monkeypatch, capsys, "read-line", str(tmp_path / "date.png"), "--json")
    code, only, _ = run(
        monkeypatch, capsys, "read-line", str(tmp_path / "date.png"), "--digits-only", "--json"
    )
    assert code == 0
    assert "/" in json.loads(free)["text"] and json.loads(only)["text"].isdigit(), (free, only)
