"""`digitrec predict`: files, folders, globs, JSON, and per-file errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner
from vision_helpers import draw_strokes

from digitrec.cli import app
from digitrec.errors import InputError
from digitrec.models.knn import KnnModel


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
    assert len(a["text"]) == 3 and len(b["text"]) == 2
    for digit in a["digits"]:
        assert set(digit) >= {"digit", "confidence", "box"} and len(digit["box"]) == 4
    assert a["confidence"] == min(d["confidence"] for d in a["digits"])
    assert "broken.png" in broken["error"] and "expected an image" in broken["error"]


def test_predict_text_mode_and_all_failed_exit(tmp_path, knn_dir):
    draw_strokes().save(tmp_path / "a.png")
    run = _predict(str(tmp_path / "a.png"), "--model", str(knn_dir), "--min-confidence", "0.5")
    assert run.exit_code == 0, run.output
    path, text, conf = run.stdout.strip().split("\t")
    assert path.endswith("a.png") and text == "???" and 0 <= float(conf) <= 1
    (tmp_path / "bad.png").write_bytes(b"")
    (tmp_path / "worse.png").write_bytes(b"not an image")
    run = _predict(str(tmp_path / "bad.png"), str(tmp_path / "worse.png"), "--model", str(knn_dir))
    assert run.exit_code == 1
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2 and all("\terror: " in line for line in lines)


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
    """Each chunk's results print before the next chunk is read; memory holds one chunk."""
    import digitrec.cli.predict as predict
    import digitrec.vision.isolate as isolate

    for i in range(3):
        draw_strokes(n=1 + i).save(tmp_path / f"{i}.png")
    calls = []
    real = isolate.read_each

    def spy(group, **kw):
        calls.append(list(group))
        if len(calls) == 2:
            raise RuntimeError("stop: the second chunk was reached")
        return real(group, **kw)

    monkeypatch.setattr(isolate, "read_each", spy)
    monkeypatch.setattr(predict, "CHUNK", 1)
    run = _predict(str(tmp_path), "--model", str(knn_dir))
    assert isinstance(run.exception, RuntimeError)
    assert [len(c) for c in calls] == [1, 1]
    # The first image's line was already written when the second chunk was read.
    assert run.stdout.startswith(str(tmp_path / "0.png") + "\t")


def test_stream_results_takes_paths_lazily(tmp_path, knn_dir):
    from digitrec.cli.predict import stream_results
    from digitrec.models import load_model

    draw_strokes().save(tmp_path / "a.png")
    taken = []

    def paths():
        for i in range(1000):
            taken.append(i)
            yield str(tmp_path / "a.png")

    entries = stream_results(paths(), model=load_model(str(knn_dir)), chunk=4)
    first = next(entries)
    assert first["path"].endswith("a.png") and "text" in first
    assert len(taken) <= 5  # one chunk (plus the look-ahead of islice), not all 1000


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
