"""`digitrec predict`: read the digits in image files."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import app
from digitrec.errors import DigitrecError, InputError

#: File name endings read when a folder is given.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


def expand(paths: list[str]) -> list[Path]:
    """Files named, files of folders (sorted, non-recursive), and glob matches.

    A name that is neither a file, a folder nor a matching glob is kept so that
    it gets its own error entry.
    """
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.exists():
            found.append(p)
        elif glob.has_magic(raw):
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True))
            found += [m for m in matches if m.is_file()]
        else:
            found.append(p)
    return found


@app.command()
def predict(
    paths: Annotated[
        list[str], typer.Argument(help="Image files, folders (their images) or glob patterns.")
    ],
    model: Annotated[
        str,
        typer.Option("--model", help="A saved model folder, or 'default' (the shipped CNN)."),
    ] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence", min=0.0, max=1.0, help="Show digits less sure than this as '?'."
        ),
    ] = 0.0,
) -> None:
    """Read the digits in images: one line per image (path, text, confidence).

    A file that cannot be read gets an error line (an "error" key with --json)
    and the others are still read; the exit status is 1 only when every file
    failed.
    """
    from digitrec.models import load_model
    from digitrec.vision import load_image, read_many

    files = expand(paths)
    if not files:
        raise InputError(f"{' '.join(paths)}: expected image files, found none; check the paths")
    loaded_model = load_model(model)
    entries: list[dict] = []
    good, loaded = [], []
    for f in files:
        entry: dict = {"path": str(f)}
        entries.append(entry)
        try:
            loaded.append(load_image(f))
            good.append(entry)
        except DigitrecError as exc:
            entry["error"] = str(exc)
    # Digits of all images go through the model in batches of a few hundred images.
    for i in range(0, len(loaded), 256):
        results = read_many(loaded[i : i + 256], model=loaded_model, min_confidence=min_confidence)
        for entry, result in zip(good[i : i + 256], results, strict=True):
            entry.update(result.to_dict())
    if as_json:
        typer.echo(json.dumps(entries))
    else:
        for e in entries:
            if "error" in e:
                typer.echo(f"{e['path']}\terror: {e['error']}")
            else:
                line = f"{e['path']}\t{e['text'] or '-'}\t{e['confidence']:.3f}"
                if e.get("reason"):
                    line += f"\t({e['reason']})"
                typer.echo(line)
    if not good:
        raise typer.Exit(1)
