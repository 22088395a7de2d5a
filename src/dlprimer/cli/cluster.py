"""``dlprimer fit`` on a Dask cluster: ``--workers N`` starts N local worker processes,
``--scheduler tcp://host:8786`` joins a running cluster, and ``--data 'parts/*.csv'`` (a glob,
or a Parquet path) reads the parts where the workers are.

The rows never come to this process: the Preprocessor's roles are found on the first part
(a sample), each part is encoded where it is read, and ``dp.fit`` runs its exact full-batch
path (or local SGD for mini-batches) over the parts. Only the held-out rows' predictions
come back, to be scored.
"""

from __future__ import annotations

import contextlib
import glob
import time

import numpy as np

import dlprimer.optim as optim
from dlprimer.cli.commands import build_model, describe, diagnostics
from dlprimer.cli.data import UsageError
from dlprimer.cli.scores import format_scores, scores
from dlprimer.data.preprocess import Preprocessor
from dlprimer.data.tables import infer_task
from dlprimer.io import save
from dlprimer.training import fit

__all__ = ["cmd_fit_cluster", "wants_cluster"]


def wants_cluster(args) -> bool:
    """Whether the command line asks for Dask: workers, a scheduler, or a glob of parts."""
    return bool(args.workers or args.scheduler or glob.has_magic(args.data))


def _frame(spec: str):
    """The parts as one Dask DataFrame (CSV parts by a glob, or Parquet)."""
    import dask.dataframe as dd

    if spec.lower().endswith((".parquet", ".pq")) or spec.rstrip("/").endswith("parquet"):
        return dd.read_parquet(spec)
    if glob.has_magic(spec) and not glob.glob(spec):
        raise UsageError(f"--data {spec!r} matches no file")
    return dd.read_csv(spec, assume_missing=True, blocksize="64MB")


@contextlib.contextmanager
def _client(args):
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=args.workers or 2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as cluster, \
            Client(cluster) as client:
        yield client


def cmd_fit_cluster(args) -> int:
    """``dlprimer fit`` with ``--workers`` / ``--scheduler`` / a glob (see the module)."""
    if args.summary:
        raise UsageError("--summary needs the fit rows in memory; fit without --workers")
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("--workers, --scheduler and globs need Dask: pip install "
                         "'dlprimer[dask]'") from None
    start = time.perf_counter()
    with _client(args) as client:
        frame = _frame(args.data)
        columns = [str(c) for c in frame.columns]
        target = args.target or columns[-1]
        if target not in columns:
            raise UsageError(f"{args.data} has no column {target!r}; its columns: {columns}")
        frame = frame[~frame[target].isna()]
        sample = frame.partitions[0].compute()
        if len(sample) == 0:
            raise UsageError(f"the first part of {args.data} has no rows with a target")
        drop = [c.strip() for c in (args.drop or "").split(",") if c.strip()]
        features = [c.strip() for c in (args.features or "").split(",") if c.strip()] or None
        pre = Preprocessor(drop=drop, id=args.id, features=features, standardize=False,
                           drop_first=args.model in ("sigmoid", "softmax"))
        try:
            pre.fit(sample.drop(columns=[target]))
        except ValueError as err:
            raise UsageError(str(err)) from None
        task = args.task or infer_task(sample[target].to_numpy())
        train, test = (frame.random_split([1 - args.test_size, args.test_size],
                                          random_state=args.seed)
                       if args.test_size else (frame, None))
        X, y = train.drop(columns=[target]), train[target]
        classes = None
        if task != "regression":
            classes = np.sort(y.astype(str).unique().compute().to_numpy()) if \
                y.dtype.kind not in "biuf" else np.sort(y.unique().compute().to_numpy())
            y = y.astype(str) if y.dtype.kind not in "biuf" else y
        K = len(classes) if classes is not None else 1
        model = build_model(args.model, task, pre.n_features_out_, K, args.hidden,
                            args.activation, args.seed)
        optimizer = _optimizer(args)
        workers = len(client.scheduler_info().get("workers", {}))
        print("dlprimer fit (Dask)")
        print(f"  data         {args.data} ({frame.npartitions} parts, {task}"
              + (f", classes {list(map(str, classes))}" if classes is not None else "") + ")")
        print(f"  cluster      {workers} workers at {client.scheduler.address}")
        print(f"  model        {describe(model)}")
        print(f"  optimizer    {optimizer!r}, "
              + ("full batch, exact" if _full(args) else
                 f"local SGD, batches of {args.batch_size}"))
        print("columns (roles from the first part):")
        print("  " + pre.describe().replace("\n", "\n  "))
        history = fit(model, X, y, optimizer=optimizer, epochs=args.epochs,
                      batch_size=None if _full(args) else args.batch_size, seed=args.seed,
                      progress=not args.quiet, l2=args.l2, classes=classes,
                      early_stopping=args.early_stopping or None, preprocessor=pre)
        model.provenance = {"source": args.data, "target": target, "task": task,
                            "seed": args.seed, "test_size": args.test_size,
                            "parts": frame.npartitions, "chunks": history.chunks,
                            "workers": history.workers}
        path = save(model, args.out)
        print(f"trained in {time.perf_counter() - start:.1f} s, {history.epochs} epochs on "
              f"{history.chunks} chunks by {history.workers} workers; stopped: "
              f"{history.stop_reason}")
        print(f"final loss {history.loss[-1]:.4g}")
        if test is not None:
            held_out = _held_out(model, test, target)
            if held_out is not None:
                outputs, truth = held_out
                print(f"held-out test set ({len(truth)} rows): "
                      + format_scores(scores(model, None, truth, outputs)))
        for sentence in diagnostics(history):
            print(f"  - {sentence}")
        print(f"saved the model to {path}")
    return 0


def _full(args) -> bool:
    return args.optimizer == "lbfgs" or not args.batch_size


def _optimizer(args):
    if args.optimizer == "lbfgs":
        return optim.by_name("lbfgs", None)
    return optim.by_name(args.optimizer, args.lr)


def _held_out(model, test, target):
    """(outputs of predict_proba, targets) of the held-out rows, computed where they are:
    only these numbers come back, not the rows."""
    import pandas as pd

    def outputs(part):
        if len(part) == 0:
            return pd.DataFrame({"out": pd.Series([], dtype=object),
                                 "y": pd.Series([], dtype=object)})
        out = model.predict_proba(part.drop(columns=[target]))
        return pd.DataFrame({"out": list(out), "y": part[target].to_numpy()},
                            index=part.index)

    done = test.map_partitions(outputs, meta={"out": object, "y": object}).compute()
    if len(done) == 0:
        return None
    out = np.array(done["out"].tolist())
    truth = done["y"].to_numpy()
    if model.output == "identity":
        return out.astype(float), truth.astype(float)
    return out, (truth.astype(str) if np.asarray(model.classes_).dtype.kind in "OUS"
                 else truth)
