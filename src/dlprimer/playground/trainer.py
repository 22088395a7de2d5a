"""One run of the real ``dp.fit`` in a background thread, driven by a Callback that pauses,
steps and stops it between epochs.

``fit`` is called once with a large epoch cap; the ``Controller`` callback blocks in
``on_train_begin`` and ``on_epoch_end`` while the run is paused, and returns True to stop
it. Nothing else touches the training loop, so after k epochs θ is exactly what
``dp.fit(..., epochs=k)`` gives on the same rows and settings: the shuffling draws from
one seeded Generator per run, and waiting between epochs draws nothing.

Everything that reads the model while it trains (pictures, explanations, model files) is
a *job* run in the training thread between two epochs (``Trainer.call``); once the run
has ended, jobs run in the caller's thread, one at a time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from dlprimer.training.callbacks import Callback
from dlprimer.training.fit import fit

__all__ = ["MAX_EPOCHS", "PICTURES_EVERY", "Controller", "Stopped", "Trainer"]

MAX_EPOCHS = 100_000  # the epoch cap of the one fit call: the page's "forever"
PICTURES_EVERY = 0.1  # seconds between pictures while it runs (they are drawn at ≤ 10/s)
JOB_TIMEOUT = 120.0


class Stopped(Exception):
    """Raised from ``on_train_begin`` to end a run before its first epoch."""


class Controller(Callback):
    """The callback that hands each epoch boundary to its Trainer: there the run waits
    while paused, runs the jobs that read the model, and stops when asked."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer

    def on_train_begin(self, model):
        if self.trainer.checkpoint(model, 0, None):
            raise Stopped

    def on_epoch_end(self, epoch, logs, model):
        return self.trainer.checkpoint(model, epoch, logs)


class Trainer:
    """``fit(model, **fit_args)`` in a thread, paused at epoch 0 until ``play`` or ``step``.

    Parameters
    ----------
    model : the Module to train (built from the run's seed)
    fit_args : the other arguments of ``dp.fit`` (X, y, optimizer, batch_size,
        validation_data, seed, l2, preprocessor)
    draw : fn(model) -> dict, the pictures of the model as it is; run in the training thread
    notify : fn(), called whenever the state or the pictures change
    speed : epochs per second at most (0: as fast as it goes)
    """

    def __init__(self, model, fit_args: dict, draw: Callable, notify: Callable,
                 speed: float = 0.0, playing: bool = False):
        self.model, self.fit_args, self.draw, self.notify = model, fit_args, draw, notify
        self.speed = speed
        self.cond = threading.Condition()
        self.playing, self.steps_left, self.stopping, self.alive = playing, 0, False, True
        self.jobs: list[tuple[Callable, Future]] = []
        self.epoch = 0
        self.history = {"loss": [], "val_loss": [], "metric": [], "val_metric": []}
        self.metric_name: str | None = None
        self.status = "starting"  # → paused | running | finished | stopped | error
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.pictures: dict | None = None
        self.drawn_epoch = -1
        self.direct = threading.Lock()  # jobs after the run, one at a time
        self.last_pictures = 0.0
        self.epoch_started = 0.0
        self.thread = threading.Thread(target=self.run, name="dlprimer-playground-fit",
                                       daemon=True)
        self.thread.start()

    # ------------------------------------------------------------------ the page's buttons
    def play(self) -> None:
        with self.cond:
            self.playing, self.steps_left = True, 0
            self.cond.notify_all()

    def pause(self) -> None:
        with self.cond:
            self.playing, self.steps_left = False, 0
            self.cond.notify_all()

    def step(self, epochs: int = 1) -> None:
        """Run ``epochs`` more epochs, then pause (after those still to go of a step)."""
        with self.cond:
            if self.playing and self.steps_left == 0:  # playing on: pause after epochs more
                self.steps_left = int(epochs)
            else:
                self.steps_left += int(epochs)
            self.playing = True
            self.cond.notify_all()

    def stop(self, wait: float = 5.0) -> None:
        """End the run at the next epoch boundary (and wait up to ``wait`` seconds)."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if threading.current_thread() is not self.thread:
            self.thread.join(wait)

    def set_speed(self, speed: float) -> None:
        with self.cond:
            self.speed = speed
            self.cond.notify_all()

    def call(self, job: Callable, timeout: float = JOB_TIMEOUT):
        """``job(model)`` between two epochs (or now, once the run has ended); its result."""
        future: Future = Future()
        with self.cond:
            queued = self.alive
            if queued:
                self.jobs.append((job, future))
                self.cond.notify_all()
        if not queued:
            with self.direct:
                return job(self.model)
        return future.result(timeout)

    # ------------------------------------------------------------------ the training thread
    def run(self) -> None:
        status = "finished"
        try:
            history = fit(self.model, epochs=MAX_EPOCHS, progress=False,
                          callbacks=[Controller(self)], **self.fit_args)
            self.stop_reason = history.stop_reason
        except Stopped:
            status = "stopped"
        except Exception as err:  # a diverging run, a data problem: said on the page
            status, self.error = "error", f"{type(err).__name__}: {err}"
        finally:
            with self.cond:
                self.alive = False
                jobs, self.jobs = self.jobs, []
                if self.stopping:
                    status = "stopped"
            with self.direct:
                for job, future in jobs:
                    run_job(job, future, self.model)
                if status == "finished":
                    self.picture(self.model)
            with self.cond:
                self.status, self.playing = status, False
            self.notify()

    def checkpoint(self, model, epoch: int, logs: dict | None) -> bool:
        """One epoch boundary: record the epoch, draw, run jobs, wait while paused; True
        stops the run."""
        with self.cond:
            if logs is not None:
                self.record(epoch, logs)
                if self.steps_left > 0:
                    self.steps_left -= 1
                    if self.steps_left == 0:
                        self.playing = False
            running = self.playing
        if running and time.monotonic() - self.last_pictures >= PICTURES_EVERY:
            self.picture(model)
        self.notify()
        while True:
            with self.cond:
                jobs, self.jobs = self.jobs, []
            for job, future in jobs:
                run_job(job, future, model)
            with self.cond:
                if self.stopping:
                    return True
                if self.jobs:
                    continue
                if self.playing:
                    wait = (self.epoch_started + 1 / self.speed - time.monotonic()
                            if self.speed > 0 else 0.0)
                    if wait <= 0:
                        self.status = "running"
                        break
                    self.cond.wait(wait)
                    continue
                if self.status == "paused" and self.drawn_epoch == self.epoch:
                    self.cond.wait(1.0)  # woken by play, step, a job or stop
                    continue
            self.picture(model)  # the picture it pauses on is of this very epoch
            with self.cond:
                self.status = "paused"
            self.notify()
        self.epoch_started = time.monotonic()
        return False

    def record(self, epoch: int, logs: dict) -> None:
        """One epoch's logs into the curves (called with the lock held)."""
        self.epoch = epoch
        if self.metric_name is None:
            self.metric_name = "r2" if "r2" in logs else "accuracy"
        name = self.metric_name
        for key, value in (("loss", logs.get("loss")), ("val_loss", logs.get("val_loss")),
                           ("metric", logs.get(name)), ("val_metric", logs.get("val_" + name))):
            if value is not None:
                self.history[key].append(float(value) if math.isfinite(value) else None)

    def picture(self, model) -> None:
        """Draw the model now; a failure is shown on the page instead of ending the run."""
        try:
            pictures = self.draw(model)
        except Exception as err:  # pragma: no cover - a bug in the pictures, not in training
            pictures = {"error": f"the pictures failed: {type(err).__name__}: {err}"}
        with self.cond:
            pictures["epoch"] = self.drawn_epoch = self.epoch
            self.pictures = pictures
        self.last_pictures = time.monotonic()


def run_job(job: Callable, future: Future, model) -> None:
    """Run one job, handing its result or its exception to whoever waits for it."""
    try:
        future.set_result(job(model))
    except Exception as err:  # the caller re-raises it as its own answer (400 or 500)
        future.set_exception(err)
