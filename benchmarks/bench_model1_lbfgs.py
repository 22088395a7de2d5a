"""Model I (logistic regression) to scikit-learn's optimum log-loss on 200,000 x 100.

f* is the unpenalized optimum found by scikit-learn with a very tight tolerance. Each side
is timed with a sweep of tolerances; its time is that of the fastest run whose mean
log-loss (evaluated in float64) is within 1e-6 of f*. Sides: dlprimer (SigmoidModel +
dp.optim.LBFGS through dp.fit, float32 by default) and LogisticRegression(C=inf,
solver="lbfgs") in float64, both given the same float64 X. Runs alternate.

    .venv/bin/python benchmarks/bench_model1_lbfgs.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import report_environment
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import dlprimer as dp

N, P, GAP = 200_000, 100, 1e-6


def make_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P))
    w = rng.standard_normal(P) / np.sqrt(P)
    y = (rng.random(N) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(int)
    return X, y


def mean_log_loss(w, b, X, y):
    z = X @ w + b
    return float(np.mean(np.logaddexp(0, z) - y * z))


def run_sklearn(X, y, tol):
    start = time.perf_counter()
    clf = LogisticRegression(C=np.inf, solver="lbfgs", tol=tol, max_iter=10_000).fit(X, y)
    return time.perf_counter() - start, mean_log_loss(clf.coef_[0], clf.intercept_[0], X, y)


def run_dlprimer(X, y, tol):
    m = dp.SigmoidModel(P)  # the library's default: float32 parameters and data
    start = time.perf_counter()
    dp.fit(m, X, y, optimizer=dp.optim.LBFGS(tol=tol, max_iter=10_000), epochs=10_000,
           progress=False)
    seconds = time.perf_counter() - start
    return seconds, mean_log_loss(m.w.data.astype(np.float64), float(m.b0.data), X, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threadpool_limits(args.threads)
    report_environment(args.threads)
    X, y = make_data()
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(X, y)
    f_star = mean_log_loss(ref.coef_[0], ref.intercept_[0], X, y)
    print(f"f* = {f_star:.10f}")
    tolerances = [1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    best = {}
    for name, run in (("sklearn", run_sklearn), ("dlprimer", run_dlprimer)):
        for tol in tolerances:  # the loosest tolerance that reaches the optimum
            _, f = run(X, y, tol)
            if f - f_star <= GAP:
                best[name] = tol
                print(f"  {name}: tol={tol:g} reaches f* + {f - f_star:.2e}")
                break
        else:
            raise SystemExit(f"{name} never got within {GAP} of f*")
    times = {"sklearn": [], "dlprimer": []}
    for _ in range(args.repeats):
        for name, run in (("sklearn", run_sklearn), ("dlprimer", run_dlprimer)):
            times[name].append(run(X, y, best[name])[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:9s} {v:7.3f} s to within {GAP:g} of f*")
    print(f"ratio dlprimer/sklearn: {med['dlprimer'] / med['sklearn']:.2f}")


if __name__ == "__main__":
    main()
