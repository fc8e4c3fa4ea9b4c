"""`digitrec train knn` and `digitrec evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import DataDir, DatasetName, OutDir, app, console, out, train_app


@train_app.command("knn")
def train_knn(
    out_dir: OutDir = Path("models/knn"),
    k: Annotated[int, typer.Option("--k", min=1, help="Number of neighbours.")] = 5,
    downscale: Annotated[
        int, typer.Option("--downscale", min=1, help="Local-mean downscale factor (1: raw).")
    ] = 3,
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
) -> None:
    """Train KNN on the whole training set, evaluate it, save it with its metrics."""
    from digitrec.data import load_dataset
    from digitrec.models.knn import KnnModel
    from digitrec.report.metrics import evaluate_model

    data = load_dataset(dataset, data_dir)
    with console.status(f"fitting KNN (k={k}, downscale={downscale})"):
        model = KnnModel(k=k, factor=downscale).fit(data.train_images, data.train_labels)
    with console.status("evaluating on the test set"):
        metrics = evaluate_model(model, data)
    path = model.save(
        out_dir,
        {
            "dataset": {
                "name": data.name,
                "fingerprint": data.fingerprint,
                "checksums": data.checksums,
            },
            "metrics": {"accuracy": metrics["accuracy"]},
        },
    )
    console.print(f"test accuracy {metrics['accuracy']:.4f}; saved to {path}")


@app.command()
def evaluate(
    model: Annotated[
        str | None,
        typer.Argument(
            help="A saved model folder (or 'default'). Omit for the study's final step."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
) -> None:
    """Test-set metrics of a saved model, or of the study's final KNN (k=5, 10x10)."""
    from digitrec.data import load_dataset
    from digitrec.models import load_model
    from digitrec.report.metrics import evaluate_model

    data = load_dataset(dataset, data_dir)
    if model is None:
        from digitrec.experiments import final as study_final

        with console.status("training KNN (k=5) on 60,000 10x10 images and predicting 10,000"):
            metrics = study_final(data)
    else:
        loaded = load_model(model)
        with console.status(f"evaluating {model} on the test set"):
            metrics = evaluate_model(loaded, data)
    if as_json:
        typer.echo(json.dumps(metrics))
    else:
        out.print(f"accuracy {metrics['accuracy']:.4f}")
