"""`digitrec train lines` and `digitrec read-line`: the segmentation-free line reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from digitrec.cli.app import app, console, out, train_app


def _share(flag: str, help: str):
    """A float option in [0, 1]: the share of training lines or glyphs changed so."""
    return Annotated[float, typer.Option(flag, min=0.0, max=1.0, help=help)]


@train_app.command("lines")
def train_lines_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the model into.")] = Path(
        "models/lines"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed of everything random.")] = 0,
    time_budget: Annotated[
        float, typer.Option("--time-budget", min=1, help="Seconds of training.")
    ] = 3300.0,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2)] = 32,
    max_lr: Annotated[float, typer.Option("--max-lr", min=0.0, help="Peak learning rate.")] = 3e-3,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch CPU threads.")] = 1,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Processes generating lines (0: reproducible).")
    ] = 1,
    max_reuse: Annotated[
        float, typer.Option("--max-reuse", min=1.0, help="Times a generated line may be reused.")
    ] = 4.0,
    calibration: Annotated[
        int,
        typer.Option(
            "--calibration",
            min=0,
            help="Fresh lines for calibration (0: save the weights only; "
            "calibrate and export later with --recalibrate).",
        ),
    ] = 1500,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            min=1,
            help="Train this many steps (one fresh line per --max-reuse shown) "
            "instead of --time-budget seconds: the same run on any machine.",
        ),
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="Torch device: cpu, or cuda (a speed-up only).")
    ] = "cpu",
    leave_out: Annotated[
        list[str] | None,
        typer.Option(
            "--leave-out", help="A training font not to train on (repeat), to test unseen hands."
        ),
    ] = None,
    distort: _share("--distort", "Share of font glyphs drawn as a new hand's.") = 0.0,
    pen: _share("--pen", "Share of lines written with a broader or finer pen.") = 0.0,
    init_from: Annotated[
        Path | None,
        typer.Option("--init-from", help="Continue training this line model folder."),
    ] = None,
    recalibrate: Annotated[
        bool,
        typer.Option(
            "--recalibrate",
            help="Do not train: refit the calibration of the model already in --out.",
        ),
    ] = False,
) -> None:
    """Train the CTC line reader on generated lines; calibrate; save weights, ONNX, card."""
    from digitrec.lines.train import recalibrate_lines, train_lines

    log = lambda m: console.print(m, highlight=False, markup=False)  # noqa: E731
    if recalibrate:
        meta = recalibrate_lines(str(out_dir), seed=seed, n_calibration=calibration, log=log)
        _report(meta, out_dir)
        return
    _check_fonts(leave_out or [])
    _check_device(device)
    schedule = {"seed": seed, "time_budget": time_budget, "batch_size": batch_size, "steps": steps}
    machine = {"max_lr": max_lr, "threads": threads, "workers": workers, "max_reuse": max_reuse}
    meta = train_lines(
        str(out_dir),
        **schedule,
        **machine,
        n_calibration=calibration,
        init_from=str(init_from) if init_from else None,
        device=device,
        leave_out=tuple(leave_out or ()),
        distort=distort,
        pen=pen,
        log=log,
    )
    _report(meta, out_dir)


def _check_fonts(names: list[str]) -> None:
    from digitrec.lines.spec import training_fonts

    known = sorted(training_fonts())
    for name in names:
        if name not in known:
            raise typer.BadParameter(
                f"{name!r} is not a training font; expected one of {', '.join(known)}",
                param_hint="--leave-out",
            )


def _check_device(device: str) -> None:
    # without touching the device: the line generators are forked after this,
    # and a CUDA context must not be created before the fork
    import torch

    try:
        kind = torch.device(device).type
    except RuntimeError as exc:
        raise typer.BadParameter(
            f"{device!r} is not a torch device ({exc}); use cpu or cuda", param_hint="--device"
        ) from exc
    if kind == "cuda" and not torch.cuda.is_available():
        raise typer.BadParameter(
            f"{device!r}: this machine's torch sees no CUDA device; use --device cpu",
            param_hint="--device",
        )


def _report(meta: dict, out_dir: Path) -> None:
    if "metrics" not in meta:  # --calibration 0
        console.print(f"saved uncalibrated weights to {out_dir}; calibrate with --recalibrate")
        return
    m = meta["metrics"]
    console.print(
        f"calibration lines: accuracy {m['accuracy']:.4f}, ECE {m['ece']:.4f}; saved to {out_dir}"
    )


@app.command("read-line")
def read_line_cmd(
    images: Annotated[list[Path], typer.Argument(help="Line images to read.")],
    reader: Annotated[
        str, typer.Option("--reader", help="ctc, segment or combined (default: the shipped best).")
    ] = "default",
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence", min=0.0, max=1.0, help="Reject lines / mark characters below it."
        ),
    ] = 0.0,
    digits_only: Annotated[
        bool,
        typer.Option(
            "--digits-only",
            help="The lines hold only digits (zip codes, meter readings): never read separators.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image.")] = False,
) -> None:
    """Read the numbers on each line image (words and marks are skipped)."""
    from digitrec.lines.read import read_line

    for path in images:
        res = read_line(path, min_confidence=min_confidence, reader=reader, digits_only=digits_only)
        if as_json:
            out.print(json.dumps({"path": str(path), **res.to_dict()}), highlight=False)
        else:
            note = f"  ({res.reason})" if res.reason else ""
            typer.echo(f"{path}\t{res.text}\t{res.confidence:.3f}{note}")
