"""`digitrec train cnn` and `digitrec export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import DataDir, DatasetName, OutDir, app, console, out, train_app


@train_app.command("cnn")
def train_cnn(
    out_dir: OutDir = Path("models/cnn"),
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the data.")] = 12,
    time_budget: Annotated[
        float | None,
        typer.Option(
            "--time-budget", min=1, help="Stop after this many seconds (schedule fits it)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of everything random.")] = 0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2)] = 128,
    max_lr: Annotated[float, typer.Option("--max-lr", min=0.0, help="Peak learning rate.")] = 4e-3,
    holdout: Annotated[
        int, typer.Option("--holdout", min=0, help="Training images kept for calibration.")
    ] = 5000,
    augment: Annotated[
        bool, typer.Option("--augment/--no-augment", help="Affine + elastic distortions.")
    ] = True,
    augment_strength: Annotated[
        float, typer.Option("--augment-strength", min=0.0, help="Scale of the distortions.")
    ] = 0.75,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto.")] = "cpu",
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads.")] = 2,
    nproc: Annotated[
        int,
        typer.Option(
            "--nproc",
            min=1,
            help="Train data-parallel in this many processes (torch DDP, gloo, via torchrun); "
            "--batch-size is the global batch and --threads is split between them.",
        ),
    ] = 1,
    widths: Annotated[
        str, typer.Option("--widths", help="Channels of the three stages, e.g. 32,64,128.")
    ] = "32,64,128",
    dataset: DatasetName = "mnist",
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model card as JSON.")] = False,
) -> None:
    """Train the CNN, calibrate it, test it; save weights, ONNX and a model card to --out."""
    from digitrec.errors import require_extra

    require_extra("train", "digitrec train cnn")
    from digitrec.data import load_dataset
    from digitrec.models.cnn import ddp
    from digitrec.models.cnn.pipeline import build_model
    from digitrec.models.cnn.train import TrainConfig

    net = _net_config(widths)  # a bad --widths fails here, before any relaunch
    if nproc > 1 and not ddp.under_torchrun():
        # Re-run this very command in nproc processes; they find RANK set and train.
        raise typer.Exit(ddp.relaunch(nproc, sys.argv[1:]))
    dist = ddp.init_from_env()
    config = TrainConfig(
        epochs=epochs,
        time_budget=time_budget,
        seed=seed,
        batch_size=batch_size,
        max_lr=max_lr,
        threads=max(1, threads // dist.world_size),
        holdout=holdout,
        augment=augment,
        augment_strength=augment_strength,
        device=device,
        net=net,
    ).check()
    data = load_dataset(dataset, data_dir)
    try:
        card = build_model(data, config, out_dir, dist=dist)
    finally:
        ddp.shutdown()
    if card is not None:  # None: not the main process
        _print_card(card, out_dir, as_json)


def _print_card(card: dict, out_dir: Path, as_json: bool) -> None:
    """The trained model's figures on stderr (the whole card on stdout with --json)."""
    m = card["metrics"]
    console.print(
        f"test accuracy {m['accuracy']:.4f}, ECE {m['ece']:.4f} (T={card['temperature']:.3f}), "
        f"trained {card['training']['seconds']:.0f} s; saved to {out_dir}"
    )
    if card["training"].get("note"):  # cut short by --time-budget
        console.print(f"note: {card['training']['note']}", style="yellow")
    if as_json:
        out.print_json(json.dumps(card))


def _net_config(widths: str) -> dict:
    """The network config of ``--widths`` ("32,64,128")."""
    from digitrec.errors import InputError
    from digitrec.models.cnn.spec import DEFAULT_CONFIG

    try:
        width_list = [int(w) for w in widths.split(",")]
    except ValueError as exc:
        raise InputError(f"--widths: expected three ints like 32,64,128, found {widths!r}") from exc
    return {**DEFAULT_CONFIG, "widths": width_list}


@app.command()
def export(
    model: Annotated[
        Path, typer.Argument(help="A CNN folder (or its .safetensors file) to export.")
    ],
    onnx_path: Annotated[
        Path | None,
        typer.Option("--onnx", help="Where to write the ONNX file. Default: beside the weights."),
    ] = None,
) -> None:
    """Export a saved CNN's safetensors weights to ONNX (for onnxruntime inference)."""
    from digitrec.errors import require_extra

    require_extra("train", "digitrec export")
    from digitrec.models.cnn.export import export_saved

    path = export_saved(model, onnx_path)
    console.print(f"wrote {path}")
