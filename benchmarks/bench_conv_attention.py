"""Speed of conv2d and self-attention (forward + backward) against PyTorch on the CPU.

    python benchmarks/bench_conv_attention.py [--repeats 15]

Both libraries run the same float32 problems in the same process, interleaved (one
dlprimer run, then one torch run, repeated) after a warm-up, so machine noise hits both
alike. Prints the median times and the ratio dlprimer / torch (lower is better; 1.0 =
parity). torch uses 2 threads; numpy uses its BLAS's threads, shown below. Backward
starts from a fixed dense random gradient, as inside a network (a ``.sum()`` would hand
both engines a broadcast gradient, which is not what they see in training).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

import dlprimer as dp
from dlprimer.nn import functional as F

torch.set_num_threads(2)


def conv_case(n, c_in, size, c_out, k, rng):
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    W = (rng.standard_normal((c_out, c_in, k, k)) * 0.1).astype(np.float32)
    b = np.zeros(c_out, np.float32)
    g = rng.standard_normal((n, c_out, size - k + 1, size - k + 1)).astype(np.float32)
    g_t = torch.tensor(g)

    def ours():
        xs = [dp.Tensor(a, requires_grad=True) for a in (x, W, b)]
        F.conv2d(*xs).backward(g)

    def theirs():
        xs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
        torch.nn.functional.conv2d(*xs).backward(g_t)

    return ours, theirs


def attention_case(n, T, d, rng):
    q, k, v, g = (rng.standard_normal((n, T, d)).astype(np.float32) for _ in range(4))
    g_t = torch.tensor(g)

    def ours():
        xs = [dp.Tensor(a, requires_grad=True) for a in (q, k, v)]
        out, _ = F.dot_product_attention(*xs)
        out.backward(g)

    def theirs():
        xs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        # the same math as ours, written out (weights materialized, softmax over keys)
        scores = xs[0] @ xs[1].transpose(-1, -2) / d**0.5  # (n, T, T)
        (scores.softmax(-1) @ xs[2]).backward(g_t)

    def theirs_fused():
        xs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        torch.nn.functional.scaled_dot_product_attention(*xs).backward(g_t)

    return ours, theirs, theirs_fused


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name, ours, *theirs, repeats=15, warmup=3):
    for _ in range(warmup):
        ours()
        for fn in theirs:
            fn()
    times = [[] for _ in range(1 + len(theirs))]
    for _ in range(repeats):  # interleaved
        for slot, fn in enumerate((ours, *theirs)):
            times[slot].append(timed(fn))
    medians = [statistics.median(t) * 1e3 for t in times]
    ratios = "  ".join(f"ratio {medians[0] / m:5.2f}" for m in medians[1:])
    torch_ms = " / ".join(f"{m:7.2f}" for m in medians[1:])
    print(f"{name:44s} dlprimer {medians[0]:8.2f} ms  torch {torch_ms} ms  {ratios}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for torch and for numpy's BLAS (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          "threads)")
    for pool in threadpool_info():
        print(f"  {pool['user_api']}: {pool['internal_api']} {pool.get('version')} "
              f"({pool['num_threads']} threads) {pool['filepath']}")
    print("forward + backward, float32, median of interleaved runs:")
    compare("conv2d (64,1,28,28) -> 32 ch 3x3",
            *conv_case(64, 1, 28, 32, 3, rng), repeats=args.repeats)
    compare("conv2d (64,32,26,26) -> 64 ch 3x3",
            *conv_case(64, 32, 26, 64, 3, rng), repeats=args.repeats)
    ours, manual, fused = attention_case(32, 128, 64, rng)
    compare("self-attention n=32 T=128 d=64 (torch manual)", ours, manual, repeats=args.repeats)
    compare("self-attention n=32 T=128 d=64 (torch SDPA)", ours, fused, repeats=args.repeats)


if __name__ == "__main__":
    main()
