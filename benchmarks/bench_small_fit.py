"""The main job's training, timed: Model III on breast_cancer, as ``dlprimer fit`` runs it.

    .venv/bin/python benchmarks/bench_small_fit.py [--threads 2] [--repeats 7] [--epochs 100]

A small tabular model, where per-step overhead (not matrix products) sets the speed: a
[30, 16, 8, 1] ReLU network with a sigmoid output on the 569 standardized rows of
breast_cancer, Adam (α = 1e-3), mini-batches of 32 (18 steps an epoch), a fixed number of
epochs (no early stopping, no validation split). Peers, in the same process, the sides
taking turns after a warm-up: scikit-learn's ``MLPClassifier`` with the same settings
(``alpha=0``, ``tol=0``, so it runs every epoch) and a PyTorch loop (``nn.Sequential``,
``BCEWithLogitsLoss``, ``optim.Adam``). Prints medians of whole fits and the ratios
dlprimer / peer.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved, report_environment  # noqa: E402

HIDDEN, BATCH, LR = (16, 8), 32, 1e-3


def data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    return X, y


def dlprimer_fit(X, y, epochs):
    import dlprimer as dp

    def run():
        net = dp.FeedForward([X.shape[1], *HIDDEN, 1], activation="relu", output="sigmoid",
                             seed=0)
        dp.fit(net, X, y, optimizer=dp.optim.Adam(LR), epochs=epochs, batch_size=BATCH,
               progress=False)

    return run


def sklearn_fit(X, y, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run():
        model = MLPClassifier(HIDDEN, activation="relu", solver="adam", alpha=0.0,
                              batch_size=BATCH, learning_rate_init=LR, max_iter=epochs, tol=0.0,
                              n_iter_no_change=epochs + 1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # it ran every epoch
            model.fit(X, y)

    return run


def torch_fit(X, y, epochs):
    import torch

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))[:, None]

    def run():
        torch.manual_seed(0)
        sizes = [X.shape[1], *HIDDEN]
        layers = []
        for m, n in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [torch.nn.Linear(m, n), torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 1))
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        rng = np.random.default_rng(0)
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(len(X)))
            for start in range(0, len(X), BATCH):
                idx = order[start:start + BATCH]
                opt.zero_grad(set_to_none=True)
                loss_fn(net(X_t[idx]), y_t[idx]).backward()
                opt.step()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    report_environment(args.threads)
    X, y = data()
    runs = {name: make(X, y, args.epochs) for name, make in
            (("dlprimer", dlprimer_fit), ("sklearn", sklearn_fit), ("pytorch", torch_fit))}
    seconds = interleaved(runs, args.repeats, warmup=1)
    steps = args.epochs * -(-len(X) // BATCH)
    print(f"\nModel III [30, 16, 8, 1] on breast_cancer ({len(X)} rows), Adam, batch {BATCH}, "
          f"{args.epochs} epochs ({steps} steps), {args.threads} thread(s), "
          f"median of {args.repeats}")
    for name, s in seconds.items():
        print(f"  {name:9s} {s:6.3f} s   {s / steps * 1e6:6.1f} µs/step")
    print("  ratio " + "   ".join(f"dlprimer/{name} {seconds['dlprimer'] / s:.2f}"
                                  for name, s in seconds.items() if name != "dlprimer"))


if __name__ == "__main__":
    main()
