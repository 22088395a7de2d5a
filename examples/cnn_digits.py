"""A small CNN (primer Sec. 10) on scikit-learn's 8×8 handwritten digits.

conv(1→8, 3×3, pad 1) → ReLU → max-pool 2 → conv(8→16, 3×3, pad 1) → ReLU → max-pool 2
→ Flatten → Dense(64 → 10) → softmax, trained with Adam on cross-entropy.

    python examples/cnn_digits.py
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import dlprimer as dp
from dlprimer import nn


def cross_entropy(logits, y):
    """Mean of -log ŷ_{y_i}, ŷ = softmax(logits), computed by log-softmax (stable)."""
    return -logits.log_softmax(axis=-1)[np.arange(len(y)), y].mean()


def train(model, X, y, epochs, batch_size=32, alpha=3e-3, seed=0):
    """Minibatch Adam (Kingma & Ba, 2015), written out: moments m, v with bias correction."""
    rng = np.random.default_rng(seed)
    params = model.parameters()
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    beta1, beta2, t = 0.9, 0.999, 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss = cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            t += 1
            with dp.no_grad():
                for p, m_p, v_p in zip(params, m, v, strict=True):
                    m_p[...] = beta1 * m_p + (1 - beta1) * p.grad
                    v_p[...] = beta2 * v_p + (1 - beta2) * p.grad**2
                    m_hat, v_hat = m_p / (1 - beta1**t), v_p / (1 - beta2**t)
                    p.data -= alpha * m_hat / (np.sqrt(v_hat) + 1e-8)
                    p.grad = None
    return loss.item()


class DigitsCNN(nn.Module):
    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, seed=rng)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, seed=rng)
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dense = nn.Dense(16 * 2 * 2, 10, seed=rng)

    def forward(self, x):
        a = self.pool1(self.conv1(x).relu())  # (n, 8, 4, 4)
        a = self.pool2(self.conv2(a).relu())  # (n, 16, 2, 2)
        return self.dense(self.flatten(a))  # (n, 10) logits; softmax is inside the loss


def load(seed=0):
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), pixels in [0, 1]
    return train_test_split(X, digits.target, test_size=0.2, random_state=seed,
                            stratify=digits.target)


def main(epochs=25):
    X_train, X_test, y_train, y_test = load()
    model = DigitsCNN(seed=0)
    start = time.perf_counter()
    loss = train(model, X_train, y_train, epochs=epochs)
    with dp.no_grad():
        accuracy = float((model(X_test).numpy().argmax(axis=1) == y_test).mean())
    print(f"{epochs} epochs in {time.perf_counter() - start:.1f} s, last batch loss "
          f"{loss:.4f}, test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
