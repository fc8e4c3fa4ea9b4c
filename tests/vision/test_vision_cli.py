"""`digitrec predict`: files, folders, globs, JSON, and per-file errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from vision_helpers import draw_strokes

from digitrec.cli import app
from digitrec.errors import InputError, ModelError
from digitrec.models.knn import KnnModel
from form_helpers import form_image


@pytest.fixture
def knn_dir(tmp_path):
    """A tiny saved KNN (one random image per class, k=3: top probability 1/3)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    path = tmp_path / "knn"
    KnnModel(k=3, factor=1).fit(images, np.arange(10)).save(path)
    return path


def _predict(*args: str):
    # In process (CliRunner) rather than a subprocess: the same code, seconds faster.
    return CliRunner().invoke(app, ["predict", *args])


def test_predict_json_files_folders_globs_and_errors(tmp_path, knn_dir):
    pics = tmp_path / "pics"
    pics.mkdir()
    draw_strokes().save(pics / "a.png")
    draw_strokes(n=2).save(pics / "b.jpg")
    (pics / "broken.png").write_bytes(b"not an image at all")
    run = _predict(str(pics), str(tmp_path / "pics" / "*.jpg"), "--model", str(knn_dir), "--json")
    assert run.exit_code == 0, run.output
    rows = json.loads(run.stdout)
    assert [r["path"].rsplit("/", 1)[1] for r in rows] == ["a.png", "b.jpg", "broken.png", "b.jpg"]
    a, b, broken, _ = rows
    assert set(a) == {"path", "page", "text", "confidence", "lines"} and a["page"] == 1
    assert len(a["text"]) == 3 and len(b["text"]) == 2
    (line,) = a["lines"]  # a one-line image: one line, its text the page's
    assert line["text"] == a["text"] and len(line["box"]) == 4
    for char in line["chars"]:
        assert set(char) == {"char", "confidence", "box", "top3"} and len(char["box"]) == 4
    assert a["confidence"] == line["confidence"] == min(c["confidence"] for c in line["chars"])
    assert "broken.png" in broken["error"] and "expected an image" in broken["error"]


def test_predict_text_mode_and_all_failed_exit(tmp_path, knn_dir):
    draw_strokes().save(tmp_path / "a.png")
    run = _predict(str(tmp_path / "a.png"), "--model", str(knn_dir), "--min-confidence", "0.5")
    assert run.exit_code == 0, run.output
    where, text, conf = run.stdout.strip().split("\t")
    assert where.endswith("a.png:1") and text == "???" and 0 <= float(conf) <= 1
    (tmp_path / "bad.png").write_bytes(b"")
    (tmp_path / "worse.png").write_bytes(b"not an image")
    run = _predict(str(tmp_path / "bad.png"), str(tmp_path / "worse.png"), "--model", str(knn_dir))
    assert run.exit_code == 1
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and all("\terror: " in line for line in lines)


def test_predict_max_digits_applies_per_line(tmp_path, knn_dir):
    draw_strokes(width=300, n=5).save(tmp_path / "five.png")
    run = _predict(str(tmp_path / "five.png"), "--model", str(knn_dir), "--max-digits", "2")
    assert run.exit_code == 0, run.output
    assert len(run.stdout.strip().split("\t")[1]) == 2


def test_predict_blank_page_prints_a_dash_and_the_reason(tmp_path, knn_dir):
    Image.new("L", (120, 60), 235).save(tmp_path / "blank.png")
    run = _predict(str(tmp_path / "blank.png"), "--model", str(knn_dir))
    assert run.exit_code == 0, run.output
    where, text, conf, reason = run.stdout.strip().split("\t")
    assert where.endswith("blank.png:1") and text == "-" and float(conf) == 0.0
    assert reason.startswith("(") and len(reason) > 2


def test_a_path_matching_nothing_is_a_clear_error_before_reading(tmp_path, knn_dir):
    draw_strokes().save(tmp_path / "a.png")
    run = _predict(str(tmp_path / "a.png"), str(tmp_path / "gone.png"), "--model", str(knn_dir))
    assert run.exit_code == 1 and run.stdout == ""
    assert isinstance(run.exception, InputError) and "gone.png" in str(run.exception)


def test_predict_recurses_into_folders_and_reads_stdin(tmp_path, knn_dir, monkeypatch):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    draw_strokes().save(tmp_path / "a" / "deep" / "x.png")
    draw_strokes(n=2).save(tmp_path / "y.png")
    run = _predict(str(tmp_path / "a"), "--model", str(knn_dir), "--json")
    assert [r["path"] for r in json.loads(run.stdout)] == [str(tmp_path / "a" / "deep" / "x.png")]
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(
        app, ["predict", "-", "--model", str(knn_dir), "--json"], input="y.png\n\na/deep/x.png\n"
    )
    assert run.exit_code == 0, run.output
    assert [r["path"] for r in json.loads(run.stdout)] == ["y.png", "a/deep/x.png"]


def test_predict_streams_results_before_reading_later_inputs(tmp_path, knn_dir, monkeypatch):
    """Each file's results print before the next file is read; memory holds one page."""
    import digitrec.pages.each as each

    for i in range(3):
        draw_strokes(n=1 + i).save(tmp_path / f"{i}.png")
    calls = []
    real = each.read_page

    def spy(page, **kw):
        calls.append(page.path)
        if len(calls) == 2:
            raise ModelError("stop: the second file was reached")  # never isolated
        return real(page, **kw)

    monkeypatch.setattr(each, "read_page", spy)
    run = _predict(str(tmp_path), "--model", str(knn_dir))
    assert isinstance(run.exception, ModelError)
    assert len(calls) == 2
    # The first image's line was already written when the second file was read.
    assert run.stdout.startswith(str(tmp_path / "0.png") + ":1\t")


def test_stream_results_takes_paths_lazily(tmp_path, knn_dir):
    from digitrec.cli.predict import stream_results
    from digitrec.models import load_model

    draw_strokes().save(tmp_path / "a.png")
    taken = []

    def paths():
        for i in range(1000):
            taken.append(i)
            yield str(tmp_path / "a.png")

    entries = stream_results(paths(), model=load_model(str(knn_dir)))
    first = next(entries)
    assert first["path"].endswith("a.png") and "text" in first
    assert len(taken) == 1  # one path taken, not all 1000


def test_predict_and_batch_share_options_and_help_has_no_python_types():
    for command in ("predict", "batch"):
        run = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert run.exit_code == 0, run.output
        for option in ("--model", "--min-confidence", "--max-digits", "--json"):
            assert option in run.stdout, (command, option)
        assert not re.search(r"<(list|str|int|float|bool|path)", run.stdout), run.stdout


def test_progress_bar_only_for_many_inputs_on_a_terminal(monkeypatch):
    import io

    from rich.console import Console
    from rich.progress import Progress

    import digitrec.cli.predict as predict

    monkeypatch.setattr(predict, "console", Console(file=io.StringIO(), force_terminal=True))
    assert isinstance(predict._progress(predict.PROGRESS_FROM), Progress)
    assert predict._progress(predict.PROGRESS_FROM - 1).__enter__() is None
    monkeypatch.setattr(predict, "console", Console(file=io.StringIO(), force_terminal=False))
    assert predict._progress(10_000).__enter__() is None


def _pages(*counts: int) -> list[np.ndarray]:
    """One grey page per count: that many rows of strokes, one above the other."""
    pages = []
    for rows in counts:
        page = np.full((40 + 110 * rows, 260), 235, np.uint8)
        for r in range(rows):
            page[30 + 110 * r : 110 + 110 * r, 30:230] = np.asarray(draw_strokes(n=2 + r))
        pages.append(page)
    return pages


#: Pages of several lines are read by the line model unless the segment reader is chosen,
#: the one --model (here a fast KNN) reads with.
SEGMENT = ("--reader", "segment")


def test_predict_reads_every_page_of_a_pdf_text_and_json(tmp_path, knn_dir):
    from pdf_helpers import pdf_of

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "scan.pdf").write_bytes(pdf_of(_pages(2, 1)))
    run = _predict(
        str(tmp_path / "docs"), "--model", str(knn_dir), *SEGMENT
    )  # folders include PDFs
    assert run.exit_code == 0, run.output
    lines = [ln.split("\t") for ln in run.stdout.strip().splitlines()]
    assert [ln[0].rsplit("/", 1)[1] for ln in lines] == ["scan.pdf:1", "scan.pdf:1", "scan.pdf:2"]
    assert [len(ln[1]) for ln in lines] == [2, 3, 2]
    run = _predict(str(tmp_path / "docs" / "scan.pdf"), "--model", str(knn_dir), *SEGMENT, "--json")
    pages = json.loads(run.stdout)
    assert [(p["page"], len(p["lines"])) for p in pages] == [(1, 2), (2, 1)]
    first = pages[0]
    assert first["text"] == "\n".join(ln["text"] for ln in first["lines"])
    assert first["lines"][0]["box"][1] < first["lines"][1]["box"][1]  # top to bottom


def test_predict_multi_page_tiff_and_overlay(tmp_path, knn_dir):
    from PIL import Image as PILImage

    first, second = (PILImage.fromarray(p) for p in _pages(1, 2))
    first.save(tmp_path / "pages.tif", save_all=True, append_images=[second])
    out = tmp_path / "over" / "lay"
    run = _predict(
        str(tmp_path / "pages.tif"), "--model", str(knn_dir), *SEGMENT, "--overlay", str(out)
    )
    assert run.exit_code == 0, run.output
    wheres = [ln.split("\t")[0] for ln in run.stdout.strip().splitlines()]
    assert wheres == [f"{tmp_path / 'pages.tif'}:{k}" for k in (1, 2, 2)]
    assert sorted(p.name for p in out.iterdir()) == ["pages-p1.png", "pages-p2.png"]
    drawn = np.asarray(PILImage.open(out / "pages-p2.png"))
    assert drawn.shape == (*_pages(2)[0].shape, 3)
    assert (np.abs(drawn[..., 0].astype(int) - drawn[..., 1]) > 60).any()  # coloured boxes


def test_predict_corrupt_and_encrypted_pdfs_are_error_lines_naming_them(tmp_path, knn_dir):
    from pdf_helpers import encrypted_pdf, pdf_of

    (tmp_path / "locked.pdf").write_bytes(encrypted_pdf())
    (tmp_path / "cut.pdf").write_bytes(pdf_of(_pages(1))[:300])
    draw_strokes().save(tmp_path / "ok.png")
    run = _predict(str(tmp_path), "--model", str(knn_dir), *SEGMENT)
    assert run.exit_code == 0, run.output
    lines = dict(ln.split("\t", 1) for ln in run.stdout.strip().splitlines())
    assert lines[str(tmp_path / "locked.pdf")].startswith("error: ")
    assert "locked.pdf" in lines[str(tmp_path / "locked.pdf")]
    assert "encrypted" in lines[str(tmp_path / "locked.pdf")]
    assert "cut.pdf" in lines[str(tmp_path / "cut.pdf")]
    assert str(tmp_path / "ok.png") + ":1" in lines


def test_predict_line_reader_reads_separators_and_skips_words(tmp_path):

    img = form_image()
    img.save(tmp_path / "form.png")
    run = _predict(str(tmp_path / "form.png"), "--reader", "combined", "--json")
    assert run.exit_code == 0, run.output
    (page,) = json.loads(run.stdout)
    assert page["text"] == "12.50" and len(page["lines"]) == 1
    run = _predict(str(tmp_path / "form.png"), "--reader", "combined", "--digits-only", "--json")
    (page,) = json.loads(run.stdout)
    assert page["text"] == "1250", page  # the point is no separator, not a 1 in its place
    run = _predict(str(tmp_path / "form.png"), "--reader", "magic")
    assert run.exit_code != 0 and "reader" in run.output
    # the default reads a page of several lines with the line model too ...
    run = _predict(str(tmp_path / "form.png"), "--json")
    (page,) = json.loads(run.stdout)
    assert page["text"] == "12.50", page
    # ... and the segment reader reads the words as digits
    run = _predict(str(tmp_path / "form.png"), "--reader", "segment", "--json")
    (page,) = json.loads(run.stdout)
    assert len(page["lines"]) == 2 and page["text"].split("\n")[0] != "12.50", page
