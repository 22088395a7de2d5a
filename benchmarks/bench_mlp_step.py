"""One training step (forward + backward) of a 784-256-128-10 MLP, batch 128, float32.

dlprimer against PyTorch CPU in the same process, timed alternately; prints the medians
and the ratio dlprimer / PyTorch (below 1 means dlprimer is faster).

    .venv/bin/python benchmarks/bench_mlp_step.py [--threads 2] [--repeats 200]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import interleaved, report_environment
from threadpoolctl import threadpool_limits

import dlprimer as dp

SIZES = [784, 256, 128, 10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    report_environment(args.threads)

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.batch, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=args.batch)
    layers = [dp.nn.Dense(m, n, init="he", seed=k) for k, (m, n) in
              enumerate(zip(SIZES[:-1], SIZES[1:], strict=True))]
    rows = np.arange(args.batch)

    def dlprimer_step() -> None:
        a = dp.Tensor(X)
        for layer in layers[:-1]:
            a = layer(a).relu()
        log_p = layers[-1](a).log_softmax()
        loss = -log_p[rows, y].mean()  # cross-entropy of the true class
        for layer in layers:
            layer.zero_grad()
        loss.backward()

    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    with torch.no_grad():  # same weights on both sides
        for layer, theirs in zip(layers, [net[0], net[2], net[4]], strict=True):
            theirs.weight.copy_(torch.from_numpy(layer.W.data))
            theirs.bias.copy_(torch.from_numpy(layer.b.data))
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def torch_step() -> None:
        net.zero_grad(set_to_none=True)
        loss_fn(net(tX), ty).backward()

    medians = interleaved({"dlprimer": dlprimer_step, "pytorch": torch_step}, args.repeats)
    flops = 6 * args.batch * sum(m * n for m, n in zip(SIZES[:-1], SIZES[1:], strict=True))
    for name, seconds in medians.items():
        print(f"{name:9s} {seconds * 1e3:8.3f} ms/step  {flops / seconds / 1e9:6.1f} GFLOP/s")
    print(f"ratio dlprimer/pytorch: {medians['dlprimer'] / medians['pytorch']:.2f}")


if __name__ == "__main__":
    main()
