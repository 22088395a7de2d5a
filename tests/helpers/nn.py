"""Helpers shared by the tests of the Sec. 10 layers: gradcheck on a layer's inputs and
parameters, PyTorch conversion, and a tiny inline Adam training loop (no dp.fit needed)."""

from __future__ import annotations

import numpy as np

import dlprimer as dp


def _set(module, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    for part in path:
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    setattr(module, last, value)


def layer_gradcheck(layer, *inputs, reduce=None, call=None) -> bool:
    """dp.gradcheck of ``layer`` (float64) with respect to every input and parameter.

    ``reduce`` maps the layer's output to one Tensor (e.g. pick the output of a pair);
    ``call(layer, *inputs)`` replaces ``layer(*inputs)`` when the inputs need arranging.
    """
    names = [name for name, _ in layer.named_parameters()]
    originals = layer.parameters()

    def run(*args):
        xs, params = args[:len(inputs)], args[len(inputs):]
        for name, p in zip(names, params, strict=True):
            _set(layer, name, p)
        out = call(layer, *xs) if call is not None else layer(*xs)
        return reduce(out) if reduce is not None else out

    leaves = [dp.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True) for x in inputs]
    leaves += [dp.Tensor(p.data.astype(np.float64), requires_grad=True) for p in originals]
    try:
        return dp.gradcheck(run, leaves)
    finally:
        for name, p in zip(names, originals, strict=True):
            _set(layer, name, p)


def cross_entropy(logits: dp.Tensor, y: np.ndarray) -> dp.Tensor:
    """Mean of -log ŷ_{y_i} with ŷ = softmax(logits), by log-softmax (stable)."""
    log_p = logits.log_softmax(axis=-1)
    return -log_p[np.arange(len(y)), y].mean()


class Adam:
    """Adam written inline (dp.optim may not exist yet): m, v moment estimates, bias-corrected."""

    def __init__(self, params, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = list(params), lr, beta1, beta2, eps
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        with dp.no_grad():
            for p, m, v in zip(self.params, self.m, self.v, strict=True):
                if p.grad is None:
                    continue
                m *= self.b1
                m += (1 - self.b1) * p.grad
                v *= self.b2
                v += (1 - self.b2) * p.grad**2
                m_hat = m / (1 - self.b1**self.t)
                v_hat = v / (1 - self.b2**self.t)
                p.data -= (self.lr * m_hat / (np.sqrt(v_hat) + self.eps)).astype(p.dtype)
                p.grad = None


def train(params, loss_fn, X, y, epochs, batch_size, lr, seed=0) -> float:
    """Minibatch Adam on loss_fn(X_batch, y_batch); returns the last epoch's mean loss."""
    rng = np.random.default_rng(seed)
    opt = Adam(params, lr=lr)
    last = np.nan
    for _ in range(epochs):
        order = rng.permutation(len(X))
        losses = []
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(X[batch], y[batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        last = float(np.mean(losses))
    return last
