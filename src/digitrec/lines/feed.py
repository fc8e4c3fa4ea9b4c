"""Training lines for the line reader: generator processes feeding a replay pool.

Generating and normalising a line costs about 10 ms of CPU, while one training
step of 32 lines costs about 80 ms on one core: fresh lines alone would keep
the network waiting about 4x longer than it computes. So generator processes
put prepared lines into a pool (a ring buffer of the latest
``capacity`` lines, stored as uint8), and each step samples its batch from the
pool; a line is shown at most about ``max_reuse`` times on average before the
trainer waits for fresher ones. Batches are drawn four at a time and sorted by
width, so each is padded to lines of similar length (padding was more than
half of the computation with random batches).

With ``workers=0`` the lines are generated in the calling process, a fixed
number per step: slower, but the run is exactly reproducible from its seed.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections import deque

import numpy as np
import torch

from digitrec.lines.spec import STRIDE, encode_label

__all__ = ["LineFeed", "ReplayPool"]

#: Lines per message from a generator process.
CHUNK = 16


def _lines(
    seed: int, stream: int, leave_out: tuple[str, ...] = (), distort: float = 0.0, pen: float = 0.0
):
    """Endless prepared training lines ``(x uint8 (32, W), label indices)``.

    ``leave_out``: training fonts not to use; ``distort``, ``pen``: see
    :class:`~digitrec.lines.synth.LineGenerator`.
    """
    from digitrec.data import load_mnist
    from digitrec.lines.prep import prepare
    from digitrec.lines.spec import training_fonts
    from digitrec.lines.synth import FontBank, LineGenerator

    rng = np.random.default_rng([seed, stream])
    data = load_mnist(progress=False)
    fonts = {k: v for k, v in training_fonts().items() if k not in leave_out}
    gen = LineGenerator(
        FontBank(fonts), data.train_images, data.train_labels, distort=distort, pen=pen
    )
    while True:
        gray, label, _ = gen.sample(rng)
        p = prepare(gray)
        # CTC needs a frame per label, and one more between repeats
        if isinstance(p, str) or p.x.shape[1] // STRIDE < 2 * len(label) + 1:
            continue
        yield (np.clip(p.x * 255 + 0.5, 0, 255).astype(np.uint8), encode_label(label))


def _produce(seed: int, stream: int, out, synth: dict) -> None:  # a generator process
    torch.set_num_threads(1)
    lines = _lines(seed, stream, **synth)
    while True:
        out.put([next(lines) for _ in range(CHUNK)])


class ReplayPool:
    """The latest ``capacity`` prepared lines; batches are sampled from them.

    Parameters
    ----------
    capacity : int
        Lines kept; the oldest is replaced by each new one.
    rng : numpy.random.Generator
        Draws the batches.
    """

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        self.capacity = capacity
        self.rng = rng
        self.xs: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.added = 0  # lines ever added

    def __len__(self) -> int:
        return len(self.xs)

    def add(self, lines) -> None:
        """Add ``(x, label)`` pairs, replacing the oldest when full."""
        for x, label in lines:
            if len(self.xs) < self.capacity:
                self.xs.append(x)
                self.labels.append(label)
            else:
                i = self.added % self.capacity
                self.xs[i], self.labels[i] = x, label
            self.added += 1

    def batches(self, batch_size: int, n: int = 4) -> list[tuple[torch.Tensor, ...]]:
        """``n`` CTC batches ``(x, targets, input_lengths, target_lengths)`` of similar widths."""
        n = max(1, min(n, len(self) // batch_size))
        pick = self.rng.choice(len(self), size=n * batch_size, replace=len(self) < batch_size)
        pick = np.array(sorted(pick, key=lambda i: self.xs[i].shape[1]))
        return [
            _collate([self.xs[i] for i in part], [self.labels[i] for i in part])
            for part in np.split(pick, n)
        ]


def _collate(xs: list[np.ndarray], labels: list[np.ndarray]) -> tuple[torch.Tensor, ...]:
    width = max(x.shape[1] for x in xs)
    width += -width % STRIDE
    batch = np.zeros((len(xs), 1, xs[0].shape[0], width), np.float32)
    for i, x in enumerate(xs):
        batch[i, 0, :, : x.shape[1]] = x * np.float32(1 / 255)
    return (
        torch.from_numpy(batch),
        torch.from_numpy(np.concatenate(labels)),
        torch.tensor([x.shape[1] // STRIDE for x in xs]),
        torch.tensor([len(lb) for lb in labels]),
    )


class LineFeed:
    """Endless training batches: generator processes -> replay pool -> width-sorted batches.

    Parameters
    ----------
    batch_size : int
        Lines per batch.
    seed : int
        Seed of the generated lines and of the sampling.
    workers : int
        Generator processes; 0 generates ``batch_size // max_reuse`` lines per
        batch in this process (reproducible, slower).
    capacity : int
        Lines kept in the pool.
    max_reuse : float
        Average times a line may be shown before the feed waits for fresh lines.
    warm : int
        Lines in the pool before the first batch.
    exact : bool
        Take exactly one fresh line per ``max_reuse`` lines shown, however fast
        the generators are, so that a run with a fixed number of steps learns
        from the same stream of lines on 2 CPU cores as on a GPU machine with
        many (otherwise the pool takes whatever the generators have made).
    leave_out, distort, pen
        Passed to the line generator (fonts not to use; shares of distorted
        glyphs and of lines with another pen width).
    """

    def __init__(
        self,
        batch_size: int,
        seed: int,
        *,
        workers: int = 1,
        capacity: int = 20000,
        max_reuse: float = 4.0,
        warm: int = 512,
        exact: bool = False,
        leave_out: tuple[str, ...] = (),
        distort: float = 0.0,
        pen: float = 0.0,
    ) -> None:
        self.batch_size, self.max_reuse, self.exact = batch_size, max_reuse, exact
        self.warm = min(warm, capacity)
        self.pool = ReplayPool(capacity, np.random.default_rng([seed, 104729]))
        self.shown = 0
        self.ready: deque = deque()
        self.procs: list = []
        synth = {"leave_out": tuple(leave_out), "distort": distort, "pen": pen}
        if workers:
            ctx = mp.get_context("fork")  # the CLI's __main__ cannot be re-imported by spawn
            self.queue = ctx.Queue(maxsize=64)
            self.procs = [
                ctx.Process(target=_produce, args=(seed, w, self.queue, synth), daemon=True)
                for w in range(workers)
            ]
            for p in self.procs:
                p.start()
        else:
            self.local = _lines(seed, 0, **synth)

    def _take(self, block: bool) -> bool:
        if not self.procs:
            n = max(1, round(self.batch_size / self.max_reuse))
            self.pool.add(next(self.local) for _ in range(n))
            return True
        try:
            self.pool.add(self.queue.get(block=block, timeout=300 if block else None))
        except queue.Empty:
            if block:
                raise RuntimeError("line generator processes gave no lines for 300 s") from None
            return False
        return True

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        while not self.exact and self._take(block=False) and self.procs:
            pass  # drain whatever the generators have made
        while len(self.pool) < self.warm or self.shown > self.max_reuse * self.pool.added:
            self._take(block=True)
        if not self.ready:
            self.ready.extend(self.pool.batches(self.batch_size))
        batch = self.ready.popleft()
        self.shown += len(batch[3])
        return batch

    def close(self) -> None:
        """Stop the generator processes."""
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.join(timeout=10)
