"""The study's steps as commands: explore, compare, sweep and reproduce."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from digitrec.cli.app import DataDir, DatasetName, OutDir, app, console, out

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _load(dataset: str, data_dir):
    from digitrec.data import load_dataset

    with console.status(f"loading and verifying {dataset}"):
        return load_dataset(dataset, data_dir)


@app.command()
def explore(
    out_dir: OutDir = Path("reports/explore"),
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
) -> None:
    """Summarise the data set and save a grid of the first ten training digits."""
    from digitrec.experiments.reproduce import explore as draw

    data = _load(dataset, data_dir)
    path = draw(data, out_dir)
    table = Table(title=f"{data.name}: images per class")
    table.add_column("class")
    table.add_column("train", justify="right")
    table.add_column("test", justify="right")
    train, test = Counter(data.train_labels.tolist()), Counter(data.test_labels.tolist())
    for c in sorted(train):
        table.add_row(str(c), f"{train[c]:,}", f"{test[c]:,}")
    table.add_row("all", f"{len(data.train_labels):,}", f"{len(data.test_labels):,}")
    out.print(table)
    out.print(f"first ten training labels: {' '.join(map(str, data.train_labels[:10]))}")
    console.print(f"sample grid written to {path}")


@app.command()
def compare(
    as_json: JsonFlag = False, dataset: DatasetName = "mnist", data_dir: DataDir = None
) -> None:
    """Compare KNN, naive Bayes and logistic regression on the 6,000-image split."""
    from digitrec.experiments import compare as run
    from digitrec.models.classical import STUDY_MODELS

    data = _load(dataset, data_dir)
    with console.status("fitting") as status:
        result = run(data, on_step=lambda m: status.update(f"fitting {m}"))
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title="accuracy on the 1,980 held-out images")
    table.add_column("model")
    table.add_column("raw 28x28", justify="right")
    table.add_column("10x10", justify="right")
    for key, name in STUDY_MODELS.items():
        table.add_row(name, f"{result['raw'][key]:.6f}", f"{result['downscaled'][key]:.6f}")
    out.print(table)


@app.command()
def sweep(
    k_max: Annotated[int, typer.Option("--k-max", min=1, help="Largest k to try.")] = 20,
    as_json: JsonFlag = False,
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
) -> None:
    """KNN accuracy for k = 1..k-max on the 10x10 split."""
    from digitrec.experiments import sweep as run

    data = _load(dataset, data_dir)
    with console.status("sweeping k") as status:
        rows = run(data, ks=range(1, k_max + 1), on_step=lambda m: status.update(f"KNN {m}"))
    if as_json:
        typer.echo(json.dumps(rows))
        return
    best = max(rows, key=lambda r: r["accuracy"])
    for r in rows:
        mark = "  <- best" if r is best else ""
        out.print(f"k={r['k']:>2}  {r['accuracy']:.6f}{mark}")


@app.command()
def reproduce(
    out_dir: OutDir = Path("reports/reproduce"),
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
    no_cnn: Annotated[
        bool, typer.Option("--no-cnn", help="Leave out the section on the shipped CNN.")
    ] = False,
) -> None:
    """Run the whole study and write report.html, metrics.json and the figures."""
    import time

    from digitrec.experiments import reproduce as run
    from digitrec.experiments.cnn_section import cnn_section

    start = time.perf_counter()
    data = _load(dataset, data_dir)
    with console.status("starting") as status:

        def step(message: str) -> None:
            if not message.startswith(("compare:", "sweep:")):
                console.print(f"[dim]{time.perf_counter() - start:6.1f}s[/dim] {message}")
            status.update(message)

        extras = [] if no_cnn else [cnn_section]
        metrics = run(data, out_dir, on_step=step, extra_sections=extras)
    fin = metrics["final"]
    out.print(
        f"final KNN (k={fin['k']}) test accuracy {fin['accuracy']:.4f}; "
        f"report: {Path(out_dir) / 'report.html'} ({time.perf_counter() - start:.1f} s)"
    )
