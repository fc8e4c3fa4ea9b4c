"""Train the line reader on generated lines, calibrate it, save it.

One command (see docs/lines.md)::

    python -m digitrec train lines --out src/digitrec/models/weights/lines \\
        --seed 0 --time-budget 3300

Lines are generated on the fly (:mod:`digitrec.lines.synth`) by generator
processes from the MNIST *training* digits and the training fonts, and fed
through a replay pool (:mod:`digitrec.lines.feed`); the network is trained
with CTC loss, AdamW and a one-cycle learning rate fitted to the time budget.
Then the line confidence is calibrated on fresh lines (other seed, same
training fonts) and the model saved with its card.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from digitrec.lines.spec import training_fonts

__all__ = ["calibration_lines", "train_lines"]


def _lr(step_frac: float, max_lr: float) -> float:
    """One-cycle: 5% linear warm-up, cosine decay to 1% of the peak."""
    if step_frac < 0.05:
        return max_lr * (0.1 + 0.9 * step_frac / 0.05)
    f = (step_frac - 0.05) / 0.95
    return max_lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(f, 1.0))))


def calibration_lines(n: int, seed: int) -> list[tuple[np.ndarray, str, str]]:
    """``n`` fresh generated lines (grey, label, kind) in the training fonts."""
    from digitrec.data import load_mnist
    from digitrec.lines.synth import FontBank, LineGenerator

    data = load_mnist(progress=False)
    gen = LineGenerator(FontBank(training_fonts()), data.train_images, data.train_labels)
    rng = np.random.default_rng([seed, 7919])
    return [gen.sample(rng) for _ in range(n)]


def _loop(
    net, feed, budget: float, max_lr: float, log, steps: int | None = None, device: str = "cpu"
) -> list[dict[str, float]]:
    """Train until ``budget`` seconds have passed, or for ``steps`` steps when given."""
    opt = torch.optim.AdamW(net.parameters(), lr=max_lr, weight_decay=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    history, running = [], []
    start = None  # the budget is training time: it starts after the pool's warm-up
    for step, (x, targets, in_len, tgt_len) in enumerate(feed, start=1):
        start = start or time.monotonic()
        # with steps, the budget is only a cap: the schedule follows whichever
        # of the two is nearer its end, so a slow machine still anneals
        frac = (time.monotonic() - start) / budget
        if steps:
            frac = max(frac, (step - 1) / steps)
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = _lr(frac, max_lr)
        logp = net(x.to(device)).log_softmax(-1).transpose(0, 1)  # (T, n, C)
        loss = ctc(logp, targets.to(device), in_len, tgt_len)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        running.append(float(loss.detach()))
        if step % 25 == 0:
            history.append(_record(step, start, running, _lr(frac, max_lr)))
            running = []
            rec = history[-1]
            log(f"step {step}  {rec['seconds']:.0f}s  loss {rec['loss']:.4f}  lr {rec['lr']:.5f}")
        if steps and step >= steps:
            break  # before drawing a batch that would not be trained on
    if running:  # the last steps since the last record
        history.append(
            _record(
                history[-1]["step"] + len(running) if history else len(running), start, running, 0.0
            )
        )
    return history


def _record(step: int, start: float, losses: list[float], lr: float) -> dict[str, float]:
    return {
        "step": step,
        "seconds": round(time.monotonic() - start, 1),
        "loss": round(float(np.mean(losses)), 4),
        "lr": round(lr, 6),
    }


def train_lines(
    out: str,
    *,
    seed: int = 0,
    time_budget: float = 3300.0,
    batch_size: int = 32,
    max_lr: float = 3e-3,
    threads: int = 1,
    workers: int = 1,
    max_reuse: float = 4.0,
    n_calibration: int = 1500,
    init_from: str | None = None,
    steps: int | None = None,
    device: str = "cpu",
    leave_out: tuple[str, ...] = (),
    distort: float = 0.0,
    pen: float = 0.0,
    log=print,
) -> dict[str, Any]:
    """Train, calibrate and save a line model to ``out``; returns its metadata.

    Parameters
    ----------
    out : str
        Folder for ``model.safetensors``, ``model.onnx`` and ``model.json``.
    seed : int
        Seed of the network's initialisation and of the generated lines.
    time_budget : float
        Seconds of training (calibration and export come after).
    batch_size, max_lr, threads, workers
        Lines per step, peak learning rate, torch threads, line generator
        processes (0: generate in this process, exactly reproducible).
    max_reuse : float
        Average times a generated line may be trained on
        (see :class:`~digitrec.lines.feed.LineFeed`).
    n_calibration : int
        Fresh training-font lines used to calibrate the line confidence; 0
        saves the trained weights only (calibrate later with
        :func:`recalibrate_lines`, which also exports the ONNX file).
    init_from : str, optional
        A line model folder to continue training from (its training record is kept).
    steps : int, optional
        Train for this many steps, taking exactly one fresh line per
        ``max_reuse`` lines shown: the same run, in expectation, on any
        machine, only faster on a faster one. ``time_budget`` then only caps
        it (the schedule follows whichever of the two is nearer its end).
    device : str
        Torch device of the network (``"cpu"``, or ``"cuda"`` when one is
        there: a speed-up only; the lines are made on the CPU either way).
    leave_out : tuple of str
        Training fonts not to train on (to measure unseen hands on them;
        the held-out fonts are never used anyway).
    distort : float
        Share of font glyphs drawn as a new hand's version
        (:func:`digitrec.lines.synth.distort_glyph`).
    pen : float
        Share of lines written with a broader or finer pen
        (:func:`digitrec.lines.synth.other_pen`).
    """
    from digitrec.lines.feed import LineFeed
    from digitrec.lines.net import LineNet

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    net, previous = _init(init_from, log) if init_from else (LineNet(), None)
    synth = {"leave_out": tuple(leave_out), "distort": distort, "pen": pen}
    feed = LineFeed(
        batch_size, seed, workers=workers, max_reuse=max_reuse, exact=bool(steps), **synth
    )
    history, train_seconds = _train(net, feed, time_budget, max_lr, log, steps, device)
    training = {
        "seed": seed,
        "seconds": round(train_seconds, 1),
        "steps": history[-1]["step"] if history else 0,
        "steps_asked": steps,
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        **_recipe(batch_size, max_lr, max_reuse, threads, workers),
        "distort": distort,
        "pen": pen,
        "lines_generated": feed.pool.added,
        "lines_shown": feed.shown,
        "history": history,
        "fonts": sorted(k for k in training_fonts() if k not in leave_out),
        "digits": "MNIST training set (60000 images; t10k never used)",
        **(previous or {}),
    }
    return _finish(net, out, training, n_calibration, seed, log)


def _train(net, feed, time_budget, max_lr, log, steps, device) -> tuple[list, float]:
    """Train on ``device``, stop the line generators, leave the network on the CPU."""
    net.to(device)
    t0 = time.monotonic()
    net.train()
    try:
        history = _loop(net, feed, time_budget, max_lr, log, steps, device)
    finally:
        feed.close()
    net.to("cpu").eval()
    return history, time.monotonic() - t0


def _finish(net, out: str, training: dict, n_calibration: int, seed: int, log) -> dict[str, Any]:
    """Save the weights; then, unless ``n_calibration`` is 0, calibrate, export and save all."""
    from digitrec.lines.export import save_line_model

    _save_uncalibrated(net, out, training)
    seconds = training["seconds"]
    if not n_calibration:
        log(f"trained {seconds:.0f}s; saved uncalibrated to {out}")
        return {"name": "lines", "training": training}
    log(f"trained {seconds:.0f}s; calibrating on {n_calibration} fresh lines")
    calibration, metrics = _calibrate(net, n_calibration, seed)
    meta = {"name": "lines", "calibration": calibration, "metrics": metrics, "training": training}
    save_line_model(net, out, meta)
    log(f"saved to {out}: {metrics}")
    return meta


def _recipe(batch_size, max_lr, max_reuse, threads, workers) -> dict[str, Any]:
    """The training options a model card records."""
    return {
        "batch_size": batch_size,
        "max_lr": max_lr,
        "max_reuse": max_reuse,
        "threads": threads,
        "workers": workers,
    }


def _save_uncalibrated(net, out: str, training: dict[str, Any]) -> None:
    """Keep the trained weights (and their training record) even if calibration or export fails."""
    from digitrec.models.store import save_model

    arrays = {k: v.detach().contiguous().numpy() for k, v in net.state_dict().items()}
    meta = {
        "name": "lines",
        "stage": "trained, not yet calibrated",
        "net": net.config,
        "training": training,
    }
    save_model(out, "lines", arrays, meta)


def _init(init_from: str, log):
    """A network with a saved line model's configuration and weights, and what the card records."""
    from digitrec.lines.export import state_from_arrays
    from digitrec.lines.net import LineNet
    from digitrec.models.cnn.spec import file_sha256
    from digitrec.models.store import load_saved

    saved = load_saved(init_from, kind="lines")
    net = LineNet(saved.meta.get("net"))
    net.load_state_dict(state_from_arrays(net, saved.arrays))
    log(f"continuing from {saved.path}")
    return net, {
        "init_from_sha256": file_sha256(saved.path),
        "previous": saved.meta.get("training"),
    }


def _calibration_readings(net, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Raw score, correctness, and whether the segment reader agrees, per calibration line."""
    from digitrec.lines.decode import expected_text, greedy, line_score, softmax, tokens_text
    from digitrec.lines.prep import prepare
    from digitrec.vision.read import read

    scores, correct, agree = [], [], []
    with torch.no_grad():
        for gray, label, _ in calibration_lines(n, seed):
            truth = expected_text(label)
            p = prepare(gray)
            if isinstance(p, str):
                scores.append(0.0)
                correct.append(truth == "")
                agree.append(False)
                continue
            probs = softmax(net(torch.from_numpy(p.x[None, None])).numpy()[0])
            tokens = greedy(probs)
            text = tokens_text(tokens)
            scores.append(line_score(probs, tokens))
            correct.append(text == truth)
            # the combined reader's agreement: a plain run of digits read alike by both
            agree.append(text.isdigit() and read(gray).text == text)
    return np.array(scores), np.array(correct), np.array(agree)


def _calibrate(net, n: int, seed: int) -> tuple[dict, dict]:
    """Isotonic maps of the line score: all lines, and (key ``agree``) the lines
    where the segment-and-classify reader reads the same digits, which the
    ``combined`` reader uses. Fitted on all lines; metrics from a fit on one
    half, measured on the other."""
    from digitrec.lines import calibrate

    scores, correct, agree = _calibration_readings(net, n, seed)
    half = len(scores) // 2
    cal = calibrate.fit(scores[:half], correct[:half])
    conf = np.array([calibrate.apply(cal, s) for s in scores[half:]])
    metrics = {
        "calibration_lines": len(scores),
        "accuracy": round(float(correct.mean()), 4),
        "ece_raw": round(calibrate.ece(scores[half:], correct[half:]), 4),
        "ece": round(calibrate.ece(conf, correct[half:]), 4),
        "reliability": calibrate.reliability(conf, correct[half:]),
        **calibrate.risk_coverage(conf, correct[half:]),
        "readers_agree": round(float(agree.mean()), 4),
        "accuracy_when_readers_agree": round(float(correct[agree].mean()), 4) if agree.any() else 0,
    }
    full = calibrate.fit(scores, correct)
    if agree.sum() >= 50:  # too few agreeing lines: the combined reader uses the main map
        full["agree"] = calibrate.fit(scores[agree], correct[agree])
    return full, metrics


def recalibrate_lines(
    folder: str, *, seed: int = 0, n_calibration: int = 1500, log=print
) -> dict[str, Any]:
    """Refit a saved line model's calibration (weights unchanged); returns its metadata.

    For a change to what the confidence depends on (the line preparation, the
    ``combined`` reader's agreement map) without the hour of training. The
    same calibration lines as :func:`train_lines` with the same ``seed``.
    The ONNX file is exported again, since it records the weights file's hash.
    """
    import datetime

    from digitrec.lines.export import save_line_model
    from digitrec.models.store import load_saved

    saved = load_saved(folder, kind="lines")
    net, _ = _init(folder, log)
    net.eval()
    log(f"calibrating on {n_calibration} fresh lines")
    calibration, metrics = _calibrate(net, n_calibration, seed)
    keep = {k: v for k, v in saved.meta.items() if k not in ("arch", "net", "classes", "height")}
    keep.pop("shapes", None)
    keep.pop("stage", None)  # a model saved by train_lines(n_calibration=0)
    training = dict(keep.get("training") or {})
    training["recalibrated"] = {
        "date": datetime.date.today().isoformat(),
        "seed": seed,
        "calibration_lines": n_calibration,
    }
    meta = {**keep, "calibration": calibration, "metrics": metrics, "training": training}
    save_line_model(net, folder, meta)
    log(f"saved to {folder}: {metrics}")
    return meta
