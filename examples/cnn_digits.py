"""A small CNN (primer Sec. 10) on scikit-learn's 8×8 handwritten digits, trained, saved
and loaded like any dlprimer model.

conv(1→8, 3×3, pad 1) → ReLU → max-pool 2 → conv(8→16, 3×3, pad 1) → ReLU → max-pool 2
→ Flatten → Dense(64 → 10); ``dp.fit`` trains it with Adam on cross-entropy (the softmax
of eq. (4) fused into the loss), and ``predict`` applies rule (6).

    python examples/cnn_digits.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import dlprimer as dp
from dlprimer import nn


def digits_cnn(seed=0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),   # (n, 8, 4, 4)
        nn.Conv2d(8, 16, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),  # (n, 16, 2, 2)
        nn.Flatten(), nn.Dense(16 * 2 * 2, 10, seed=rng),                      # (n, 10) logits
    )


def load(seed=0):
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), pixels in [0, 1]
    return train_test_split(X, digits.target, test_size=0.2, random_state=seed,
                            stratify=digits.target)


def main(epochs=25):
    X_train, X_test, y_train, y_test = load()
    model = digits_cnn(seed=0)
    start = time.perf_counter()
    history = dp.fit(model, X_train, y_train, optimizer=dp.optim.Adam(lr=3e-3), epochs=epochs,
                     batch_size=32, progress=False)
    accuracy = float((model.predict(X_test) == y_test).mean())
    path = dp.save(model, Path(tempfile.mkdtemp()) / "digits_cnn.safetensors")
    same = np.array_equal(dp.load(path).predict(X_test), model.predict(X_test))
    print(f"{epochs} epochs in {time.perf_counter() - start:.1f} s, last epoch loss "
          f"{history.loss[-1]:.4f}, test accuracy {accuracy:.4f}; saved to {path} and "
          f"loaded back {'predicting the same' if same else 'PREDICTING DIFFERENTLY'}")
    return accuracy


if __name__ == "__main__":
    main()
