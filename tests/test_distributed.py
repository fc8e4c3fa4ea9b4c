"""Data-parallel training helpers: 2 processes under torchrun (gloo) equal 1 process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

import digitrec
from digitrec.errors import InputError
from digitrec.models.cnn.ddp import Dist, init_from_env, torchrun_command, without_option

#: A softmax regression trained with the helpers exactly as a training loop uses them.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    import torch.nn.functional as F
    from digitrec.models.cnn.ddp import init_from_env, shutdown

    dist = init_from_env()
    torch.set_num_threads(1)
    torch.manual_seed(1 + dist.rank)  # different on purpose: DDP must broadcast rank 0's
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, 20)).astype(np.float32)
    y = (x @ rng.normal(size=(20, 4))).argmax(1)
    net = torch.nn.Linear(20, 4)
    model = dist.wrap(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    gen = torch.Generator().manual_seed(0)  # same batch order on every process
    batch, seen = 64, 0
    for epoch in range(3):
        order = torch.randperm(len(x), generator=gen)
        for b in range(len(x) // batch):
            idx = dist.shard(order[b * batch : (b + 1) * batch])
            seen += len(idx)
            (lr,) = dist.from_main(0.2 / (1 + epoch))  # e.g. a wall-time-driven schedule
            for g in opt.param_groups:
                g["lr"] = lr
            loss = F.cross_entropy(model(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        correct = int((net(torch.from_numpy(x)).argmax(1).numpy() == y).sum())
    total_seen, total_correct = dist.sum(seen, correct)
    params = torch.cat([p.detach().flatten() for p in net.parameters()]).tolist()
    with open(f"{sys.argv[1]}/rank{dist.rank}-of-{dist.world_size}.json", "w") as fh:
        json.dump({"params": params, "seen": total_seen, "correct": total_correct,
                   "accuracy": total_correct / dist.world_size / len(x)}, fh)
    shutdown()
    """
)


def _run(cmd, tmp_path):
    # The child processes must import this digitrec (a checkout's src/ or the installed one).
    src = str(Path(digitrec.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow  # three Python processes importing torch, plus torchrun
@pytest.mark.timeout(240)
def test_two_gloo_processes_train_like_one(tmp_path, monkeypatch):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    _run([sys.executable, str(script), str(tmp_path)], tmp_path)
    _run(torchrun_command(2, [str(script), str(tmp_path)], module=None), tmp_path)
    one = json.loads((tmp_path / "rank0-of-1.json").read_text())
    r0, r1 = (json.loads((tmp_path / f"rank{r}-of-2.json").read_text()) for r in (0, 1))
    # DDP keeps the replicas identical (despite different initial seeds per rank).
    assert r0["params"] == r1["params"]
    # The shards of each global batch are disjoint and cover it: same images seen as alone.
    assert r0["seen"] == one["seen"] == 3 * 1024
    # Same global batches, averaged gradients, same learning rates: the same model as one
    # process, up to floating-point summation order; hence the same accuracy.
    assert r0["params"] == pytest.approx(one["params"], abs=1e-4)
    assert r0["accuracy"] == pytest.approx(one["accuracy"], abs=0.01)
    assert one["accuracy"] > 0.9


def test_alone_nothing_is_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    d = init_from_env()
    assert (d.rank, d.world_size, d.is_main, d.active) == (0, 1, True, False)
    batch = list(range(10))
    assert d.shard(batch) == batch
    assert d.sum(1.0, 2.0) == [1.0, 2.0] and d.from_main(3.0) == [3.0]
    sentinel = object()
    assert d.wrap(sentinel) is sentinel


def test_shards_are_disjoint_and_cover_the_batch():
    batch = list(range(12))
    parts = [Dist(rank=r, world_size=3).shard(batch) for r in range(3)]
    assert sorted(x for p in parts for x in p) == batch
    assert all(len(p) == 4 for p in parts)


def test_torchrun_command():
    cmd = torchrun_command(4, ["train", "cnn", "--nproc", "4"])
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=4" in cmd and cmd[-6:] == [
        "-m",
        "digitrec",
        "train",
        "cnn",
        "--nproc",
        "4",
    ]
    with pytest.raises(InputError, match="--nproc"):
        torchrun_command(0, [])


def test_nproc_is_not_passed_on_to_torchrun():
    argv = ["train", "cnn", "--nproc", "2", "--epochs", "1", "--nproc=3", "--nproc-x", "1"]
    assert without_option(argv, "--nproc") == ["train", "cnn", "--epochs", "1", "--nproc-x", "1"]
