"""`digitrec fetch`: find or download a data set and verify it."""

from __future__ import annotations

import typer

from digitrec.cli.app import DataDir, DatasetName, app, console


@app.command()
def fetch(dataset: DatasetName = "mnist", data_dir: DataDir = None) -> None:
    """Find or download a data set, verify every file's checksum, print where it is."""
    from digitrec.data import fetch as fetch_files
    from digitrec.data import get_dataset

    paths = fetch_files(dataset, data_dir)
    ds = get_dataset(dataset)
    console.print(f"[green]verified[/green] {dataset}: all four files match their sha256")
    for part, path in paths.items():
        typer.echo(f"{part}\t{path}\t{ds.file(part).sha256}")
