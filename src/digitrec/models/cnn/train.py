"""Train the CNN: the whole loop, readable in one sitting.

Steps: seed everything, split a held-out calibration set off the training set,
then for each batch: augment, forward, cross-entropy, backward, AdamW step, and
set the learning rate from a one-cycle schedule (warm up, then cosine down to
almost zero). The schedule is driven by *progress*, the larger of the share of
steps done and the share of the time budget used, so ``--time-budget`` runs
still anneal properly and end on a well-converged model.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from digitrec.errors import InputError
from digitrec.models.cnn.augment import Augment
from digitrec.models.cnn.ddp import Dist
from digitrec.models.cnn.net import DigitNet
from digitrec.models.cnn.spec import DEFAULT_CONFIG, check_config

__all__ = [
    "TrainConfig",
    "TrainResult",
    "budget_note",
    "one_cycle",
    "predict_logits",
    "split_holdout",
    "train",
]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that determines a training run (saved with the model).

    Parameters
    ----------
    epochs : int
        Passes over the training images (minus the held-out set).
    time_budget : float, optional
        Stop after this many seconds of training; the schedule is squeezed to fit.
    seed : int
        Seeds the split, the initial weights, the batch order and the augmentation.
    batch_size : int
        Images per step.
    max_lr : float
        Peak learning rate of the one-cycle schedule.
    weight_decay : float
        AdamW's decoupled weight decay.
    warmup : float
        Share of the run spent warming the learning rate up.
    holdout : int
        Training images kept out of training for temperature scaling (0: none).
    augment : bool
        Apply random affine + elastic distortions to training batches.
    augment_strength : float
        Multiplies every distortion magnitude of :class:`Augment` (1: its defaults).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when present).
    threads : int
        CPU threads for torch (the machine is shared; 2 by default).
    net : dict
        Architecture config, see :data:`digitrec.models.cnn.spec.DEFAULT_CONFIG`.
    """

    epochs: int = 12
    time_budget: float | None = None
    seed: int = 0
    batch_size: int = 128
    max_lr: float = 4e-3
    weight_decay: float = 0.05
    warmup: float = 0.15
    holdout: int = 5000
    augment: bool = True
    augment_strength: float = 0.75
    device: str = "cpu"
    threads: int = 2
    net: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CONFIG))

    def check(self) -> TrainConfig:
        """Raise :class:`InputError` for values no run can use."""
        if self.epochs < 1:
            raise InputError(f"epochs: expected >= 1, found {self.epochs}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise InputError(f"time budget: expected > 0 seconds, found {self.time_budget}")
        if self.batch_size < 2:
            raise InputError(f"batch size: expected >= 2 (batch norm), found {self.batch_size}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise InputError(f"device: expected cpu, cuda or auto, found {self.device!r}")
        try:
            self.net = check_config(self.net)
        except InputError as exc:
            raise InputError(f"network config: {exc}") from exc
        return self


@dataclass
class TrainResult:
    """A trained network and what happened while training it."""

    net: DigitNet
    config: TrainConfig
    seconds: float
    images_seen: int
    steps: int
    history: list[dict[str, float]]
    train_idx: np.ndarray
    holdout_idx: np.ndarray
    #: The time budget ran out before the epochs did.
    stopped_by_budget: bool = False
    #: Steps of the epoch schedule the run took (``config.epochs`` epochs).
    total_steps: int = 0

    @property
    def schedule_done(self) -> float:
        """Share of the epoch schedule's steps taken (1.0 for a run that finished it)."""
        return self.steps / self.total_steps if self.total_steps else 1.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready description of the run."""
        out = {
            "config": asdict(self.config),
            "seconds": round(self.seconds, 1),
            "images_seen": self.images_seen,
            "steps": self.steps,
            "schedule_steps": self.total_steps,
            "schedule_done": round(self.schedule_done, 4),
            "stopped_by_budget": self.stopped_by_budget,
            "history": self.history,
        }
        note = budget_note(out)
        if note:
            out["note"] = note
        return out


def budget_note(summary: dict[str, Any]) -> str | None:
    """The sentence saying a run was cut short by its time budget, or None if it was not.

    ``summary`` is :meth:`TrainResult.summary` (or a model card's ``training``).

    Examples
    --------
    >>> budget_note({"stopped_by_budget": True, "config": {"time_budget": 60, "epochs": 12},
    ...              "steps": 1500, "schedule_steps": 5000, "schedule_done": 0.3})
    'stopped by the 60 s time budget after 1,500 of 5,000 steps: 30% of the 12-epoch schedule'
    """
    if not summary.get("stopped_by_budget"):
        return None
    cfg = summary["config"]
    return (
        f"stopped by the {cfg['time_budget']:g} s time budget after {summary['steps']:,} of "
        f"{summary['schedule_steps']:,} steps: {summary['schedule_done']:.0%} of the "
        f"{cfg['epochs']}-epoch schedule"
    )


def one_cycle(progress: float, max_lr: float, warmup: float) -> float:
    """Learning rate at ``progress`` in [0, 1]: cosine warm-up, then cosine decay.

    Starts at max_lr / 25 and ends at max_lr / 1e4, as PyTorch's OneCycleLR does.
    """
    start, end = max_lr / 25, max_lr / 1e4
    p = min(max(progress, 0.0), 1.0)
    if p < warmup:
        return start + (max_lr - start) * (1 - math.cos(math.pi * p / warmup)) / 2
    q = (p - warmup) / max(1 - warmup, 1e-9)
    return end + (max_lr - end) * (1 + math.cos(math.pi * q)) / 2


def split_holdout(n: int, holdout: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of ``range(n)`` into (train, held-out) index arrays."""
    if not 0 <= holdout < n:
        raise InputError(f"holdout: expected 0 <= holdout < {n} training images, found {holdout}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[holdout:]), np.sort(perm[:holdout])


def _to_batch(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 (n, 28, 28) -> float (n, 1, 28, 28) in [0, 1], channels-last (faster on CPU)."""
    x = images.to(device, non_blocking=True).unsqueeze(1).float().div_(255)
    return x.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict_logits(
    net: DigitNet, images: np.ndarray, batch_size: int = 1000, device: str | None = None
) -> np.ndarray:
    """Logits (n, 10) of uint8 images (n, 28, 28), in evaluation mode."""
    dev = torch.device(device) if device else next(net.parameters()).device
    net.eval()
    out = []
    tensor = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True))
    for i in range(0, len(tensor), batch_size):
        out.append(net(_to_batch(tensor[i : i + batch_size], dev)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 10), np.float32)


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device: cuda requested but no CUDA device is available; use --device cpu")
    return torch.device(name)


def train(
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig | None = None,
    progress: bool = True,
    on_epoch: Callable[[int, DigitNet], dict[str, float] | None] | None = None,
    dist: Dist | None = None,
) -> TrainResult:
    """Train a :class:`DigitNet` on uint8 images (n, 28, 28) and labels (n,).

    Parameters
    ----------
    images, labels : ndarray
        The full training set; ``config.holdout`` of them are set aside (seeded).
    config : TrainConfig, optional
        Hyper-parameters; defaults reproduce the shipped model.
    progress : bool
        Show a progress bar on stderr (loss, accuracy, images/s).
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, net)`` after each epoch; a returned dict is
        added to that epoch's history entry (e.g. a test accuracy). Main process only.
    dist : Dist, optional
        Data-parallel run (``digitrec.models.cnn.ddp.init_from_env()`` under torchrun):
        each process takes its share of every global batch of ``config.batch_size``
        images and DDP averages the gradients, so N processes take the same steps
        as one. Default: this process alone.

    Returns
    -------
    TrainResult
    """
    cfg = (config or TrainConfig()).check()
    dist = dist or Dist()
    loop = _setup(images, labels, cfg, dist)
    history: list[dict[str, float]] = []
    budget_bar = _budget_bar(cfg, progress and dist.is_main) if cfg.time_budget else None
    done = False
    for epoch in range(cfg.epochs):
        entry, done = _run_epoch(loop, epoch, progress, budget_bar)
        if on_epoch is not None and dist.is_main:
            entry.update(on_epoch(epoch + 1, loop.net) or {})
            loop.net.train()
        history.append(entry)
        if done:
            break
    if budget_bar is not None:
        _show_elapsed(budget_bar, loop.elapsed)
        budget_bar.close()
    loop.net.eval()
    result = TrainResult(
        net=loop.net,
        config=cfg,
        seconds=loop.train_seconds,
        images_seen=int(dist.sum(loop.seen)[0]),
        steps=loop.step,
        history=history,
        train_idx=loop.train_idx,
        holdout_idx=loop.holdout_idx,
        stopped_by_budget=done and loop.step < loop.total_steps,
        total_steps=loop.total_steps,
    )
    if result.stopped_by_budget and dist.is_main:  # the CLI prints it; library users log it
        log.info("%s", budget_note(result.summary()))
    return result


@dataclass
class _Loop:
    """The training loop's state: data, network, optimiser, generators and counters."""

    cfg: TrainConfig
    dist: Dist
    device: torch.device
    net: DigitNet
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    augment: Augment | None
    gen: torch.Generator
    aug_gen: torch.Generator
    x_all: torch.Tensor
    y_all: torch.Tensor
    train_idx: np.ndarray
    holdout_idx: np.ndarray
    steps_per_epoch: int
    step: int = 0
    seen: int = 0
    train_seconds: float = 0.0
    #: Seconds of training so far as of the last step (rank 0's clock when distributed).
    elapsed: float = 0.0

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.cfg.epochs


def _check_inputs(images: np.ndarray, labels: np.ndarray, cfg: TrainConfig, dist: Dist) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise InputError(f"images: expected uint8 (n, 28, 28), found {images.dtype} {images.shape}")
    if len(labels) != len(images):
        raise InputError(f"labels: expected {len(images)} labels, found {len(labels)}")
    if cfg.batch_size % dist.world_size:
        raise InputError(
            f"batch size: expected a multiple of the {dist.world_size} processes, found "
            f"{cfg.batch_size}; choose --batch-size divisible by --nproc"
        )


def _setup(images, labels, cfg: TrainConfig, dist: Dist) -> _Loop:
    """Check the inputs, seed everything, split off the hold-out, build net and optimiser."""
    images, labels = np.asarray(images), np.asarray(labels)
    _check_inputs(images, labels, cfg, dist)
    device = _device(cfg.device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order: the same on every process
    # Augmentation must differ between processes (else they distort alike); alone, keep
    # drawing from ``gen`` so that single-process runs reproduce the shipped model.
    aug_gen = torch.Generator().manual_seed(cfg.seed + 7919 * dist.rank) if dist.active else gen

    train_idx, holdout_idx = split_holdout(len(images), cfg.holdout, cfg.seed)
    x_all = torch.from_numpy(images[train_idx])  # fancy indexing copies: writable
    y_all = torch.from_numpy(labels[train_idx].astype(np.int64))
    n = len(x_all)
    if n < cfg.batch_size:
        raise InputError(
            f"training set: {n} images after the hold-out, fewer than one batch "
            f"({cfg.batch_size}); lower --batch-size or --holdout"
        )
    net = DigitNet(cfg.net).to(device).to(memory_format=torch.channels_last)
    return _Loop(
        cfg=cfg,
        dist=dist,
        device=device,
        net=net,
        model=dist.wrap(net),  # DDP when distributed; ``net`` stays the plain module
        opt=torch.optim.AdamW(net.parameters(), lr=cfg.max_lr, weight_decay=cfg.weight_decay),
        augment=Augment().scaled(cfg.augment_strength) if cfg.augment else None,
        gen=gen,
        aug_gen=aug_gen,
        steps_per_epoch=n // cfg.batch_size,  # drop the ragged last batch (batch norm)
        x_all=x_all,
        y_all=y_all,
        train_idx=train_idx,
        holdout_idx=holdout_idx,
    )


def _budget_bar(cfg: TrainConfig, show: bool):
    """The whole run's bar under a time budget: seconds used of the budget.

    The epochs' own bars would show an ETA for every epoch of the schedule, which
    the budget cuts short.
    """
    from tqdm.auto import tqdm

    return tqdm(
        total=cfg.time_budget,
        desc=f"epoch 1/{cfg.epochs}",
        # tqdm starts a non-empty postfix with ", ".
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of budget{postfix}",
        disable=not show,
        dynamic_ncols=True,
    )


def _show_elapsed(bar, elapsed: float) -> None:
    """Move the budget bar to ``elapsed`` seconds (at most the whole budget)."""
    bar.n = min(elapsed, bar.total)
    bar.refresh()


def _run_epoch(
    loop: _Loop, epoch: int, progress: bool, budget_bar=None
) -> tuple[dict[str, float], bool]:
    """One pass over the training set: (history entry, whether the time budget ran out).

    ``budget_bar`` is the run's bar under a time budget; without one, each epoch
    gets its own bar over its steps.
    """
    from tqdm.auto import tqdm

    cfg, dist = loop.cfg, loop.dist
    loop.net.train()
    order = torch.randperm(len(loop.x_all), generator=loop.gen)
    steps = range(loop.steps_per_epoch)
    desc = f"epoch {epoch + 1}/{cfg.epochs}"
    if budget_bar is None:
        bar = steps = tqdm(
            steps, desc=desc, disable=not (progress and dist.is_main), dynamic_ncols=True
        )
    else:
        bar = budget_bar
        bar.set_description_str(desc, refresh=False)
    loss_sum, correct, count = 0.0, 0, 0
    done = False
    t0 = time.perf_counter()
    for b in steps:
        idx = dist.shard(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
        loss, n_right, n = _train_step(loop, idx, t0)
        count += n
        loss_sum += loss * n
        correct += n_right
        if b % 20 == 0 or b == loop.steps_per_epoch - 1:
            bar.set_postfix(
                loss=f"{loss_sum / count:.4f}",
                acc=f"{correct / count:.4f}",
                img_s=f"{count / (time.perf_counter() - t0):.0f}",
                refresh=budget_bar is None,
            )
            if budget_bar is not None:
                _show_elapsed(bar, loop.elapsed)
        if cfg.time_budget and loop.elapsed >= cfg.time_budget:
            done = True
            break
    if budget_bar is None:
        bar.close()
    epoch_seconds = time.perf_counter() - t0
    loop.train_seconds += epoch_seconds
    loss_sum, correct, count = dist.sum(loss_sum, correct, count)  # over all processes
    entry = {
        "epoch": epoch + 1,
        "loss": round(loss_sum / max(count, 1), 5),
        "train_accuracy": round(correct / max(count, 1), 5),
        "seconds": round(epoch_seconds, 1),
        "images_per_second": round(count / epoch_seconds, 1),
    }
    return entry, done


def _train_step(loop: _Loop, idx: torch.Tensor, t0: float) -> tuple[float, int, int]:
    """One optimiser step on the batch ``idx``: (mean loss, correct, batch size).

    ``t0`` is when the epoch started; the learning rate follows the time spent
    under a time budget.
    """
    cfg, device = loop.cfg, loop.device
    x, y = _to_batch(loop.x_all[idx], device), loop.y_all[idx].to(device)
    if loop.augment is not None:
        x = loop.augment(x, loop.aug_gen if device.type == "cpu" else None)
    elapsed = loop.train_seconds + time.perf_counter() - t0
    frac = loop.step / loop.total_steps
    if cfg.time_budget:
        frac = max(frac, elapsed / cfg.time_budget)
        # Every process must use rank 0's clock: the same learning rate (else the
        # replicas drift apart) and the same last step (else the others hang).
        frac, elapsed = loop.dist.from_main(frac, elapsed)
    loop.elapsed = elapsed
    for group in loop.opt.param_groups:
        group["lr"] = one_cycle(frac, cfg.max_lr, cfg.warmup)

    logits = loop.model(x)
    loss = F.cross_entropy(logits, y)
    loop.opt.zero_grad(set_to_none=True)
    loss.backward()
    loop.opt.step()
    loop.step += 1
    loop.seen += len(y)
    return loss.item(), int((logits.argmax(1) == y).sum()), len(y)
