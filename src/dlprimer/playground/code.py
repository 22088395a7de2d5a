"""The code that reproduces a playground run: the ``dp.fit`` call in Python and the
``dlprimer fit`` command. Both train on the same rows, hold out the same validation rows,
build the same model from the same seed and take the same number of epochs, so they end
at the same θ as the page.
"""

from __future__ import annotations

import shlex

__all__ = ["command", "python_code"]

_OPTIMIZERS = {"gd": "GradientDescent", "sgd": "SGD", "adam": "Adam", "lbfgs": "LBFGS"}


def _data_lines(data) -> tuple[list[str], list[str]]:
    """(imports, the lines that make X and y)."""
    spec = data.spec
    if data.kind == "toy":
        args = ", ".join([repr(spec["toy"]), f"n={spec['n']}", f"noise={spec['noise']}"]
                         + ([f"classes={spec['classes']}"] if "classes" in spec else [])
                         + [f"seed={spec['seed']}"])
        return (["from dlprimer.playground.data import toy"],
                [f"X, y = toy({args})  # TF Playground's {spec['toy']!r}, seeded"])
    if data.kind == "bundled":
        lines = [f"ds = dp.datasets.load({spec['dataset']!r})",
                 "X = pd.DataFrame(ds.X, columns=ds.feature_names)"]
        if data.task == "regression":
            return ["import pandas as pd"], lines + ["y = ds.y"]
        return ["import pandas as pd"], lines + [
            "y = np.asarray(ds.class_names)[ds.y]  # the class names as labels"]
    return [], [f"table = dp.data.read_csv({spec['csv']!r}, target={data.target!r})",
                "X, y = table.X, table.y"]


def _model_line(settings, task: str, K: int) -> str:
    seed = settings.seed
    if settings.model == "I":
        return f"model = dp.SigmoidModel(pre.n_features_out_, seed={seed})  # Model I"
    if settings.model == "II":
        return f"model = dp.SoftmaxModel(pre.n_features_out_, {K}, seed={seed})  # Model II"
    sizes = settings.sizes(task, 0, K)[1:]
    output = {"regression": "identity", "binary": "sigmoid"}.get(task, "softmax")
    return (f"model = dp.FeedForward([pre.n_features_out_, {', '.join(map(str, sizes))}], "
            f"activation={settings.activation!r}, output={output!r}, seed={seed})  # Model III")


def _optimizer(settings) -> str:
    name = _OPTIMIZERS[settings.optimizer]
    return f"dp.optim.{name}()" if settings.lr is None else f"dp.optim.{name}(lr={settings.lr!r})"


def python_code(data, settings, epochs: int, K: int) -> str:
    """A script that trains the page's model to its epoch with ``dp.fit``."""
    epochs = max(int(epochs), 1)
    val = settings.validation
    imports, make_data = _data_lines(data)
    third_party = ["import numpy as np"] + [i for i in imports if i.startswith("import ")]
    ours = ["import dlprimer as dp"] + [i for i in imports if i.startswith("from ")]
    lines = ['"""The dlprimer playground run, reproduced with dp.fit."""', "",
             *sorted(third_party), "", *ours, "", *make_data, ""]
    if val > 0:
        stratified = data.task != "regression"
        lines += ["# the validation rows, held out as `dlprimer fit --test-size 0",
                  f"# --validation-split {val}` holds them out (stratified for classes)",
                  f"fit_rows, val_rows, _, _ = dp.data.train_test_split(np.arange(len(y)), y, "
                  f"{val}, {stratified}, {settings.seed})",
                  "fit_rows, val_rows = np.sort(fit_rows), np.sort(val_rows)",
                  "X_fit, y_fit = X.iloc[fit_rows], y[fit_rows]",
                  "X_val, y_val = X.iloc[val_rows], y[val_rows]"]
    else:
        lines += ["X_fit, y_fit = X, y  # no validation rows"]
    lines += ["# raw columns → x̃: roles, imputation, one-hot, eq. (13) fit on the fit rows",
              f"pre = dp.data.Preprocessor(standardize=True, "
              f"drop_first={settings.model in ('I', 'II')}).fit(X_fit)",
              _model_line(settings, data.task, K),
              f"history = dp.fit(model, X_fit, y_fit, optimizer={_optimizer(settings)},",
              f"                 epochs={epochs}, batch_size={settings.batch_size!r}, "
              f"l2={settings.l2!r}, seed={settings.seed},",
              "                 validation_data=" + ("(X_val, y_val)" if val > 0 else "None")
              + ", preprocessor=pre)",
              "print(history.loss[-1], history.val_loss[-1:] or '')",
              "print(model.explain(X.iloc[[0]]))  # the equations for row 0, with numbers",
              'dp.save(model, "model.safetensors")', ""]
    return "\n".join(lines)


def command(data, settings, epochs: int, n_fit: int) -> str:
    """The ``dlprimer fit`` command that trains the same model on the same rows."""
    if data.kind == "toy":
        spec = [f"{data.name}.csv", "--target", data.target]  # the page's "data (CSV)"
    elif data.kind == "bundled":
        spec = [data.spec["dataset"]]
    else:
        spec = [data.spec["csv"], "--target", data.target]
    model = {"I": "sigmoid", "II": "softmax", "III": "feedforward"}[settings.model]
    args = ["dlprimer", "fit", "--data", *spec, "--model", model]
    if settings.model == "III":
        args += ["--hidden", ",".join(map(str, settings.hidden)),
                 "--activation", settings.activation]
    args += ["--optimizer", settings.optimizer]
    if settings.lr is not None:
        args += ["--lr", repr(settings.lr)]
    # a batch of at least n rows is full batch, eq. (31), as batch_size=None is in dp.fit
    args += ["--batch-size", str(settings.batch_size or max(n_fit, 1)),
             "--epochs", str(max(int(epochs), 1)), "--l2", repr(settings.l2),
             "--seed", str(settings.seed), "--validation-split", repr(settings.validation),
             "--test-size", "0", "--early-stopping", "0", "--out", "model.safetensors"]
    return shlex.join(args)
