"""The one input expander of `predict` and `batch`: stdin, order, laziness, suffixes."""

from __future__ import annotations

import io
import os

import pytest

from digitrec.errors import InputError
from digitrec.inputs import (
    IMAGE_SUFFIXES,
    INPUT_SUFFIXES,
    expand_inputs,
    iter_inputs,
)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for rel in ["a/2.png", "a/1.png", "a/deep/3.tif", "a/notes.md", "b.png"]:
        (tmp_path / rel).write_bytes(b"x")
    return tmp_path


def test_iter_keeps_input_order_and_duplicates_and_relative_paths(tree, monkeypatch):
    monkeypatch.chdir(tree)
    got = list(iter_inputs(["b.png", "a", "a/*.png"]))
    assert got == ["b.png", "a/1.png", "a/2.png", "a/deep/3.tif", "a/1.png", "a/2.png"]


def test_stdin_lists_paths_one_per_line(tree, monkeypatch):
    monkeypatch.chdir(tree)
    stdin = io.StringIO("b.png\n\n# a comment\n  a/deep/3.tif  \nnot-there.png\n")
    assert list(iter_inputs(["-"], stdin=stdin)) == ["b.png", "a/deep/3.tif", "not-there.png"]
    stdin = io.StringIO("b.png\n")
    assert expand_inputs(["-", "b.png"], stdin=stdin) == [str(tree / "b.png")]


def test_inputs_are_expanded_lazily(tree):
    def inputs():
        yield str(tree / "b.png")
        raise AssertionError("the second input was expanded before the first path was used")

    assert next(iter_inputs(inputs())) == str(tree / "b.png")


def test_the_first_input_matching_nothing_is_named(tree):
    with pytest.raises(InputError, match=r"gone\.png: expected an image file, a folder"):
        list(iter_inputs([str(tree / "b.png"), str(tree / "gone.png")]))


def test_folders_and_globs_take_images_and_pdfs(tree, monkeypatch):
    assert IMAGE_SUFFIXES | {".pdf"} <= INPUT_SUFFIXES
    (tree / "a" / "doc.PDF").write_bytes(b"%PDF-1.4")
    (tree / "a" / "notes.docx").write_bytes(b"x")
    found = expand_inputs([tree / "a"])
    assert str(tree / "a" / "doc.PDF") in found and str(tree / "a" / "notes.docx") not in found
    assert str(tree / "a" / "doc.PDF") in expand_inputs([str(tree / "a" / "*.PDF")])
    # One constant decides what a folder holds.
    import digitrec.inputs as inputs

    monkeypatch.setattr(inputs, "INPUT_SUFFIXES", IMAGE_SUFFIXES)
    assert str(tree / "a" / "doc.PDF") not in expand_inputs([tree / "a"])
    assert all(os.path.isabs(p) for p in expand_inputs([tree / "a"]))


def test_batch_exits_1_when_every_image_failed(monkeypatch, tree):
    from typer.testing import CliRunner

    import digitrec.batch
    from digitrec.batch.run import BatchSummary
    from digitrec.cli import app

    outcome = {}

    def fake_run_batch(paths, out, **kw):
        return BatchSummary(len(paths), 0, len(paths), outcome["errors"](len(paths)), [], 1.0, 1)

    monkeypatch.setattr(digitrec.batch, "run_batch", fake_run_batch)
    for errors, code in [(lambda n: n, 1), (lambda n: n - 1, 0)]:
        outcome["errors"] = errors
        run = CliRunner().invoke(app, ["batch", str(tree / "a"), "--out", str(tree / "o")])
        assert run.exit_code == code, run.output
