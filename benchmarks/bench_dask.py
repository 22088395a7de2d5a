"""dp.fit on Dask against the in-memory fit: rows per second of full-batch epochs, on 1 and
then 2 worker processes, and the per-step overhead of the exact path.

Models: Model I (p = 20) and a small Model III (20-16-1, ReLU), full-batch Adam, float64,
200,000 rows in 8 chunks held in the workers' memory (``persist``). Each side runs the same
number of epochs; the in-memory fit and the cluster fits are timed A B A B in one process
(medians). The "overhead" row is the cost of one step on a 1,000-row table, where the
arithmetic is negligible: the scheduler's round trip for one step.

    .venv/bin/python benchmarks/bench_dask.py [--rows 200000] [--epochs 20] [--repeats 3]

Unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this process and its workers (says so).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main() -> None:
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.pop(name, None) is not None:
            print(f"(unset {name} for this benchmark)")
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    import dlprimer as dp

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 20))
    y = (X[:, :5].sum(axis=1) + rng.normal(0, 1, args.rows) > 0).astype(int)
    models = {"Model I": lambda: dp.SigmoidModel(20, dtype=np.float64),
              "Model III 20-16-1": lambda: dp.FeedForward([20, 16, 1], activation="relu",
                                                          dtype=np.float64)}

    def fit(make, Xs, ys, epochs):
        m = make()
        start = time.perf_counter()
        dp.fit(m, Xs, ys, optimizer=dp.optim.Adam(lr=0.01), epochs=epochs, progress=False)
        return time.perf_counter() - start

    rows = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=40) as cluster, \
                Client(cluster) as client:
            Xd = client.persist(da.from_array(X, chunks=(args.rows // 8, 20)))
            yd = client.persist(da.from_array(y, chunks=(args.rows // 8,)))
            small_X = client.persist(da.from_array(X[:1000], chunks=(125, 20)))
            small_y = client.persist(da.from_array(y[:1000], chunks=(125,)))
            for name, make in models.items():
                memory, cluster_times, steps = [], [], []
                fit(make, Xd, yd, 2)  # warm-up: imports and the workers' first tasks
                for _ in range(args.repeats):  # A B A B
                    memory.append(fit(make, X, y, args.epochs))
                    cluster_times.append(fit(make, Xd, yd, args.epochs))
                    steps.append(fit(make, small_X, small_y, args.epochs) / args.epochs)
                mem, dsk = statistics.median(memory), statistics.median(cluster_times)
                rows.append((name, workers, args.rows * args.epochs / mem,
                             args.rows * args.epochs / dsk, mem / dsk,
                             statistics.median(steps) * 1e3))
    print(f"\n{args.rows} rows, {args.epochs} full-batch Adam epochs, 8 chunks, float64")
    print(f"{'model':18s} {'workers':>7s} {'in memory rows/s':>17s} {'Dask rows/s':>12s} "
          f"{'Dask / memory':>13s} {'ms per step (1,000 rows)':>25s}")
    for name, workers, mem, dsk, ratio, step in rows:
        print(f"{name:18s} {workers:7d} {mem:17.3g} {dsk:12.3g} {ratio:13.2f} {step:25.1f}")


if __name__ == "__main__":
    main()
