"""`digitrec batch` on a real Dask LocalCluster of 2 worker processes.

The images are MNIST test digits pasted as dark ink onto paper-coloured
canvases (1-3 digits each), plus a few files that are not images. The model is
a small KNN saved to disk, so that workers load it by path like a real job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import dask
import pyarrow.parquet as pq
from distributed import Client, LocalCluster, WorkerPlugin
from PIL import Image
from typer.testing import CliRunner

from digitrec.batch import done_paths, expand_inputs, read_dataset, run_batch
from digitrec.batch.sink import TMP_PREFIX
from digitrec.batch.worker import model_loads
from digitrec.errors import InputError, ModelError
from digitrec.pages.read import SegmentReader, read_page
from digitrec.testing.synth import render_plain_row
from form_helpers import form_image

# slow: a 2-worker Dask cluster, 200 rendered scans and worker restarts (15-35 s each, busy machine)
pytestmark = [pytest.mark.mnist, pytest.mark.slow, pytest.mark.timeout(240)]

N_IMAGES = 200
BAD = {"not-an-image.png": b"this is text", "truncated.png": None, "empty.jpg": b""}


@pytest.fixture(scope="module")
def collection(tmp_path_factory, mnist):
    """A folder tree of N_IMAGES PNGs in two sub-folders, plus bad files."""
    root = tmp_path_factory.mktemp("scans")
    rng = np.random.default_rng(7)
    for i in range(N_IMAGES):
        k = int(rng.integers(1, 4))
        idx = rng.choice(len(mnist.test_images), size=k, replace=False)
        sub = root / f"box{i % 2}"
        sub.mkdir(exist_ok=True)
        img = render_plain_row([mnist.test_images[j] for j in idx], rng)
        Image.fromarray(img).save(sub / f"scan{i:04d}.png")
    good_png = (root / "box0" / "scan0000.png").read_bytes()
    for name, content in BAD.items():
        (root / name).write_bytes(good_png[: len(good_png) // 2] if content is None else content)
    return root


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, mnist):
    from digitrec.models.knn import KnnModel

    path = tmp_path_factory.mktemp("model")
    KnnModel(k=3).fit(mnist.train_images[:2000], mnist.train_labels[:2000]).save(path)
    return str(path)


@pytest.fixture(scope="module")
def expected(collection, model_dir):
    """Single-process reference: each good image through the page reader (one page each)."""
    from digitrec.models import load_model

    paths = expand_inputs([collection])
    good = [p for p in paths if os.path.basename(p) not in BAD]
    reader = SegmentReader(load_model(model_dir))
    return {p: read_page(p, line_reader=reader).to_dict() for p in good}


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _plugins(client) -> list[str]:
    names = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    return [n for n in names if n.startswith("digitrec")]


def _rows(out) -> dict[str, dict]:
    """The rows by path (every file of the collection is one page: one row each)."""
    rows = read_dataset(out).to_pylist()
    counts = Counter(r["path"] for r in rows)
    dupes = {p: n for p, n in counts.items() if n > 1}
    assert not dupes, f"paths written more than once: {dupes}"
    assert all(r["page"] == (None if r["error"] else 1) for r in rows)
    return {r["path"]: r for r in rows}


def _assert_matches(rows: dict[str, dict], expected: dict[str, dict]) -> None:
    """Rows against PageResult dicts (the page reader's, or `predict --json`'s)."""
    for path, want in expected.items():
        got = rows[path]
        assert got["error"] is None, got["error"]
        assert (got["page"], got["text"]) == (want["page"], want["text"]), path
        assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-5)
        assert len(got["lines"]) == len(want["lines"])
        chars = [c for ln in want["lines"] for c in ln["chars"]]
        assert [g["digit"] for g in got["digits"]] == [
            int(c["char"]) if c["char"].isdigit() else None for c in chars
        ]
        for g, w in zip(got["lines"], want["lines"], strict=True):
            assert (g["text"], g["box"]) == (w["text"], w["box"])
            assert [c["box"] for c in g["chars"]] == [c["box"] for c in w["chars"]]
            assert [c["char"] for c in g["chars"]] == [c["char"] for c in w["chars"]]
            assert g["confidence"] == pytest.approx(w["confidence"], abs=1e-5)


def test_two_workers_give_the_single_process_results(
    client, collection, model_dir, expected, tmp_path
):
    paths = expand_inputs([collection])
    out = tmp_path / "results.parquet"
    seen = []
    summary = run_batch(
        paths,
        out,
        model=model_dir,
        client=client,
        batch_size=16,
        rows_per_part=64,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (summary.total, summary.read, summary.skipped) == (len(paths), len(paths), 0)
    assert summary.errors == len(BAD)
    rows = _rows(out)
    assert set(rows) == set(paths)
    _assert_matches(rows, expected)
    # Bad images are rows with an error naming the file; the job did not fail.
    for name in BAD:
        row = rows[str(collection / name)]
        assert row["text"] is None and row["digits"] is None
        assert name in row["error"]
    # Streamed: several parts of <= rows_per_part + one task, no temporary file left.
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) >= len(paths) // (64 + 16)
    assert all(pq.read_metadata(p).num_rows <= 64 + 16 for p in parts)
    assert not list(out.glob(f"{TMP_PREFIX}*"))
    # pyarrow reads the folder as one table.
    assert pq.read_table(out).num_rows == len(paths)
    # Progress counted up to every image, task by task.
    assert seen[-1] == (len(paths), len(paths))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # Both workers worked, and each loaded the model exactly once.
    spec = os.path.realpath(model_dir)
    loads = client.run(model_loads)
    assert [w.get(spec) for w in loads.values()] == [1, 1]
    # The start-up hook is gone: workers that join the cluster later do not load it.
    assert _plugins(client) == []


def test_rerun_resumes_and_never_duplicates(client, collection, model_dir, expected, tmp_path):
    paths = expand_inputs([collection])
    out = tmp_path / "results.parquet"
    first = run_batch(paths[:100], out, model=model_dir, client=client, batch_size=32)
    assert first.read == 100
    # A part that a killed run left half-written is ignored and removed.
    (out / f"{TMP_PREFIX}00001.parquet.x1y2.part").write_bytes(b"PAR1 half")
    second = run_batch(paths, out, model=model_dir, client=client, batch_size=32)
    assert (second.skipped, second.read) == (100, len(paths) - 100)
    assert not list(out.glob(f"{TMP_PREFIX}*"))
    third = run_batch(paths, out, model=model_dir, client=client)
    assert (third.skipped, third.read, third.parts) == (len(paths), 0, [])
    rows = _rows(out)
    assert set(rows) == set(paths) == done_paths(out)
    _assert_matches(rows, expected)


def test_killing_a_worker_mid_run_still_writes_every_image_once(
    collection, model_dir, expected, tmp_path
):
    # A part of the collection is enough: the point is the kill, and a worker restart under
    # load (a fresh Python process importing the stack) dominates this test's time.
    paths = expand_inputs([collection])[:96]
    out = tmp_path / "results.parquet"
    killed = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        pids = c.run(os.getpid)

        def kill_once(done: int, total: int) -> None:
            if not killed:
                # SIGKILL: no clean-up, like the OOM killer or a lost node.
                addr, pid = sorted(pids.items())[0]
                os.kill(pid, signal.SIGKILL)
                killed.update(addr=addr, pid=pid, done=done, total=total)

        summary = run_batch(paths, out, model=model_dir, client=c, batch_size=8, progress=kill_once)
        assert killed and killed["done"] < killed["total"], "the kill was not mid-run"
        # The nanny restarted the dead worker; it loaded the model again at start-up.
        deadline = time.monotonic() + 30
        while len(c.nthreads()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert killed["pid"] not in c.run(os.getpid).values()
    assert summary.read == len(paths)
    rows = _rows(out)
    assert set(rows) == set(paths)
    _assert_matches(rows, {p: w for p, w in expected.items() if p in rows})


class PoisonPlugin(WorkerPlugin):
    """Make reading any image named ``poison*`` kill the worker, like a crashing decoder."""

    name = "test-poison"

    def setup(self, worker):
        # Every file a worker reads is opened through this one function.
        import digitrec.pages.each as each

        real = each.iter_pages

        def pages(source, **kw):
            if "poison" in os.path.basename(str(source)):
                os.kill(os.getpid(), signal.SIGKILL)
            return real(source, **kw)

        each.iter_pages = pages


def test_an_image_that_kills_every_worker_becomes_an_error_row(
    collection, model_dir, expected, tmp_path
):
    good = sorted(expected)[:23]
    poison = tmp_path / "poison.png"
    poison.write_bytes(Path(good[0]).read_bytes())
    paths = sorted([*good, str(poison)])
    out = tmp_path / "results.parquet"
    # No retry on another worker: each death is final for the tasks it was running.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        c.register_plugin(PoisonPlugin())
        summary = run_batch(paths, out, model=model_dir, client=c, batch_size=8)
    assert (summary.read, summary.errors) == (len(paths), 1)
    rows = _rows(out)
    assert set(rows) == set(paths)
    assert "killed the worker process" in rows[str(poison)]["error"]
    assert "poison.png" in rows[str(poison)]["error"]
    _assert_matches(rows, {p: expected[p] for p in good})


def test_a_missing_model_fails_the_job_clearly(client, collection, tmp_path):
    paths = expand_inputs([collection])[:4]
    with pytest.raises(ModelError):
        run_batch(paths, tmp_path / "out", model=str(tmp_path / "no-model"), client=client)
    assert _plugins(client) == []
    assert not list((tmp_path / "out").glob("part-*.parquet"))


def test_cli_on_a_running_scheduler(client, collection, model_dir, expected, tmp_path):
    from digitrec.cli import app

    out = tmp_path / "results.parquet"
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(sorted(expected)[:50]) + "\n")
    args = ["batch", str(listing), "--out", str(out), "--model", model_dir, "--json"]
    args += ["--scheduler", client.scheduler.address, "--batch-size", "10"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["read"], summary["errors"], summary["skipped"]) == (50, 0, 0)
    rows = _rows(out)
    _assert_matches(rows, {p: expected[p] for p in sorted(expected)[:50]})
    # Resumed: the same command reads nothing.
    again = CliRunner().invoke(app, args)
    assert json.loads(again.stdout.strip().splitlines()[-1])["skipped"] == 50


def test_same_rows_as_digitrec_predict(client, collection, model_dir, tmp_path):
    """The issue's acceptance check, against the `digitrec predict --json` command itself."""
    pytest.importorskip("digitrec.cli.predict")  # registers `predict` (merged from vision)
    from digitrec.cli import app

    inputs = [str(collection / "box1"), *(str(collection / n) for n in BAD)]
    result = CliRunner().invoke(app, ["predict", *inputs, "--model", model_dir, "--json"])
    assert result.exit_code == 0, result.output
    want = {os.path.abspath(e["path"]): e for e in json.loads(result.stdout)}
    out = tmp_path / "results.parquet"
    run_batch(expand_inputs(inputs), out, model=model_dir, client=client, batch_size=16)
    rows = _rows(out)
    assert set(rows) == set(want)
    _assert_matches(rows, {p: e for p, e in want.items() if "error" not in e})
    for p, e in want.items():
        assert (rows[p]["error"] is None) == ("error" not in e), p


def test_documents_give_one_row_per_page_and_resume_by_path(model_dir, tmp_path):
    """In process (read_batch is what each task runs): a PDF and a TIFF, pages and lines."""
    from digitrec.batch.sink import SCHEMA, PartSink
    from digitrec.batch.worker import read_batch
    from pdf_helpers import pdf_of

    page = np.full((120, 300), 235, np.uint8)
    page[30:90, 40:260] = 30  # one bar of ink: whatever it reads as, it is one line
    pdf, tif, bad = tmp_path / "scan.pdf", tmp_path / "pages.tif", tmp_path / "cut.pdf"
    pdf.write_bytes(pdf_of([page, page, page]))
    Image.fromarray(page).save(tif, save_all=True, append_images=[Image.fromarray(page)])
    bad.write_bytes(pdf.read_bytes()[:200])
    table = read_batch([str(pdf), str(tif), str(bad)], model=model_dir)
    assert table.schema == SCHEMA
    rows = table.to_pylist()
    assert [(Path(r["path"]).name, r["page"]) for r in rows] == [
        ("scan.pdf", 1), ("scan.pdf", 2), ("scan.pdf", 3),
        ("pages.tif", 1), ("pages.tif", 2), ("cut.pdf", None),
    ]  # fmt: skip
    assert "cut.pdf" in rows[-1]["error"] and rows[-1]["lines"] is None
    for r in rows[:-1]:
        assert r["error"] is None
        assert r["text"] == "\n".join(ln["text"] for ln in r["lines"])
        for ln in r["lines"]:
            assert len(ln["box"]) == 4 and ln["chars"]
            assert all(len(c["top3"]) == 3 and len(c["box"]) == 4 for c in ln["chars"])
    out = tmp_path / "out"
    sink = PartSink(out, rows_per_part=1)
    sink.add(table)
    sink.flush()
    assert (sink.rows, sink.files, sink.errors) == (6, 3, 1)
    assert done_paths(out) == {str(pdf), str(tif), str(bad)}
    assert read_dataset(out).num_rows == 6


def test_line_reader_in_batch_reads_separators_and_skips_words(tmp_path):
    """``reader="combined"``: the row of a form holds its number with the separator,
    the word-only line gives no line, and a separator is no entry of ``digits``."""

    from digitrec.batch.sink import SCHEMA
    from digitrec.batch.worker import read_batch

    img = form_image()
    img.save(tmp_path / "form.png")
    table = read_batch([str(tmp_path / "form.png")], reader="combined")
    assert table.schema == SCHEMA
    (row,) = table.to_pylist()
    assert row["error"] is None and row["text"] == "12.50" and len(row["lines"]) == 1
    assert [d["digit"] for d in row["digits"]] == [1, 2, 5, 0]
    (row,) = read_batch(
        [str(tmp_path / "form.png")], reader="combined", digits_only=True
    ).to_pylist()
    assert row["text"] == "1250"


def test_batch_rejects_an_unknown_reader(tmp_path):
    from digitrec.batch.run import run_batch

    with pytest.raises(InputError, match="reader: expected one of"):
        run_batch([str(tmp_path / "a.png")], tmp_path / "out", reader="magic")
