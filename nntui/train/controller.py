"""The run controller: commands, pace and snapshots on top of a trainer; the app and the headless loop drive it.

``TrainingSession(config)`` builds a ``Trainer`` (``trainer.py``: the model, its data and everything that decides
the numbers) and drives it. ``async run()`` trains inside an asyncio event loop a few milliseconds at a time,
giving the loop back in between, and obeys commands given between two steps: ``start``/``pause``/``resume``,
``step_once``, ``set_lr``, ``set_epochs``, ``rewind``, ``stop`` and ``reset``. ``train()`` is the same without an
event loop (headless). What a screen needs is published as immutable ``Snapshot`` objects, at a bounded rate,
through the ``on_snapshot`` callback.

A snapshot describes the step it names: every chunk of training ends with a measured step (the update each
layer's weights received, for the update-to-weight ratio), so whenever a command or a pause lands between two
chunks, the numbers shown belong to the step shown.

The trainer's numbers (``model``, ``history``, ``step_count``, ...) can be read through the controller, so a
screen deals with one object; commands go through the controller, which records them in the timeline.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntui.train.config import RunConfig
from nntui.train.data import Dataset
from nntui.train.metrics import LOSS_AS_MINIMISED, EpochRecord, History, LossUnits
from nntui.train.pace import steps_per_wake
from nntui.train.trainer import LayerStats, StepResult, Trainer


class State(str, enum.Enum):
    IDLE = "idle"  # built, nothing trained yet
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # every epoch done
    DIVERGED = "diverged"  # the loss became NaN or infinite; paused with the last finite weights

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Snapshot:
    """What the run looks like at one step; safe to hand to another thread or widget."""

    state: State
    message: str
    step: int
    epoch: int  # completed epochs
    epochs: int  # epochs the run is configured for
    batch_in_epoch: int
    batches_per_epoch: int
    batch_loss: float
    batch_accuracy: float
    lr: float
    samples_per_second: float
    layers: tuple[LayerStats, ...]  # measured at ``step``
    history: History  # a copy: the trainer keeps writing its own
    loss_units: LossUnits = LOSS_AS_MINIMISED  # how batch_loss and the history's losses are shown (data units or not)

    @property
    def last_epoch(self) -> EpochRecord | None:
        return self.history.epochs[-1] if self.history.epochs else None


def _from_trainer(name: str, doc: str) -> property:
    """A read-only view of one of the trainer's attributes."""
    return property(lambda self: getattr(self.trainer, name), doc=doc)


class TrainingSession:
    """The run controller. See the module docstring."""

    def __init__(self, config: RunConfig | None = None, *, trainer: Trainer | None = None,
                 dataset: Dataset | None = None, on_snapshot: Callable[[Snapshot], None] | None = None,
                 publish_interval: float = 0.25, history_capacity: int = 2048) -> None:
        """Drive a new trainer for ``config`` (on ``dataset`` if already loaded), or the given ``trainer``."""
        if trainer is None:
            if config is None:
                raise TypeError("TrainingSession needs a config or a trainer")
            config = config.validate()
            dataset = dataset if dataset is not None else self.load_data(config)
            trainer = Trainer(config, dataset=dataset, history_capacity=history_capacity)
        self.trainer = trainer
        self.on_snapshot = on_snapshot
        self.publish_interval = publish_interval
        self._wake: asyncio.Event | None = None
        self._stop_requested = False
        self._next_wake: float | None = None  # when the next group of paced steps is due (None: start afresh)
        self._max_steps_per_second: float | None = None
        self._steps_requested = 0  # step_once() presses not yet served by run()
        self._step_seconds = 0.0  # a running average of one step's duration (to end chunks on a measured step)
        self._begin(State.IDLE, "ready to train")

    def _begin(self, state: State, message: str) -> None:
        self.state, self.message = state, message
        self._samples_since_publish = 0
        self._samples_per_second = 0.0
        self._window_start: float | None = None  # when the current running window began (None: not running)
        self._last_publish = -math.inf

    # -- the trainer's numbers, read through the controller ----------------------------------------------------

    config = _from_trainer("config", "The run's configuration (change it with set_epochs, set_lr or reset).")
    dataset = _from_trainer("dataset", "The data the run learns from.")
    model = _from_trainer("model", "The network.")
    loss = _from_trainer("loss", "The loss object.")
    loss_name = _from_trainer("loss_name", "The loss's config name, 'auto' resolved.")
    optimizer = _from_trainer("optimizer", "The optimizer.")
    history = _from_trainer("history", "Epoch records, per-step curves, lr changes, gradient norms.")
    timeline = _from_trainer("timeline", "Kept epoch-end states and the intervention log.")
    step_count = _from_trainer("step_count", "Steps trained.")
    epoch = _from_trainer("epoch", "Epochs completed.")
    samples_seen = _from_trainer("samples_seen", "Training samples seen.")
    batch_index = _from_trainer("batch_index", "The next batch within the epoch.")
    batch_size = _from_trainer("batch_size", "Samples per step.")
    batches_per_epoch = _from_trainer("batches_per_epoch", "Steps in one epoch.")
    order = _from_trainer("order", "This epoch's shuffled order of the training samples.")
    shuffle_rng = _from_trainer("shuffle_rng", "The generator that shuffles each epoch.")
    dropout_rng = _from_trainer("dropout_rng", "The generator of the dropout masks.")
    dtype = _from_trainer("dtype", "The model's float type.")
    x_train = _from_trainer("x_train", "Training features, in the model's dtype.")
    y_train = _from_trainer("y_train", "Training labels or targets.")
    x_val = _from_trainer("x_val", "Validation features, in the model's dtype.")
    y_val = _from_trainer("y_val", "Validation labels or targets.")
    last_loss = _from_trainer("last_loss", "The last step's batch loss.")
    last_accuracy = _from_trainer("last_accuracy", "The last step's batch accuracy (NaN for regression).")
    last_updates = _from_trainer("last_updates", "Per Linear layer: the update of W at this step, if measured.")
    lr = _from_trainer("lr", "The learning rate in use.")
    loss_units = _from_trainer("loss_units", "How the losses are shown to a person (LossUnits).")

    load_data = staticmethod(Trainer.load_data)

    def output_width(self) -> int:
        return self.trainer.output_width()

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return self.trainer.evaluate(x, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.trainer.predict(x)

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        return self.trainer.predict_scores(x)

    def layer_stats(self) -> tuple[LayerStats, ...]:
        return self.trainer.layer_stats()

    @property
    def samples_per_second(self) -> float:
        return self._samples_per_second

    @property
    def interventions(self) -> int:
        """How many times the run was intervened in (lr changes, pauses, edits, resets, rewinds, branches)."""
        return self.trainer.timeline.interventions

    @property
    def kept_epochs(self) -> list[int]:
        """The epochs the run can go back to (``rewind``)."""
        return self.trainer.timeline.epochs

    # -- one step ----------------------------------------------------------------------------------------------

    def step(self, *, collect_stats: bool = False) -> StepResult:
        """Train exactly one mini-batch (see ``Trainer.step``) and follow the run's state: finished, diverged."""
        if self.state in (State.FINISHED, State.DIVERGED):
            raise RuntimeError(f"cannot step a {self.state} session; reset it first")
        started, seen = time.perf_counter(), self.trainer.samples_seen
        result = self.trainer.step(collect_stats=collect_stats)
        self._step_seconds = 0.9 * self._step_seconds + 0.1 * (time.perf_counter() - started)
        self._samples_since_publish += self.trainer.samples_seen - seen
        if not result.finite:
            self.state, self.message = State.DIVERGED, self.trainer.divergence
            self.publish(force=True)
        elif self.trainer.finished:
            self.state, self.message = State.FINISHED, f"finished {self.trainer.epoch} epochs"
        return result

    # -- snapshots ---------------------------------------------------------------------------------------------

    def snapshot(self, layers: tuple[LayerStats, ...] | None = None) -> Snapshot:
        """What the run looks like now (``layers``: the layer stats, if already computed)."""
        t = self.trainer
        return Snapshot(
            state=self.state, message=self.message, step=t.step_count, epoch=t.epoch,
            epochs=t.config.training.epochs, batch_in_epoch=t.batch_index,
            batches_per_epoch=t.batches_per_epoch, batch_loss=t.last_loss,
            batch_accuracy=t.last_accuracy, lr=t.lr, samples_per_second=self._samples_per_second,
            layers=t.layer_stats() if layers is None else layers, history=t.history.copy(),
            loss_units=t.loss_units,
        )

    def publish(self, force: bool = False) -> Snapshot | None:
        """Send a snapshot to ``on_snapshot`` if ``publish_interval`` has passed since the last (or forced)."""
        now = time.perf_counter()
        if not force and now - self._last_publish < self.publish_interval:
            return None
        # Samples per second of wall time while running (what a person sees, slow motion included), measured
        # from the publish that opened the running window; a window while paused or stepping changes nothing.
        if self._samples_since_publish and self._window_start is not None and now > self._window_start:
            self._samples_per_second = self._samples_since_publish / (now - self._window_start)
        self._window_start = now if self.state is State.RUNNING else None
        self._samples_since_publish = 0
        self._last_publish = now
        snap = self.snapshot()
        if self.on_snapshot is not None:
            self.on_snapshot(snap)
        return snap

    def _publish_due(self) -> bool:
        return time.perf_counter() - self._last_publish >= self.publish_interval

    # -- commands (call them from the event loop that runs ``run``) ---------------------------------------------

    def _note(self, kind: str, detail: str = "") -> None:
        self.trainer.timeline.note(self.trainer.step_count, self.trainer.epoch, kind, detail)

    def start(self) -> None:
        """Start or resume training."""
        if self.state in (State.IDLE, State.PAUSED):
            if self.state is State.PAUSED:
                self._note("resume")
            self.state = State.RUNNING
            self.message = "running"
            self._poke()
            self.publish(force=True)

    resume = start

    def pause(self) -> None:
        if self.state is State.RUNNING:
            self.state = State.PAUSED
            self.message = "paused"
            self._note("pause")
            self.publish(force=True)

    def toggle(self) -> None:
        """Start, pause or resume, whichever applies (the app's space key)."""
        if self.state is State.RUNNING:
            self.pause()
        else:
            self.start()

    def step_once(self) -> None:
        """Train exactly one batch, then be paused (ignored when finished or diverged)."""
        if self.state in (State.IDLE, State.PAUSED, State.RUNNING):
            if self.state is State.RUNNING:
                self._note("pause")
            self.state = State.PAUSED
            self.message = "paused (stepping)"
            self._steps_requested += 1  # each press is one batch, however fast they come
            self._poke()

    def set_lr(self, lr: float) -> float:
        """Change the learning rate; the very next batch uses it. Returns the value applied."""
        before = self.trainer.lr
        applied = self.trainer.set_lr(lr)  # raises ConfigError for a rate out of range
        if applied != before:
            self.publish(force=True)
        return applied

    def switch_optimizer(self, config: RunConfig) -> None:
        """Go on from here with another optimizer (or its settings), keeping the weights: a branch (see
        ``Trainer.switch_optimizer``); raises ValueError when ``config`` changes more than the optimizer."""
        self.trainer.switch_optimizer(config)
        self.publish(force=True)

    def set_epochs(self, epochs: int) -> None:
        """Change how many epochs the run lasts (0: on until paused); a finished run given more becomes paused."""
        self.trainer.set_epochs(epochs)
        total = self.trainer.config.training.epochs
        if self.state is State.FINISHED and not self.trainer.finished:
            self.state, self.message = State.PAUSED, f"paused: {total} epochs now" if total else \
                "paused: on until paused now"
        elif self.state in (State.RUNNING, State.PAUSED, State.IDLE) and self.trainer.finished:
            self.state, self.message = State.FINISHED, f"finished {self.trainer.epoch} epochs"
        self.publish(force=True)

    def rewind(self, epoch: int, *, lr: float | None = None) -> None:
        """Go back to the end of kept epoch ``epoch`` (see ``Trainer.rewind``); a running run runs on from there.

        Raises KeyError naming the kept epochs when ``epoch`` is not one, and changes nothing then.
        """
        self.trainer.rewind(epoch, lr=lr)
        if self.trainer.finished:
            self.state, self.message = State.FINISHED, f"finished {self.trainer.epoch} epochs"
        elif self.state is not State.RUNNING:
            self.state = State.PAUSED if self.trainer.step_count else State.IDLE
            self.message = f"back at epoch {epoch} (step {self.trainer.step_count})"
        self.publish(force=True)
        self._poke()

    def stop(self) -> None:
        """End ``run()`` (or ``train()``) after the current step."""
        self._stop_requested = True
        self._poke()

    def reset(self, config: RunConfig | None = None, *, dataset: Dataset | None = None) -> None:
        """Start over with new weights from the seed (and, if given, a new configuration).

        ``dataset``: the config's data, when the caller has already loaded it (``load_data(config)``). The old
        run's curves stay in the timeline to compare with, and the reset (or edit) is logged. Raises, keeping
        the run as it was, when the configuration cannot be built.
        """
        old = self.trainer
        if config is not None:
            config = config.validate()
            data_changed = config.data != old.config.data or config.training.seed != old.config.training.seed
            if dataset is None:
                dataset = self.load_data(config) if data_changed else old.dataset  # may raise: nothing changed
        else:
            config, dataset = old.config, old.dataset
        edited = config.changes_from(old.config)
        self.trainer = Trainer(config, dataset=dataset, history_capacity=old.history_capacity,
                               timeline=old.timeline)  # raises before touching the timeline when impossible
        timeline = self.trainer.timeline
        if old.step_count:
            timeline.abandon(old.history.copy(), old.step_count)
        timeline.note(old.step_count, old.epoch, "edit" if edited else "reset", ", ".join(edited))
        self._steps_requested = 0
        self._begin(State.IDLE, "ready to train")
        self.publish(force=True)
        self._poke()

    @property
    def max_steps_per_second(self) -> float | None:
        """Slow motion for watching: at most this many steps a second in ``run()`` (None: as fast as it goes)."""
        return self._max_steps_per_second

    @max_steps_per_second.setter
    def max_steps_per_second(self, value: float | None) -> None:
        self._max_steps_per_second = value
        self._next_wake = None
        self._poke()  # a run waiting for its next slow step takes the new pace at once

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- loops -------------------------------------------------------------------------------------------------

    async def run(self, *, chunk_seconds: float = 0.003, until_finished: bool = False) -> None:
        """Train while ``state`` is RUNNING, giving the event loop a turn every ``chunk_seconds``.

        Waits (without using CPU) while idle, paused, finished or diverged, and serves ``step_once`` meanwhile.
        Returns after ``stop()``, or when training finishes if ``until_finished``.
        """
        self._wake = asyncio.Event()
        quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")  # a NaN is caught and explained
        quiet.__enter__()
        try:
            while not self._stop_requested:
                if self.state is State.RUNNING and self._max_steps_per_second:
                    await self._paced_steps(self._max_steps_per_second)
                    continue
                if self.state is State.RUNNING:
                    self._train_chunk(time.perf_counter() + chunk_seconds)
                    await asyncio.sleep(0)
                    continue
                if self._steps_requested:
                    self._steps_requested -= 1
                    if self.state is State.PAUSED:
                        self.step(collect_stats=True)
                        self.publish(force=True)
                    continue
                if until_finished and self.state in (State.FINISHED, State.DIVERGED):
                    return
                self._wake.clear()
                await self._wake.wait()
        finally:
            quiet.__exit__(None, None, None)
            self._wake = None
            self._stop_requested = False  # a later run() starts afresh

    async def _paced_steps(self, pace: float) -> None:
        """At a set pace: a group of steps (one, up to ~120 steps a second; more at faster paces, see
        ``pace.steps_per_wake``), then a wait until the group's turn is over, measured against a schedule so that
        the time the steps themselves take does not slow the pace down. Any command cuts the wait short."""
        steps, seconds = steps_per_wake(pace)
        now = time.perf_counter()
        if self._next_wake is None or now - self._next_wake > seconds:  # (re)starting, or far behind: no catch-up
            self._next_wake = now
        for i in range(steps):
            if self.state is not State.RUNNING or self._stop_requested:
                break
            last = i == steps - 1
            self.step(collect_stats=last)  # the group's last step is the one a snapshot shows
            if last and (steps == 1 or self._publish_due()) or self.state is not State.RUNNING:
                self.publish(force=True)  # slow paces show every step; fast ones a few times a second
        self._next_wake += seconds
        self._wake.clear()
        remaining = self._next_wake - time.perf_counter()
        if remaining <= 0:
            await asyncio.sleep(0)  # behind schedule: the event loop still gets its turn
            return
        try:
            await asyncio.wait_for(self._wake.wait(), remaining)
        except TimeoutError:
            pass
        else:
            self._next_wake = None  # a command came: the schedule starts again from now

    def _train_chunk(self, deadline: float, on_step: Callable[[StepResult], None] | None = None) -> None:
        """Steps until ``deadline``; the last one is measured, so a pause after the chunk shows that step's numbers."""
        while self.state is State.RUNNING and not self._stop_requested:
            last = time.perf_counter() + self._step_seconds >= deadline
            due = self._publish_due()
            result = self.step(collect_stats=due or last)
            if due or self.state is not State.RUNNING:
                self.publish(force=True)
            if on_step is not None:
                on_step(result)
            if last:
                return

    def train(self, *, on_step: Callable[[StepResult], None] | None = None,
              max_seconds: float | None = None) -> None:
        """Train synchronously until the configured epochs are done, the loss diverges or ``stop()`` is called.

        With ``max_seconds``, pause after that much wall time instead (benchmarks use it). After ``stop()``
        (a signal handler may call it) the run is paused where it stopped.
        """
        if self.state in (State.IDLE, State.PAUSED):
            self.state = State.RUNNING
            self.message = "running"
        deadline = math.inf if max_seconds is None else time.perf_counter() + max_seconds
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a NaN is caught and explained
            self._train_chunk(deadline, on_step)
        if self.state is State.RUNNING:  # out of time, or stopped
            self.pause()
        self._stop_requested = False

    # -- checkpoints -------------------------------------------------------------------------------------------

    def save_checkpoint(self, path, *, replace: bool = True) -> Path:
        """Write the whole run to ``path`` (.npz), atomically; see ``nntui.train.checkpoint``.

        ``replace=False``: raise FileExistsError, changing nothing, when ``path`` exists as it is put in place.
        """
        from nntui.train.checkpoint import save_checkpoint

        return save_checkpoint(self.trainer, path, replace=replace)

    @classmethod
    def from_checkpoint(cls, path, *, overrides=None, **options) -> TrainingSession:
        """A run restored from a checkpoint; ``overrides`` may change training.epochs and optimizer.lr."""
        from nntui.train.checkpoint import load_checkpoint

        trainer = load_checkpoint(path, overrides=overrides,
                                  history_capacity=options.pop("history_capacity", 2048))
        session = cls(trainer=trainer, **options)
        if trainer.finished:
            session.state, session.message = State.FINISHED, f"finished {trainer.epoch} epochs"
        elif trainer.step_count > 0:
            session.state, session.message = State.PAUSED, f"resumed from {Path(path).name} at step {trainer.step_count}"
        return session
