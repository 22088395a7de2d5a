"""The ``dlprimer`` command.

For now one sub-command, ``fit``: a short demonstration that trains a two-layer network
(Model III, eqs. (7)-(8)) on the bundled breast-cancer data by full-batch gradient
descent, eq. (31), and reports held-out accuracy.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import dlprimer as dp


def _demo_fit(epochs: int, lr: float, seed: int) -> float:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    test, train = order[: len(y) // 4], order[len(y) // 4:]
    X = dp.notation.standardize(X).astype(np.float32)  # eq. (13)
    hidden, output = dp.nn.Dense(30, 16, seed=rng), dp.nn.Dense(16, 1, seed=rng)
    params = hidden.parameters() + output.parameters()
    y_train = y[train].astype(np.float32)[:, None]
    for epoch in range(1, epochs + 1):
        a1 = hidden(X[train]).relu()
        y_hat = output(a1).sigmoid().clip(1e-7, 1 - 1e-7)
        loss = -(y_train * y_hat.log() + (1 - y_train) * (1 - y_hat).log()).mean()
        for p in params:
            p.zero_grad()
        loss.backward()
        with dp.no_grad():
            for p in params:
                p.data -= lr * p.grad  # θ ← θ - α ∇C(θ), eq. (31)
        if epoch % max(1, epochs // 10) == 0 or epoch == 1:
            print(f"epoch {epoch:4d}  cross-entropy {loss.item():.4f}")
    with dp.no_grad():
        p_test = output(hidden(X[test]).relu()).sigmoid().data[:, 0]
    return float(np.mean((p_test > 0.5) == y[test]))  # decision rule (3), τ = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlprimer", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="train Model III on the bundled breast-cancer data")
    fit.add_argument("--epochs", type=int, default=200, help="gradient descent steps (200)")
    fit.add_argument("--lr", type=float, default=0.5, help="learning rate α (0.5)")
    fit.add_argument("--seed", type=int, default=0, help="seed for split and weights (0)")
    args = parser.parse_args(argv)
    accuracy = _demo_fit(args.epochs, args.lr, args.seed)
    print(f"held-out accuracy: {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
