"""Expanding batch inputs: folders, globs, list files, de-duplication."""

from __future__ import annotations

import os

import pytest

from digitrec.errors import InputError
from digitrec.inputs import expand_inputs, read_list_file


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / ".hidden").mkdir()
    for rel in ["a/1.png", "a/2.JPG", "a/deep/3.tif", "a/.hidden/4.png", "a/notes.md", "b.png"]:
        (tmp_path / rel).write_bytes(b"x")
    return tmp_path


def test_folder_is_searched_recursively_for_images_only(tree):
    got = expand_inputs([tree / "a"])
    assert got == sorted(str(tree / p) for p in ["a/1.png", "a/2.JPG", "a/deep/3.tif"])


def test_overlapping_inputs_are_deduplicated_and_sorted(tree, monkeypatch):
    monkeypatch.chdir(tree)
    got = expand_inputs(["b.png", str(tree / "a"), "a/*.png", "./b.png", "a/../b.png"])
    assert got == sorted(str(tree / p) for p in ["a/1.png", "a/2.JPG", "a/deep/3.tif", "b.png"])
    assert all(os.path.isabs(p) for p in got)


def test_recursive_glob(tree):
    got = expand_inputs([str(tree / "a" / "**" / "*.tif")])
    assert got == [str(tree / "a" / "deep" / "3.tif")]


def test_list_file_paths_are_relative_to_the_list(tree, tmp_path, monkeypatch):
    lst = tree / "a" / "todo.txt"
    lst.write_text("# scans of monday\n1.png\n\n  deep/3.tif  \n../b.png\nmissing.png\n")
    monkeypatch.chdir(tmp_path / "a" / "deep")  # the current folder must not matter
    got = expand_inputs([lst])
    # A listed file that does not exist stays: it becomes an error row, not a failed job.
    assert got == sorted(
        str(tree / p) for p in ["a/1.png", "a/deep/3.tif", "b.png", "a/missing.png"]
    )
    assert read_list_file(lst)[0] == str(tree / "a" / "1.png")


def test_a_named_file_is_taken_whatever_its_ending(tree):
    assert expand_inputs([tree / "a" / "notes.md"]) == [str(tree / "a" / "notes.md")]


@pytest.mark.parametrize(
    ("arg", "found"),
    [("nothere.png", "found nothing at that path"), ("nothere/*.png", "found no match")],
)
def test_missing_inputs_are_clear_errors(tmp_path, arg, found):
    with pytest.raises(InputError, match=found) as err:
        expand_inputs([str(tmp_path / arg)])
    assert arg in str(err.value)


def test_no_images_at_all(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="expected image files, found none"):
        expand_inputs([tmp_path / "empty"])


def test_unreadable_list_file(tmp_path):
    lst = tmp_path / "bad.txt"
    lst.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match=r"bad\.txt: expected a UTF-8 text file"):
        expand_inputs([lst])


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({"batch_size": 0}, "--batch-size"),
        ({"rows_per_part": 0}, "--rows-per-part"),
        ({"min_confidence": 1.5}, "--min-confidence"),
        ({"scheduler": "tcp://h:8786", "workers": 2}, "one way to get a cluster"),
    ],
)
def test_run_batch_refuses_bad_arguments_before_starting_anything(tmp_path, kwargs, found):
    pytest.importorskip("pyarrow")
    from digitrec.batch import run_batch

    with pytest.raises(InputError, match=found):
        run_batch(["/x.png"], tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_is_refused(tmp_path):
    pytest.importorskip("pyarrow")
    from digitrec.batch import run_batch

    (tmp_path / "results.parquet").write_bytes(b"PAR1")
    with pytest.raises(InputError, match="expected the output folder"):
        run_batch(["/x.png"], tmp_path / "results.parquet")


def test_a_foreign_file_among_the_parts_is_named(tmp_path):
    pytest.importorskip("pyarrow")
    from digitrec.batch import done_paths

    (tmp_path / "part-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"part-0\.parquet: expected a digitrec batch part"):
        done_paths(tmp_path)


def test_a_missing_model_is_refused_before_a_local_cluster_starts(tmp_path):
    pytest.importorskip("pyarrow")
    from digitrec.batch import run_batch
    from digitrec.errors import ModelError

    with pytest.raises(ModelError, match="no-model: no model there"):
        run_batch(["/x.png"], tmp_path / "out", model=str(tmp_path / "no-model"))
    assert not (tmp_path / "out").exists()
