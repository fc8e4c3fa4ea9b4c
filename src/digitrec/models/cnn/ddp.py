"""Multi-process training with torch DistributedDataParallel (gloo on CPU), via torchrun.

``digitrec train cnn --nproc N`` re-launches itself under torchrun
(:func:`relaunch`); each of the N processes then calls :func:`init_from_env`
and trains with the returned :class:`Dist`, which gives the training loop the
few things it needs to be data-parallel:

* :meth:`Dist.wrap` the network in DDP (gradients averaged across processes
  during ``backward``, parameters identical on every process after each step);
* :meth:`Dist.shard` each global batch: every process takes a disjoint part,
  so N processes take the same steps on the same global batches as one;
* :meth:`Dist.from_main` for values that must agree (a learning rate driven by
  wall time, a stop flag), :meth:`Dist.sum` for metrics;
* :attr:`Dist.is_main` for what only one process does (progress bar, saving).

With one process (no torchrun) :func:`init_from_env` returns ``Dist()``, whose
methods do nothing, so the same loop serves both cases.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from digitrec.errors import InputError

__all__ = [
    "Dist",
    "init_from_env",
    "relaunch",
    "shutdown",
    "torchrun_command",
    "under_torchrun",
    "without_option",
]

#: Set in the environment of the processes torchrun starts (with RANK, WORLD_SIZE...).
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Dist:
    """This process's place in a data-parallel run.

    Attributes
    ----------
    rank : int
        0 .. world_size - 1; rank 0 is the main process.
    world_size : int
        Number of processes.
    """

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """True on the one process that reports and saves."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when there is more than one process."""
        return self.world_size > 1

    def wrap(self, net):
        """``net`` in DistributedDataParallel when distributed, else ``net`` itself.

        DDP broadcasts rank 0's parameters and buffers at construction, then
        averages gradients in ``backward``; keep a reference to ``net`` itself
        for saving (the wrapper's parameters are the same tensors).
        """
        if not self.active:
            return net
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net)

    def shard(self, batch):
        """This process's part of a global batch (a strided slice: disjoint, covering).

        With a global batch divisible by ``world_size`` every process gets the
        same count, so DDP's average of per-process mean losses is the mean
        loss of the global batch: the same gradient as one process.
        """
        return batch[self.rank :: self.world_size] if self.active else batch

    def from_main(self, *values: float) -> list[float]:
        """``values`` as rank 0 has them, on every process (one broadcast)."""
        if not self.active:
            return list(values)
        import torch
        import torch.distributed as td

        t = torch.tensor(values, dtype=torch.float64)
        td.broadcast(t, src=0)
        return t.tolist()

    def sum(self, *values: float) -> list[float]:
        """Sums of ``values`` over all processes (one all-reduce)."""
        if not self.active:
            return list(values)
        import torch
        import torch.distributed as td

        t = torch.tensor(values, dtype=torch.float64)
        td.all_reduce(t, op=td.ReduceOp.SUM)
        return t.tolist()

    def barrier(self) -> None:
        """Wait for every process."""
        if self.active:
            import torch.distributed as td

            td.barrier()


def init_from_env(backend: str = "gloo") -> Dist:
    """Join the process group that torchrun set up, or run alone.

    Parameters
    ----------
    backend : str
        ``"gloo"`` (CPU; the default) or ``"nccl"`` (one GPU per process).

    Returns
    -------
    Dist
        ``Dist()`` when not started by torchrun (or with one process).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as td

    if not td.is_initialized():
        td.init_process_group(backend=backend)  # rendezvous from torchrun's MASTER_ADDR/PORT
    return Dist(rank=td.get_rank(), world_size=td.get_world_size())


def shutdown() -> None:
    """Leave the process group (no-op when not distributed)."""
    import torch.distributed as td

    if td.is_available() and td.is_initialized():
        # Everyone first: a rank that tears gloo down while another still talks to it
        # can abort ("terminate called without an active exception").
        td.barrier()
        td.destroy_process_group()


def torchrun_command(nproc: int, argv: Sequence[str], module: str | None = "digitrec") -> list[str]:
    """The command that runs ``python -m MODULE ARGV`` in ``nproc`` processes here.

    ``python -m torch.distributed.run`` is torchrun itself, with the same
    interpreter (so the same environment) as this process; ``--standalone``
    sets up a local rendezvous on a free port. With ``module=None``,
    ``argv[0]`` is a script to run instead.
    """
    if nproc < 1:
        raise InputError(f"--nproc: expected a positive number of processes, found {nproc}")
    target = ["-m", module] if module else []
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        *target,
        *argv,
    ]


def without_option(argv: Sequence[str], name: str) -> list[str]:
    """``argv`` without the option ``name`` and its value (``--opt N`` or ``--opt=N``)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            out.append(arg)
    return out


def relaunch(nproc: int, argv: Sequence[str], option: str = "--nproc") -> int:
    """Run ``digitrec ARGV`` under torchrun with ``nproc`` processes; its exit status.

    Call it from a command that got ``--nproc N`` while not already under
    torchrun (no ``RANK`` in the environment); the N processes find ``RANK``
    and ``WORLD_SIZE`` set and do the work. ``option`` is dropped from the
    arguments: the processes need not see it, and torchrun's own parser would
    take ``--nproc`` for an abbreviation of its ``--nproc-per-node``.
    """
    cmd = torchrun_command(nproc, without_option(argv, option))
    return subprocess.run(cmd, check=False).returncode


def under_torchrun() -> bool:
    """True inside a process started by torchrun."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ
