"""`train(..., dist=...)`: 2 CPU processes (DDP, gloo, torchrun) train like one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("digitrec.models.cnn")

import digitrec
from digitrec.models.cnn.ddp import torchrun_command

pytestmark = [pytest.mark.mnist, pytest.mark.slow, pytest.mark.timeout(300)]

#: The same small run alone and in 2 processes: a narrow net, 8000 images, 2 epochs.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    from digitrec.data import load_mnist
    from digitrec.models.cnn.ddp import init_from_env, shutdown
    from digitrec.models.cnn.spec import DEFAULT_CONFIG
    from digitrec.models.cnn.train import TrainConfig, predict_logits, train

    dist = init_from_env()
    d = load_mnist(progress=False)
    cfg = TrainConfig(epochs=2, batch_size=64, holdout=0, threads=1,
                      net={**DEFAULT_CONFIG, "widths": [8, 16, 32]})
    r = train(d.train_images[:8000], d.train_labels[:8000], cfg, progress=False, dist=dist)
    pred = predict_logits(r.net, d.test_images[:2000]).argmax(1)
    params = torch.cat([p.detach().flatten() for p in r.net.parameters()])
    with open(f"{sys.argv[1]}/rank{dist.rank}-of-{dist.world_size}.json", "w") as fh:
        json.dump({"accuracy": float((pred == d.test_labels[:2000]).mean()),
                   "seen": r.images_seen, "steps": r.steps,
                   "params": float(params.double().abs().sum()),
                   "loss": r.history[-1]["loss"]}, fh)
    shutdown()
    """
)


def _run(cmd, cwd):
    src = str(Path(digitrec.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_processes_reach_the_accuracy_band_of_one(tmp_path, mnist_dir):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    _run([sys.executable, str(script), str(tmp_path)], tmp_path)
    _run(torchrun_command(2, [str(script), str(tmp_path)], module=None), tmp_path)
    one = json.loads((tmp_path / "rank0-of-1.json").read_text())
    r0, r1 = (json.loads((tmp_path / f"rank{r}-of-2.json").read_text()) for r in (0, 1))
    assert r0["params"] == r1["params"]  # DDP keeps the replicas identical
    assert r0["seen"] == one["seen"] and r0["steps"] == one["steps"]  # same global batches
    assert one["accuracy"] > 0.93
    assert abs(r0["accuracy"] - one["accuracy"]) < 0.015
