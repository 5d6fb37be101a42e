"""The training session: one object that owns a run, driven alike by the headless trainer and by the app.

``TrainingSession(config)`` builds the data, model, loss and optimizer. ``step()`` trains exactly one
mini-batch; ``async run()`` loops over batches and epochs inside an asyncio event loop, giving it back every few
milliseconds, and obeys commands given between two steps: ``start``/``pause``/``resume``, ``step_once``,
``set_lr``, ``stop`` and ``reset``. What a screen needs is published as immutable ``Snapshot`` objects, at a
bounded rate, through the ``on_snapshot`` callback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nntui.nn import (
    MSE,
    BinaryCrossEntropy,
    Dropout,
    Layer,
    Linear,
    Sequential,
    SoftmaxCrossEntropy,
    activation,
    loss,
    optimizer,
)
from nntui.train.config import ConfigError, RunConfig
from nntui.train.data import Dataset, load_dataset
from nntui.train.metrics import EpochRecord, History

#: Largest number of samples pushed through the model at once when evaluating (bounds memory on big files).
EVAL_CHUNK = 4096
#: The largest network nntui builds: these are small networks trained on a CPU, and 10 million float32
#: parameters already take ~160 MB with their gradients and Adam's two buffers.
MAX_PARAMETERS = 10_000_000
#: Steps between two samples of the per-layer gradient norms kept in the history (their chart's points), after
#: the first GRAD_NORM_DENSE steps, which are all sampled: a run that explodes does it early.
GRAD_NORM_EVERY = 5
GRAD_NORM_DENSE = 100
#: Built-in datasets whose number of classes is a setting.
CLASS_COUNT_DATASETS = ("spiral", "blobs")


class State(str, enum.Enum):
    IDLE = "idle"  # built, nothing trained yet
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # every epoch done
    DIVERGED = "diverged"  # the loss became NaN or infinite; paused with the last finite weights

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class LayerStats:
    """Health numbers of one Linear layer (and the activation after it) at the last published step."""

    index: int  # position of the Linear layer in the model
    name: str  # e.g. "0 Linear 2->16 + relu"
    grad_norm_w: float  # ||dL/dW||
    grad_norm_b: float  # ||dL/db||
    weight_norm: float  # ||W||
    update_ratio: float  # ||last update of W|| / ||W||  (NaN before the first update)
    dead_fraction: float | None  # ReLU family: share of units that were zero for the whole batch
    saturation: float | None  # Tanh/Sigmoid: share of activations within 1% of their limits
    activation: str | None


@dataclass(frozen=True)
class Snapshot:
    """What the session looks like at one moment; safe to hand to another thread or widget."""

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
    layers: tuple[LayerStats, ...]
    history: History  # a copy: the session keeps writing its own

    @property
    def last_epoch(self) -> EpochRecord | None:
        return self.history.epochs[-1] if self.history.epochs else None


@dataclass(frozen=True)
class StepResult:
    step: int
    loss: float
    accuracy: float
    epoch_ended: bool
    finite: bool


class TrainingSession:
    """Owns data, model, loss, optimizer, history and the run's state. See the module docstring."""

    def __init__(self, config: RunConfig, *, dataset: Dataset | None = None,
                 on_snapshot: Callable[[Snapshot], None] | None = None, publish_interval: float = 0.25,
                 history_capacity: int = 2048) -> None:
        self.config = config.validate()
        self.on_snapshot = on_snapshot
        self.publish_interval = publish_interval
        self.history_capacity = history_capacity
        self.dataset = dataset if dataset is not None else self.load_data(self.config)
        self._wake: asyncio.Event | None = None
        self._stop_requested = False
        #: Slow motion for watching: at most this many steps a second in ``run()`` (None: as fast as it goes).
        self.max_steps_per_second: float | None = None
        self._build()

    # -- building ----------------------------------------------------------------------------------------------

    @staticmethod
    def load_data(config: RunConfig) -> Dataset:
        """The dataset a config describes (raises DataError, with a message for a person, when it cannot)."""
        d = config.data
        # The config always holds every field; pass on only those that apply to this dataset, so that the
        # loader's refusal of a misplaced option (noise for digits, say) speaks only of what the user set.
        return load_dataset(
            d.dataset, seed=config.training.seed, n_samples=d.n_samples or None,
            noise=None if d.noise < 0 else d.noise,
            n_classes=d.n_classes if d.dataset in CLASS_COUNT_DATASETS else None,
            val_fraction=d.val_fraction, target=d.target or None, task=d.task,
        )

    def _build(self) -> None:
        """(Re)create model, loss, optimizer, random streams and history from the config and the seed."""
        cfg, data = self.config, self.dataset
        self.loss_name = cfg.resolved_loss()
        if self.loss_name == "bce" and data.n_classes != 2:
            raise ConfigError(
                f"model.loss = 'bce' needs a 2-class dataset, but {data.name!r} has {data.n_classes} classes; "
                "use softmax_ce", "model.loss")
        widths = [data.n_features, *cfg.model.hidden, self.output_width()]
        n_parameters = sum(a * b + b for a, b in itertools.pairwise(widths))
        if n_parameters > MAX_PARAMETERS:
            raise ConfigError(
                f"model.hidden {list(cfg.model.hidden)} makes a network of {n_parameters:,} parameters "
                f"({' -> '.join(map(str, widths))}); nntui builds at most {MAX_PARAMETERS:,}: use narrower layers",
                "model.hidden")
        self.dtype = np.dtype(cfg.model.dtype)
        init_seed, shuffle_seed, dropout_seed = np.random.SeedSequence(cfg.training.seed).spawn(3)
        self.shuffle_rng = np.random.default_rng(shuffle_seed)
        self.dropout_rng = np.random.default_rng(dropout_seed)
        try:
            self.model = build_model(cfg, data.n_features, self.output_width(),
                                     init_rng=np.random.default_rng(init_seed), dropout_rng=self.dropout_rng)
        except MemoryError:
            raise ConfigError(f"not enough memory for a network of {n_parameters:,} parameters; use narrower "
                              "layers", "model.hidden") from None
        self.loss = loss(self.loss_name)
        self.optimizer = build_optimizer(cfg)
        self.x_train = data.x_train.astype(self.dtype)
        self.x_val = data.x_val.astype(self.dtype)
        self.y_train, self.y_val = data.y_train, data.y_val
        self.batch_size = min(cfg.training.batch_size, len(self.x_train))
        self.batches_per_epoch = math.ceil(len(self.x_train) / self.batch_size)
        # Position in the data: the current epoch's shuffled order and the next batch within it.
        self.order = self.shuffle_rng.permutation(len(self.x_train))
        self.batch_index = 0
        self._has_gradients = False  # no backward pass since the model was built (or restored): grads are zeros
        self.step_count = 0
        self.samples_seen = 0
        self.epoch = 0
        self._epoch_loss_sum = self._epoch_correct = 0.0
        self._epoch_seen = 0
        self._epoch_seconds = 0.0
        self.history = History(capacity=self.history_capacity)
        self.history.lr_changes.append((0, self.optimizer.lr))
        self.state = State.IDLE
        self.message = "ready to train"
        self.last_loss = self.last_accuracy = math.nan
        self._last_update_norms: dict[int, float] = {}
        #: Per Linear layer index: the change the last measured step made to W (``W_after - W_before``).
        self.last_updates: dict[int, np.ndarray] = {}
        self._good_weights = self._copy_weights()
        self._good_optimizer = self.optimizer.state_dict()
        self._good_step = 0
        self._samples_since_publish = 0
        self._samples_per_second = 0.0
        self._window_start: float | None = None  # when the current running window began (None: not running)
        self._last_publish = -math.inf
        self._steps_requested = 0  # step_once() presses not yet served by run()

    def output_width(self) -> int:
        if self.loss_name == "bce":
            return 1
        return self.dataset.n_classes

    # -- one step ----------------------------------------------------------------------------------------------

    def step(self, *, collect_stats: bool = False) -> StepResult:
        """Train exactly one mini-batch; at the end of an epoch, validate and record the epoch.

        A non-finite loss is not applied: the run moves to ``State.DIVERGED`` with the last finite weights.
        """
        if self.state in (State.FINISHED, State.DIVERGED):
            raise RuntimeError(f"cannot step a {self.state} session; reset it first")
        if self.batch_index + 1 >= self.batches_per_epoch and self.epoch + 1 >= self.config.training.epochs:
            collect_stats = True  # the run's last step: what the views show once it has finished
        started = time.perf_counter()
        start = self.batch_index * self.batch_size
        batch = self.order[start:start + self.batch_size]
        x, y = self.x_train[batch], self.y_train[batch]
        output = self.model.forward(x, True)
        loss = self.loss.forward(output, y)
        if not math.isfinite(loss):
            self._diverge(loss)
            return StepResult(self.step_count, loss, math.nan, False, False)
        self.model.backward(self.loss.backward(), input_grad=False)
        self._has_gradients = True
        if collect_stats:
            before = [layer.params["W"].copy() for layer in self.model.layers if isinstance(layer, Linear)]
        self.optimizer.step(self.model)
        if collect_stats:
            self._record_update_norms(before)
        accuracy = self._accuracy(output, y)
        self.step_count += 1
        if collect_stats or self.step_count <= GRAD_NORM_DENSE or self.step_count % GRAD_NORM_EVERY == 0:
            self._record_grad_norms()
        self.last_loss, self.last_accuracy = loss, accuracy
        self.history.record_step(self.step_count, loss, accuracy)
        n = len(batch)
        self._epoch_loss_sum += loss * n
        self._epoch_correct += accuracy * n
        self._epoch_seen += n
        self.samples_seen += n
        self.batch_index += 1
        epoch_ended = self.batch_index >= self.batches_per_epoch
        elapsed = time.perf_counter() - started
        self._epoch_seconds += elapsed
        self._samples_since_publish += n
        if epoch_ended:
            self._end_epoch()
        return StepResult(self.step_count, loss, accuracy, epoch_ended, True)

    def _accuracy(self, output: np.ndarray, y: np.ndarray) -> float:
        if self.dataset.task != "classification":
            return math.nan
        if self.loss_name == "bce":
            predicted = (output[:, 0] > 0).astype(np.int64)
        else:
            predicted = output.argmax(axis=1)
        return float(np.count_nonzero(predicted == y)) / len(y)

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        """The model's raw outputs for ``x``, computed in chunks (an evaluation forward: what the last training
        step left in the layers, which the health numbers read, stays as it was)."""
        x = np.asarray(x, dtype=self.dtype)
        parts = [self.model.forward(x[i:i + EVAL_CHUNK], False) for i in range(0, len(x), EVAL_CHUNK)]
        return np.concatenate(parts) if parts else np.zeros((0, self.output_width()), self.dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices for classification, values for regression."""
        scores = self.predict_scores(x)
        if self.dataset.task != "classification":
            return scores
        return (scores[:, 0] > 0).astype(np.int64) if self.loss_name == "bce" else scores.argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(loss, accuracy) over a whole set, in evaluation mode (dropout off)."""
        if len(x) == 0:
            return math.nan, math.nan
        total_loss, correct = 0.0, 0.0
        for i in range(0, len(x), EVAL_CHUNK):  # evaluation passes: the last training step's caches stay
            xs, ys = np.asarray(x[i:i + EVAL_CHUNK], dtype=self.dtype), y[i:i + EVAL_CHUNK]
            output = self.model.forward(xs, False)
            total_loss += self.loss.forward(output, ys, training=False) * len(xs)
            correct += self._accuracy(output, ys) * len(xs)
        return total_loss / len(x), correct / len(x)

    def _end_epoch(self) -> None:
        self.epoch += 1
        val_loss, val_accuracy = self.evaluate(self.x_val, self.y_val)
        self.history.epochs.append(EpochRecord(
            epoch=self.epoch, step=self.step_count,
            train_loss=self._epoch_loss_sum / self._epoch_seen,
            train_accuracy=self._epoch_correct / self._epoch_seen,
            val_loss=val_loss, val_accuracy=val_accuracy, seconds=self._epoch_seconds,
        ))
        self._epoch_loss_sum = self._epoch_correct = 0.0
        self._epoch_seen = 0
        self._epoch_seconds = 0.0
        self.order = self.shuffle_rng.permutation(len(self.x_train))
        self.batch_index = 0
        if self.epoch >= self.config.training.epochs:
            self.state = State.FINISHED
            self.message = f"finished {self.epoch} epochs"
        # A finite epoch end is a safe point to return to if the run later diverges.
        if self._weights_finite():
            self._good_weights = self._copy_weights()
            self._good_optimizer = self.optimizer.state_dict()
            self._good_step = self.step_count

    # -- divergence --------------------------------------------------------------------------------------------

    def _diverge(self, loss: float) -> None:
        """Stop on a NaN/inf loss, keep the last finite weights, and say what to try."""
        if self._weights_finite():
            kept = f"the weights after step {self.step_count} are kept"
        else:
            lr = self.optimizer.lr  # the rate in use stays: the message below speaks of it
            self._restore_weights(self._good_weights)
            self.optimizer.load_state_dict(self._good_optimizer)
            self.optimizer.lr = lr
            kept = f"weights restored from step {self._good_step}, the last finite point saved"
        self.state = State.DIVERGED
        self.message = (  # what happened, said of that moment, so it stays true when the rate is lowered after
            f"diverged at step {self.step_count + 1} with learning rate {self.optimizer.lr:g}: the loss became "
            f"{loss}. The rate was probably too high for this model: lower it and start again. ({kept})"
        )
        self.publish(force=True)

    def _weights_finite(self) -> bool:
        return all(np.isfinite(p).all() for _n, p, _g in self.model.parameters())

    def _copy_weights(self) -> list[np.ndarray]:
        return [p.copy() for _n, p, _g in self.model.parameters()]

    def _restore_weights(self, weights: list[np.ndarray]) -> None:
        for (_n, p, _g), saved in zip(self.model.parameters(), weights):
            p[...] = saved  # in place: the optimizer keeps pointing at the same arrays

    # -- statistics for the views ------------------------------------------------------------------------------

    def _linear_indices(self) -> list[int]:
        return [i for i, layer in enumerate(self.model.layers) if isinstance(layer, Linear)]

    def _record_update_norms(self, before: list[np.ndarray]) -> None:
        for i, old in zip(self._linear_indices(), before):
            update = self.model.layers[i].params["W"] - old
            self.last_updates[i] = update
            self._last_update_norms[i] = _norm(update)

    def _record_grad_norms(self) -> None:
        """Add each Linear layer's |dL/dW| at this step to the history (its chart shows them over time)."""
        for i in self._linear_indices():
            self.history.record_grad_norm(str(i), self.step_count,
                                          _norm(self.model.layers[i].grads["W"]))

    def layer_stats(self) -> tuple[LayerStats, ...]:
        """Per Linear layer: gradient and weight norms, update-to-weight ratio, dead or saturated units."""
        layers, stats = self.model.layers, []
        for i in self._linear_indices():
            layer = layers[i]
            act = next((lyr for lyr in layers[i + 1:] if not isinstance(lyr, Dropout)), None)
            if isinstance(act, Linear):
                act = None
            weight_norm = _norm(layer.params["W"])
            update = self._last_update_norms.get(i, math.nan)
            act_name = act.name if act is not None else None
            dead = act.dead_fraction() if act is not None else None
            saturation = act.saturation() if act is not None else None
            stats.append(LayerStats(
                index=i, name=f"{i} {layer.in_features}->{layer.out_features}" + (f" {act_name}" if act_name else ""),
                grad_norm_w=_norm(layer.grads["W"]) if self._has_gradients else math.nan,
                grad_norm_b=_norm(layer.grads["b"]) if self._has_gradients else math.nan,
                weight_norm=weight_norm,
                update_ratio=update / weight_norm if weight_norm > 0 else math.nan,
                dead_fraction=dead, saturation=saturation, activation=act_name,
            ))
        return tuple(stats)

    # -- snapshots ---------------------------------------------------------------------------------------------

    def snapshot(self, layers: tuple[LayerStats, ...] | None = None) -> Snapshot:
        """What the session looks like now (``layers``: the layer stats, if already computed)."""
        return Snapshot(
            state=self.state, message=self.message, step=self.step_count, epoch=self.epoch,
            epochs=self.config.training.epochs, batch_in_epoch=self.batch_index,
            batches_per_epoch=self.batches_per_epoch, batch_loss=self.last_loss,
            batch_accuracy=self.last_accuracy, lr=self.optimizer.lr,
            samples_per_second=self._samples_per_second,
            layers=self.layer_stats() if layers is None else layers,
            history=self.history.copy(),
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

    def start(self) -> None:
        """Start or resume training."""
        if self.state in (State.IDLE, State.PAUSED):
            self.state = State.RUNNING
            self.message = "running"
            self._poke()
            self.publish(force=True)

    resume = start

    def pause(self) -> None:
        if self.state is State.RUNNING:
            self.state = State.PAUSED
            self.message = "paused"
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
            if self.state is not State.PAUSED:
                self.state = State.PAUSED
            self.message = "paused (stepping)"
            self._steps_requested += 1  # each press is one batch, however fast they come
            self._poke()

    def set_lr(self, lr: float) -> float:
        """Change the learning rate; the very next batch uses it. Returns the value applied."""
        lr = float(lr)
        if not (math.isfinite(lr) and 0 < lr <= 10):
            raise ConfigError(f"optimizer.lr must be > 0 and <= 10, got {lr:g}", "optimizer.lr")
        if lr != self.optimizer.lr:
            self.optimizer.lr = lr
            self.history.lr_changes.append((self.step_count, lr))
            self.publish(force=True)
        return lr

    def set_epochs(self, epochs: int) -> None:
        """Change how many epochs the run lasts; a finished run given more epochs becomes paused."""
        from nntui.train.config import apply_overrides

        self.config = apply_overrides(self.config, {"training.epochs": int(epochs)})
        if self.state is State.FINISHED and self.epoch < self.config.training.epochs:
            self.state, self.message = State.PAUSED, f"paused: {self.config.training.epochs} epochs now"
        elif self.state in (State.RUNNING, State.PAUSED, State.IDLE) and self.epoch >= self.config.training.epochs:
            self.state, self.message = State.FINISHED, f"finished {self.epoch} epochs"
        self.publish(force=True)

    def stop(self) -> None:
        """End ``run()`` after the current step."""
        self._stop_requested = True
        self._poke()

    def reset(self, config: RunConfig | None = None, *, dataset: Dataset | None = None) -> None:
        """Start over with new weights from the seed (and, if given, a new configuration).

        ``dataset``: the config's data, when the caller has already loaded it (``load_data(config)``).
        """
        if config is not None:
            config = config.validate()
            data_changed = config.data != self.config.data or config.training.seed != self.config.training.seed
            if dataset is None:
                dataset = self.load_data(config) if data_changed else self.dataset  # may raise: nothing changed
            previous = self.config, self.dataset
            self.config, self.dataset = config, dataset
            try:
                self._build()
            except ValueError:
                self.config, self.dataset = previous  # an impossible combination: keep the run as it was
                self._build()
                raise
        else:
            self._build()
        self.publish(force=True)
        self._poke()

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
                if self.state is State.RUNNING and self.max_steps_per_second:
                    # Slow motion: one step, then wait for its turn (the wait is cut short by any command).
                    self.step(collect_stats=True)
                    self.publish(force=True)
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), 1.0 / self.max_steps_per_second)
                    except TimeoutError:
                        pass
                    continue
                if self.state is State.RUNNING:
                    deadline = time.perf_counter() + chunk_seconds
                    while self.state is State.RUNNING and not self._stop_requested:
                        due = self._publish_due()
                        self.step(collect_stats=due)
                        if due or self.state is not State.RUNNING:
                            self.publish(force=True)
                        if time.perf_counter() >= deadline:
                            break
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

    def train(self, *, on_step: Callable[[StepResult], None] | None = None,
              max_seconds: float | None = None) -> None:
        """Train synchronously until the configured epochs are done or the loss diverges (headless use).

        With ``max_seconds``, pause after that much wall time instead (benchmarks use it).
        """
        if self.state in (State.IDLE, State.PAUSED):
            self.state = State.RUNNING
            self.message = "running"
        deadline = math.inf if max_seconds is None else time.perf_counter() + max_seconds
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a NaN is caught and explained
            self._train_loop(on_step, deadline)

    def _train_loop(self, on_step, deadline: float) -> None:
        while self.state is State.RUNNING:
            if time.perf_counter() >= deadline:
                self.pause()
                break
            due = self._publish_due()
            result = self.step(collect_stats=due)
            if due or self.state is not State.RUNNING:
                self.publish(force=True)
            if on_step is not None:
                on_step(result)

    # -- checkpoints -------------------------------------------------------------------------------------------

    def save_checkpoint(self, path) -> None:
        """Write the whole run to ``path`` (.npz), atomically; see ``nntui.train.checkpoint``."""
        from nntui.train.checkpoint import save_checkpoint

        save_checkpoint(self, path)

    @classmethod
    def from_checkpoint(cls, path, *, overrides=None, **options) -> TrainingSession:
        """A session restored from a checkpoint; ``overrides`` may change training.epochs and optimizer.lr."""
        from nntui.train.checkpoint import load_checkpoint

        return load_checkpoint(path, overrides=overrides, **options)

    # -- convenience -------------------------------------------------------------------------------------------

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @property
    def samples_per_second(self) -> float:
        return self._samples_per_second


def _norm(array: np.ndarray) -> float:
    """The Euclidean norm; worked out again in float64 when float32 overflows (entries near 1e19 and up)."""
    norm = float(np.linalg.norm(array))
    if math.isinf(norm) and array.dtype != np.float64:
        norm = float(np.linalg.norm(array.astype(np.float64)))
    return norm


def build_model(config: RunConfig, n_inputs: int, n_outputs: int, *, init_rng: np.random.Generator,
                dropout_rng: np.random.Generator) -> Sequential:
    """The network a config describes: Linear -> activation (-> Dropout) per hidden layer, then a Linear."""
    m = config.model
    dtype = np.dtype(m.dtype)
    layers, width = [], n_inputs
    for units, name in zip(m.hidden, m.activations):
        act = activation(name)
        # "auto": the activation says which initialiser suits the layer feeding it (He for the ReLU family)
        init = act.init_hint if m.init == "auto" else m.init
        layers.append(Linear(width, units, init=init, rng=init_rng, dtype=dtype))
        layers.append(act)
        if m.dropout > 0:
            layers.append(Dropout(m.dropout, rng=dropout_rng))
        width = units
    init = Layer.init_hint if m.init == "auto" else m.init  # the output layer feeds a loss: Xavier
    layers.append(Linear(width, n_outputs, init=init, rng=init_rng, dtype=dtype))
    return Sequential(layers)


def build_optimizer(config: RunConfig):
    """The optimizer a config names, given the config's optimizer fields it has a parameter for."""
    options = dataclasses.asdict(config.optimizer)
    return optimizer(options.pop("name"), options)


__all__ = [
    "MSE",
    "BinaryCrossEntropy",
    "LayerStats",
    "Snapshot",
    "SoftmaxCrossEntropy",
    "State",
    "StepResult",
    "TrainingSession",
    "build_model",
    "build_optimizer",
]
