"""The playground's JSON API as Python: one ``Playground`` holds the data, the settings and
the current run (a ``Trainer``), and answers what the server's routes ask.

    state()            epoch, loss, val_loss, accuracy or r2, the curves, the settings
    pictures()         the regions, points, neurons and weights of the model as it is now
    play() pause() step(n) reset()
    configure(changes) new settings; any but the view ("plane", "speed") start a new run
    load(spec) upload(body, name, target)   new data
    explain(row) / explain_at(u, v)         model.explain for one row, with its numbers
    export_model() export_code() export_data()

Every method checks its input and raises ValueError with a message for the page.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from dlprimer.data import datasets
from dlprimer.io import save
from dlprimer.playground.code import command, python_code
from dlprimer.playground.data import BUNDLED, TOYS, Data, bundled, from_csv, split, toy_data
from dlprimer.playground.pictures import Scene, jsonable
from dlprimer.playground.settings import ACTIVATIONS, MODELS, OPTIMIZERS, VIEW_KEYS, Settings
from dlprimer.playground.trainer import Trainer

__all__ = ["MAX_EPOCHS_PER_STEP", "Playground", "choices"]

MAX_EPOCHS_PER_STEP = 100_000
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@functools.cache
def choices() -> dict:
    """What the page offers: the toys, the bundled sets, models, activations, optimizers."""
    described = {row.name: row for row in datasets.info()}
    return {"toys": {name: {"task": task, "description": text}
                     for name, (task, text) in TOYS.items()},
            "bundled": {name: {"task": described[name].task, "n": described[name].n,
                               "p": described[name].p} for name in BUNDLED},
            "models": {key: name for key, (_, name) in MODELS.items()},
            "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS)}


class Playground:
    """The data, the settings and the run behind one page (thread-safe)."""

    def __init__(self, data: Data | None = None, settings: Settings | None = None):
        self.lock = threading.RLock()
        self.changed = threading.Condition()
        self.version = 0
        self.uploads = Path(tempfile.mkdtemp(prefix="dlprimer-playground-"))
        self.data = data if data is not None else toy_data("circle")
        self.settings = settings or Settings()
        self.notice: str | None = None
        self.trainer: Trainer | None = None
        self.choices = choices()
        self.check(self.settings)
        self.start(playing=False)

    # ------------------------------------------------------------------ runs
    def check(self, settings: Settings) -> None:
        """Refuse settings whose model cannot learn this data (before anything changes)."""
        settings.check_task(self.data.task, len(self.data.classes or ()))

    def start(self, playing: bool) -> None:
        """A new run from epoch 0: split, preprocessor, model from the seed, a Trainer."""
        with self.lock:
            if self.trainer is not None:
                self.trainer.stop()
            data, s = self.data, self.settings
            fit_rows, val_rows = split(data.y, s.validation, data.task, s.seed)
            X_fit, y_fit = data.X.iloc[fit_rows], data.y[fit_rows]
            pre = s.preprocessor().fit(X_fit)
            K = len(data.classes or ())
            model = s.build(data.task, pre.n_features_out_, K)
            self.scene = Scene(data, pre, fit_rows, val_rows, s.plane, s.seed)
            self.rows = {"fit": fit_rows, "validation": val_rows}
            self.K, self.title = K, model.explain().title
            self.sizes = s.sizes(data.task, pre.n_features_out_, K)
            self.d = model.num_parameters()
            validation = (data.X.iloc[val_rows], data.y[val_rows]) if len(val_rows) else None
            fit_args = {"X": X_fit, "y": y_fit, "optimizer": s.make_optimizer(),
                        "batch_size": s.batch_size, "validation_data": validation,
                        "seed": s.seed, "l2": s.l2, "preprocessor": pre}
            self.trainer = Trainer(model, fit_args, self.draw, self.touch, s.speed, playing)
        self.touch()

    def draw(self, model) -> dict:
        return self.scene.draw(model)

    def touch(self) -> None:
        """Tell whoever waits (the event streams) that something changed."""
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait(self, version: int, timeout: float) -> int:
        """Block until the version passes ``version`` (or ``timeout``); the version now."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != version, timeout)
            return self.version

    def close(self) -> None:
        with self.lock:
            if self.trainer is not None:
                self.trainer.stop()
        shutil.rmtree(self.uploads, ignore_errors=True)

    # ------------------------------------------------------------------ buttons
    def play(self) -> dict:
        self.trainer.play()
        return self.state()

    def pause(self) -> dict:
        self.trainer.pause()
        return self.state()

    def step(self, epochs=1) -> dict:
        if isinstance(epochs, str) and epochs.isdigit():
            epochs = int(epochs)
        if isinstance(epochs, bool) or not isinstance(epochs, int) \
                or not 1 <= epochs <= MAX_EPOCHS_PER_STEP:
            raise ValueError(f"epochs must be an integer in [1, {MAX_EPOCHS_PER_STEP}], got "
                             f"{epochs!r}")
        self.trainer.step(epochs)
        return self.state()

    def reset(self) -> dict:
        self.start(playing=False)
        return self.state()

    def configure(self, changes: dict) -> dict:
        """Apply settings: the view ones at once, the others by starting a new run (which
        keeps playing if this one was)."""
        with self.lock:
            new = self.settings.updated(changes)
            trains = [k for k in changes if k not in VIEW_KEYS
                      and getattr(new, k) != getattr(self.settings, k)]
            if trains:
                self.check(new)
                playing = self.trainer.playing
                self.settings, self.notice = new, None
                self.start(playing)
                return self.state()
            if new.plane != self.settings.plane:
                scene = self.scene
                self.scene = Scene(self.data, scene.pre, self.rows["fit"],
                                   self.rows["validation"], new.plane, new.seed)
            self.settings = new
            self.trainer.set_speed(new.speed)
        self.trainer.call(self.trainer.picture)
        self.touch()
        return self.state()

    # ------------------------------------------------------------------ data
    def load(self, spec: dict) -> dict:
        """New data: {"toy": name, "n", "noise", "classes", "seed"}, {"dataset": name}, or
        {"target": column} to read the current CSV again with another target."""
        if not isinstance(spec, dict):
            raise ValueError("the data must be a JSON object such as {\"toy\": \"spiral\"} or "
                             "{\"dataset\": \"iris\"}")
        if "toy" in spec:
            extra = sorted(set(spec) - {"toy", "n", "noise", "classes", "seed"})
            if extra:
                raise ValueError(f"unknown toy option(s) {extra}; known: n, noise, classes, seed")
            data = toy_data(spec["toy"], spec.get("n", 300), spec.get("noise", 0.1),
                            spec.get("classes"), spec.get("seed", 0))
        elif "dataset" in spec:
            if spec["dataset"] not in BUNDLED:
                raise ValueError(f"unknown data set {spec['dataset']!r}; bundled: {list(BUNDLED)}")
            data = bundled(spec["dataset"])
        elif "target" in spec:
            if self.data.kind != "csv":
                raise ValueError("a target column can be chosen for a CSV file; this data is "
                                 f"{self.data.name!r}")
            data = from_csv(self.data.spec["path"], spec["target"], self.data.spec["csv"])
        else:
            raise ValueError('give "toy", "dataset" or "target"')
        return self.use(data)

    def upload(self, body: bytes, name: str | None, target: str | None) -> dict:
        """A CSV file's bytes as the new data (target: ``target`` or its last column)."""
        name = Path(name or "data.csv").name
        safe = "".join(c if c in _SAFE else "_" for c in name).lstrip(".") or "data.csv"
        if not safe.lower().endswith((".csv", ".tsv", ".txt")):
            safe += ".csv"
        path = self.uploads / safe
        path.write_bytes(body)
        return self.use(from_csv(path, target or None, name))

    def use(self, data: Data) -> dict:
        with self.lock:
            old, old_settings = self.data, self.settings
            self.data, self.notice = data, None
            settings = self.settings.updated({"plane": "auto"})
            try:
                settings.check_task(data.task, len(data.classes or ()))
            except ValueError as err:
                self.notice = f"{err}; switched to Model III"
                settings = settings.updated({"model": "III"})
            self.settings = settings
            playing = self.trainer.playing
            try:
                self.start(playing)
            except ValueError:
                self.data, self.settings = old, old_settings
                self.start(playing)
                raise
        return self.state()

    # ------------------------------------------------------------------ reading the run
    def state(self) -> dict:
        with self.lock:
            return self.read_state()

    def read_state(self) -> dict:
        # NOTE: the version first: the trainer changes its fields and then bumps the version,
        # so a state is never labelled newer than what it holds (the page drops a state
        # older than the one it shows, and must not keep a stale one under a new label)
        version = self.version
        t = self.trainer
        with t.cond:
            h = {k: list(v) for k, v in t.history.items()}
            epoch, status, error = t.epoch, t.status, t.error
            stop_reason, name = t.stop_reason, t.metric_name
        name = name or ("r2" if self.data.task == "regression" else "accuracy")
        last = {k: (v[-1] if v else None) for k, v in h.items()}
        info = self.data.describe()
        info.update(n_fit=len(self.rows["fit"]), n_validation=len(self.rows["validation"]),
                    features=self.scene.pre.feature_names_, K=self.K)
        return jsonable({
            "epoch": epoch, "status": status, "loss": last["loss"],
            "val_loss": last["val_loss"], "metric": name, name: last["metric"],
            "val_" + name: last["val_metric"], "history": h, "error": error,
            "stop_reason": stop_reason, "notice": self.notice, "version": version,
            "settings": self.settings.as_dict(), "data": info,
            "model": {"title": self.title, "sizes": self.sizes, "d": self.d},
            "choices": self.choices})

    def pictures(self, with_points: bool = False) -> dict:
        """The pictures of the model as it is now (drawn between two epochs)."""
        out = self.trainer.call(self.draw)
        if with_points:
            out["plane"] = jsonable(self.scene.plane.describe(with_points=True))
        return out

    def snapshot(self) -> dict:
        """What an event carries: the state and the latest pictures."""
        return {"state": self.state(), "pictures": self.trainer.pictures}

    def explain(self, row) -> dict:
        """``model.explain`` for data row ``row`` (0-based), with its numbers."""
        n = self.data.n
        if isinstance(row, str) and row.lstrip("-").isdigit():
            row = int(row)
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < n:
            raise ValueError(f"row must be an integer in [0, {n - 1}], got {row!r}")
        x = self.data.X.iloc[[row]]
        out = self.trainer.call(lambda model: _explanation(model, x))
        split_of = "validation" if row in set(self.rows["validation"].tolist()) else "fit"
        out.update(row=row, split=split_of, truth=jsonable(self.data.y[row]))
        return out

    def explain_at(self, u: float, v: float) -> dict:
        """``model.explain`` for the raw row at a point (u, v) of the plane."""
        x = self.scene.plane.raw_at(u, v)
        if x is None:
            raise ValueError("this plane (principal components of one-hot or imputed "
                             "columns) has no raw row at a point; click a data point instead")
        out = self.trainer.call(lambda model: _explanation(model, x))
        out.update(row=None, u=u, v=v)
        return out

    def export_model(self) -> bytes:
        """The model as it is now, as the bytes of a ``.safetensors`` file (``dp.save``)."""
        def write(model) -> bytes:
            with tempfile.TemporaryDirectory(prefix="dlprimer-export-") as folder:
                path = save(model, Path(folder) / "model.safetensors")
                return path.read_bytes()
        return self.trainer.call(write)

    def export_code(self) -> dict:
        epoch = self.trainer.epoch
        return {"epochs": max(epoch, 1),
                "python": python_code(self.data, self.settings, epoch, self.K),
                "command": command(self.data, self.settings, epoch,
                                        len(self.rows["fit"])),
                "data_file": f"{self.data.name}.csv" if self.data.kind == "toy" else None}

    def export_data(self) -> tuple[str, bytes]:
        name = self.data.name if self.data.name.endswith(".csv") else f"{self.data.name}.csv"
        return name, self.data.csv_bytes()


def _explanation(model, x) -> dict:
    e = model.explain(x)
    y_hat = model.predict_proba(x)[0]
    return {"title": e.title, "steps": [list(step) for step in e.steps], "text": e.text(),
            "values": jsonable(e.values), "y_hat": jsonable(np.asarray(y_hat)),
            "prediction": jsonable(model.predict(x)[0])}
