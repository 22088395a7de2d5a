"""One epoch of a 784-256-128-10 MLP on 60,000 x 784 float32 (synthetic, seeded), batch 128.

Three sides, each in a fresh process per repetition (so peak memory is measured too),
alternating A B C A B C ...:
  dlprimer  dp.fit(FeedForward, optimizer=SGD or Adam, epochs=1, batch_size=128)
  pytorch   nn.Sequential + torch.optim, the same shuffled batches
  numpy     a hand-written numpy forward/backward/update: the floor for any numpy library

Prints median seconds per epoch, achieved GFLOP/s, peak RSS, and the ratios. dlprimer's
epoch is its training loop (from the ``on_train_begin`` callback to ``on_train_end``), with
``standardize=False`` as the data are already standard normal and PyTorch's side does no
preparation either; the whole ``dp.fit`` call (argument checks and preparation of the rows
too) is printed beside it.

    .venv/bin/python benchmarks/bench_mlp_epoch.py [--threads 2] [--repeats 3]

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment (and so
from its children's) before numpy loads OpenBLAS, and the values found are printed;
nothing outside this process changes.
"""

from __future__ import annotations

import os

# Before numpy is imported: OpenBLAS reads these once, when it is loaded.
_OPENBLAS_VARS = {name: os.environ.pop(name, None)
                  for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

N, SIZES, BATCH = 60_000, [784, 256, 128, 10], 128
FLOPS = 6 * N * sum(m * n for m, n in zip(SIZES[:-1], SIZES[1:], strict=True))


def make_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=N)
    return X, y


def run_dlprimer(optimizer: str) -> tuple[float, float]:
    """(seconds of the training loop, seconds of the whole dp.fit call)."""
    import dlprimer as dp

    X, y = make_data()
    net = dp.FeedForward(SIZES, activation="relu", output="softmax", seed=0)
    opt = dp.optim.SGD(lr=0.01, momentum=0.9) if optimizer == "sgd" else dp.optim.Adam(1e-3)
    stamps = {}

    class Clock(dp.training.callbacks.Callback):
        def on_train_begin(self, model):
            stamps["begin"] = time.perf_counter()

        def on_train_end(self, model):
            stamps["end"] = time.perf_counter()

    start = time.perf_counter()
    dp.fit(net, X, y, optimizer=opt, epochs=1, batch_size=BATCH, progress=False,
           standardize=False, callbacks=[Clock()])
    return stamps["end"] - stamps["begin"], time.perf_counter() - start


def run_pytorch(optimizer: str) -> float:
    import torch

    X, y = make_data()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    opt = (torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(net.parameters(), lr=1e-3))
    loss_fn = torch.nn.CrossEntropyLoss()
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    order = np.random.default_rng(0).permutation(N)
    for s in range(0, N, BATCH):
        idx = torch.from_numpy(order[s:s + BATCH])
        opt.zero_grad(set_to_none=True)
        loss_fn(net(tX[idx]), ty[idx]).backward()
        opt.step()
    return time.perf_counter() - start


def run_numpy(optimizer: str) -> float:
    """Hand-written forward, backward and update: what any numpy library can at best do."""
    X, y = make_data()
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((n, m)) * np.sqrt(2 / m)).astype(np.float32)
          for m, n in zip(SIZES[:-1], SIZES[1:], strict=True)]
    bs = [np.zeros(n, np.float32) for n in SIZES[1:]]
    params = Ws + bs
    state = [[np.zeros_like(p), np.zeros_like(p), np.empty_like(p)] for p in params]
    start = time.perf_counter()
    order = np.random.default_rng(0).permutation(N)
    t = 0
    for s in range(0, N, BATCH):
        idx = order[s:s + BATCH]
        a0, yb = X[idx], y[idx]
        z1 = a0 @ Ws[0].T + bs[0]
        a1 = np.maximum(z1, 0)
        z2 = a1 @ Ws[1].T + bs[1]
        a2 = np.maximum(z2, 0)
        z3 = a2 @ Ws[2].T + bs[2]
        e = np.exp(z3 - z3.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1
        g3 = p / len(yb)
        g2 = (g3 @ Ws[2]) * (z2 > 0)
        g1 = (g2 @ Ws[1]) * (z1 > 0)
        grads = [g1.T @ a0, g2.T @ a1, g3.T @ a2, g1.sum(0), g2.sum(0), g3.sum(0)]
        t += 1
        for p_, g, (m, v, tmp) in zip(params, grads, state, strict=True):
            if optimizer == "sgd":  # in place, as tightly as numpy allows
                m *= 0.9
                m += g
                np.multiply(m, 0.01, out=tmp)
                p_ -= tmp
            else:  # m, v kept scaled by 1/(1-β): 10 passes, as few as numpy allows
                m *= 0.9
                m += g
                v *= 0.999
                np.multiply(g, g, out=tmp)
                v += tmp
                c1, c2 = 0.1 / (1 - 0.9**t), np.sqrt(0.001 / (1 - 0.999**t))
                np.sqrt(v, out=tmp)
                tmp += 1e-8 / c2
                np.divide(m, tmp, out=tmp)
                tmp *= 1e-3 * c1 / c2
                p_ -= tmp
    return time.perf_counter() - start


def gemm_peak(threads: int) -> float:
    """The machine's float32 matrix-product speed in GFLOP/s (numpy's BLAS, best of 5)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def child(side: str, optimizer: str, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    if side == "pytorch":
        import torch

        torch.set_num_threads(threads)
    seconds = {"dlprimer": run_dlprimer, "pytorch": run_pytorch, "numpy": run_numpy}[side](
        optimizer)
    seconds, whole = seconds if isinstance(seconds, tuple) else (seconds, seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux
    print(json.dumps({"seconds": seconds, "whole": whole, "rss_mib": rss}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--optimizers", default="sgd,adam")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "OPTIMIZER"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.threads)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import report_environment
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)  # so the report shows the thread count the children use
    for name, value in _OPENBLAS_VARS.items():
        print(f"{name}: {'unset' if value is None else f'was {value!r}, unset here'}")
    report_environment(args.threads)
    print(f"float32 GEMM peak (2048², numpy BLAS): {gemm_peak(args.threads):.0f} GFLOP/s")
    sides = ["dlprimer", "pytorch", "numpy"]
    for optimizer in args.optimizers.split(","):
        results: dict[str, list[dict]] = {s: [] for s in sides}
        for _ in range(args.repeats):
            for side in sides:
                out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads),
                                      "--child", side, optimizer], capture_output=True,
                                     text=True, check=True)
                results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {s: statistics.median(r["seconds"] for r in results[s]) for s in sides}
        rss = {s: statistics.median(r["rss_mib"] for r in results[s]) for s in sides}
        print(f"\nMLP epoch, {optimizer}, {args.threads} thread(s), {args.repeats} repeats")
        for s in sides:
            print(f"  {s:9s} {med[s]:6.2f} s  {FLOPS / med[s] / 1e9:6.1f} GFLOP/s  "
                  f"peak RSS {rss[s]:6.0f} MiB")
        whole = statistics.median(r["whole"] for r in results["dlprimer"])
        print(f"  dlprimer's whole dp.fit call (checks, preparing the rows): {whole:6.2f} s, "
              f"{whole / med['pytorch']:.2f}x pytorch's loop")
        print(f"  ratio dlprimer/pytorch {med['dlprimer'] / med['pytorch']:.2f}   "
              f"dlprimer/numpy {med['dlprimer'] / med['numpy']:.2f}   "
              f"RSS dlprimer/pytorch {rss['dlprimer'] / rss['pytorch']:.2f}")


if __name__ == "__main__":
    main()
