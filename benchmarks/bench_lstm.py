"""LSTM forward + backward against PyTorch on the CPU, one thread, in one process.

    .venv/bin/python benchmarks/bench_lstm.py [--threads 1] [--repeats 30]

dp.nn.LSTM(16, 64) against torch.nn.LSTM(16, 64, batch_first=True) on the same float32
batch X (32, 50, 16): the output sequence's sum, then backward (so the gradient reaching
both scans is all ones). Timed interleaved, A B A B ..., after a warm-up, in this one
process (``_common.interleaved``); prints the medians and the ratio dlprimer / torch
(below 1: dlprimer is faster). The thread count is set for torch and, through
threadpoolctl, for numpy's BLAS.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment before
numpy loads OpenBLAS, and the values found are printed; nothing outside this process changes.
"""

from __future__ import annotations

import os

# Before numpy is imported: OpenBLAS reads these once, when it is loaded.
_OPENBLAS_VARS = {name: os.environ.pop(name, None)
                  for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import dlprimer as dp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, load_every_blas, report_environment  # noqa: E402

N, T, I, H = 32, 50, 16, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    loops = load_every_blas()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads, user_api="blas")
    for name, value in _OPENBLAS_VARS.items():
        print(f"{name}: {'unset' if value is None else f'was {value!r}, unset here'}")
    report_environment(args.threads)
    print(f"dlprimer: {loops}")
    X = np.random.default_rng(0).standard_normal((N, T, I)).astype(np.float32)
    ours_layer = dp.nn.LSTM(I, H, seed=0)
    theirs_layer = torch.nn.LSTM(I, H, batch_first=True)

    def ours():
        ours_layer.zero_grad()
        ours_layer(dp.Tensor(X, requires_grad=True))[0].sum().backward()

    def theirs():
        theirs_layer.zero_grad()
        theirs_layer(torch.tensor(X, requires_grad=True))[0].sum().backward()

    med = interleaved({"dlprimer": ours, "torch": theirs}, args.repeats, warmup=5)
    print(f"LSTM ({N}, {T}, {I} -> {H}) forward + backward of the sum, "
          f"{args.threads} thread(s), median of {args.repeats}:")
    print(f"  dlprimer {med['dlprimer'] * 1e3:7.2f} ms   torch {med['torch'] * 1e3:7.2f} ms"
          f"   ratio {med['dlprimer'] / med['torch']:.2f}")


if __name__ == "__main__":
    main()
