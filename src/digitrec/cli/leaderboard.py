"""`digitrec leaderboard`: classical models beside the published figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import DataDir, DatasetName, OutDir, app, console, out


@app.command()
def leaderboard(
    out_dir: OutDir = Path("reports/leaderboard"),
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="Comma-separated subset: knn_study, knn_raw, knn_deskew, svm_rbf_pca_deskew.",
        ),
    ] = None,
    train_size: Annotated[
        int | None,
        typer.Option("--train-size", min=1, help="Train on the first N images (quick runs)."),
    ] = None,
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
) -> None:
    """Train classical models, time them, and write leaderboard.html and .json."""
    from digitrec.data import load_dataset
    from digitrec.experiments.leaderboard import run_leaderboard, write_leaderboard

    data = load_dataset(dataset, data_dir)
    keys = None if models is None else [m.strip() for m in models.split(",") if m.strip()]
    with console.status("leaderboard") as status:
        result = run_leaderboard(data, keys, train_size=train_size, on_step=status.update)
    paths = write_leaderboard(result, out_dir)
    for row in sorted(result["rows"], key=lambda r: r["test_error_pct"]):
        out.print(
            f"{row['test_error_pct']:5.2f}%  train {row['train_s']:7.1f}s  "
            f"predict {row['predict_s']:6.1f}s  {row['model']}",
            highlight=False,
        )
    console.print(f"wrote {paths['html']} and {paths['json']}")
