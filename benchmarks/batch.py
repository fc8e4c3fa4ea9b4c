"""Throughput of `digitrec batch` on Dask (1 and 2 workers) against one process.

Renders ``--images`` scan-like images (1-3 MNIST test digits in dark ink on
paper) into a temporary folder, then measures on the same files:

* ``single``: one process calling :func:`digitrec.vision.read_many` on
  ``--batch-size`` images at a time (what ``digitrec predict`` does);
* ``dask_1w`` / ``dask_2w``: :func:`digitrec.batch.run_batch` on a
  LocalCluster of 1 and 2 single-threaded worker processes, Parquet included
  (cluster start-up and model loading excluded, as for ``single``);

and the client-side costs that bound a large cluster: Parquet rows/s of the
writer and result bytes per image. From the per-core rate it projects
``--nodes`` nodes of ``--cores-per-node`` cores (see docs/README-batch.md).

Prints one JSON line. Needs DIGITREC_DATA_DIR (the MNIST test digits)::

    PYTHONPATH=src python benchmarks/batch.py --images 400 --model knn:5000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from digitrec.batch import expand_inputs, run_batch
from digitrec.batch.sink import SCHEMA, read_dataset
from digitrec.testing.synth import render_plain_row

#: A Dask scheduler spends roughly 0.1-1 ms of CPU per task (Dask's documentation quotes
#: "about 1 ms" of overhead per task and thousands of tasks/s): the projection assumes
#: this sustained rate as the scheduler's ceiling.
SCHEDULER_TASKS_PER_S = 2000


def make_images(folder: Path, n: int, seed: int = 0) -> list[str]:
    from digitrec.data import load_mnist

    data = load_mnist(progress=False)
    rng = np.random.default_rng(seed)
    for i in range(n):
        idx = rng.choice(len(data.test_images), size=int(rng.integers(1, 4)), replace=False)
        img = render_plain_row([data.test_images[j] for j in idx], rng)
        Image.fromarray(img).save(folder / f"scan{i:05d}.png")
    return expand_inputs([folder])


def make_model(spec: str, folder: Path) -> str:
    """``knn:N`` trains a KNN (k=3) on N training images; anything else is a model spec."""
    if not spec.startswith("knn:"):
        return spec
    from digitrec.data import load_mnist
    from digitrec.models.knn import KnnModel

    n = int(spec.split(":", 1)[1])
    data = load_mnist(progress=False)
    KnnModel(k=3).fit(data.train_images[:n], data.train_labels[:n]).save(folder)
    return str(folder)


def single_process(paths: list[str], model: str, batch_size: int) -> tuple[float, float]:
    """What ``digitrec predict`` does: read_many on batches, results as dicts.

    Returns images per second of wall time and per second of this process's CPU time.
    """
    from digitrec.models import load_model
    from digitrec.vision import read_many

    m = load_model(model)
    read_many(paths[:2], model=m)  # warm caches outside the clock
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(paths), batch_size):
        [r.to_dict() for r in read_many(paths[i : i + batch_size], model=m)]
    return len(paths) / (time.perf_counter() - t0), len(paths) / (time.process_time() - c0)


def dask_rate(
    paths: list[str], model: str, workers: int, batch_size: int, out: Path
) -> tuple[float, float]:
    """Images per second of wall time, and per second of the workers' summed CPU time.

    On a shared machine the wall rate measures the contention as much as the code;
    the CPU rate is what one free core would do (Dask's worker overhead included).
    """
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        before = c.run(time.process_time)
        summary = run_batch(paths, out, model=model, client=c, batch_size=batch_size)
        after = c.run(time.process_time)
    assert summary.read == len(paths) and read_dataset(out).num_rows == len(paths)
    cpu = sum(after[w] - before[w] for w in before)
    return summary.images_per_second, len(paths) / cpu


def writer_rate(table: pa.Table, folder: Path, rows: int = 20_000) -> float:
    """Rows/s of the client's Parquet writer (zstd) on parts of ``rows`` result rows."""
    big = pa.concat_tables([table] * (rows // table.num_rows + 1)).slice(0, rows)
    t0 = time.perf_counter()
    for i in range(3):
        pq.write_table(big, folder / f"w{i}.parquet", compression="zstd")
    return 3 * rows / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--model", default="knn:5000", help="'knn:N', 'default' or a model folder")
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--cores-per-node", type=int, default=32)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="digitrec-bench-batch-") as tmp:
        tmp = Path(tmp)
        (tmp / "img").mkdir()
        (tmp / "model").mkdir()
        paths = make_images(tmp / "img", args.images)
        model = make_model(args.model, tmp / "model")
        bytes_per_image = sum(os.path.getsize(p) for p in paths) / len(paths)

        single, single_cpu = single_process(paths, model, args.batch_size)
        w1, w1_cpu = dask_rate(paths, model, 1, args.batch_size, tmp / "out1")
        w2, w2_cpu = dask_rate(paths, model, 2, args.batch_size, tmp / "out2")
        results = read_dataset(tmp / "out2")
        assert results.schema.equals(SCHEMA)
        result_bytes = results.nbytes / results.num_rows
        writer = writer_rate(results, tmp)
        load = os.getloadavg()[0]

    # Per core: the workers' CPU-time rate (2 workers), i.e. what a free core does with
    # Dask's overhead included; wall-time rates on a busy shared machine understate it.
    per_core = w2_cpu
    cores = args.nodes * args.cores_per_node
    total = per_core * cores
    projection = {
        "nodes": args.nodes,
        "cores": cores,
        "images_per_s": round(total),
        "images_per_day": round(total * 86400),
        "storage_read_MB_per_s": round(total * bytes_per_image / 1e6, 1),
        "tasks_per_s_at_batch_size": round(total / args.batch_size),
        "min_batch_size_for_scheduler": int(np.ceil(total / SCHEDULER_TASKS_PER_S)),
        "client_result_MB_per_s": round(total * result_bytes / 1e6, 1),
        "client_parquet_writer_share": round(total / writer, 3),
    }
    print(
        json.dumps(
            {
                "benchmark": "batch",
                "images": len(paths),
                "batch_size": args.batch_size,
                "model": args.model,
                "cpu_count": os.cpu_count(),
                "load_avg_1m": round(load, 2),
                "single_process_ips": round(single, 1),
                "dask_1_worker_ips": round(w1, 1),
                "dask_2_workers_ips": round(w2, 1),
                "ratio_1w_vs_single": round(w1 / single, 3),
                "ratio_2w_vs_single": round(w2 / single, 3),
                "ratio_2w_vs_1w": round(w2 / w1, 3),
                "single_process_cpu_ips": round(single_cpu, 1),
                "dask_1_worker_cpu_ips": round(w1_cpu, 1),
                "dask_2_workers_cpu_ips_per_core": round(w2_cpu, 1),
                "dask_overhead_cpu": round(1 - w2_cpu / single_cpu, 3),
                "per_core_ips": round(per_core, 1),
                "bytes_per_image": round(bytes_per_image),
                "result_bytes_per_image": round(result_bytes, 1),
                "parquet_writer_rows_per_s": round(writer),
                "projection": projection,
            }
        )
    )


if __name__ == "__main__":
    main()
