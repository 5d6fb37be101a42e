"""The trainer: one run's model, loss, optimizer, place in the data, random streams and history.

``Trainer(config)`` builds everything a run needs from its configuration and seed. ``step()`` trains exactly
one mini-batch (and, at an epoch's end, validates and records the epoch); ``evaluate()`` measures a whole set.
It knows nothing of time, commands or screens: the run controller (``controller.py``) drives it.

``state_dict()`` is everything a bit-exact continuation needs (weights, optimizer buffers, the epoch's shuffled
order, or none yet when the epoch's first step has not drawn it, and the next batch, both random generators, the
step counters, the epoch's running sums and the history);
``load_state_dict()`` puts it back. A checkpoint is that state in a file, and the timeline (``timeline.py``)
keeps one at each epoch end, so a run can go back to one and continue exactly as it did, or differently.

A NaN or infinite loss is never applied: the trainer marks itself diverged, keeps the last finite weights (or
restores those of the last finite epoch end) and says what happened in ``divergence``.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from nntui import nn
from nntui.nn import Dropout, Linear, Sequential, activation
from nntui.train.config import ConfigError, RunConfig, apply_overrides, as_logged, validate_field
from nntui.train.data import Dataset, class_count_datasets, load_dataset
from nntui.train.metrics import EpochRecord, History, LossUnits
from nntui.train.timeline import Timeline

#: Largest number of samples pushed through the model at once when evaluating (bounds memory on big files).
EVAL_CHUNK = 4096
#: The largest network nntui builds: these are small networks trained on a CPU, and 10 million float32
#: parameters already take ~160 MB with their gradients and Adam's two buffers.
MAX_PARAMETERS = 10_000_000
#: Steps between two samples of the per-layer gradient norms kept in the history (their chart's points), after
#: the first GRAD_NORM_DENSE steps, which are all sampled: a run that explodes does it early.
GRAD_NORM_EVERY = 5
GRAD_NORM_DENSE = 100
#: Built-in datasets whose number of classes is a setting (from the dataset registry).
CLASS_COUNT_DATASETS = tuple(class_count_datasets())


class StateMismatch(ValueError):
    """A saved state that belongs to another model or dataset; the message names what does not fit."""


@dataclass(frozen=True)
class LayerStats:
    """Health numbers of one Linear layer (and the activation after it) at the trainer's current step."""

    index: int  # position of the Linear layer in the model
    name: str  # e.g. "0 2->16 relu"
    grad_norm_w: float  # ||dL/dW||
    grad_norm_b: float  # ||dL/db||
    weight_norm: float  # ||W||
    update_ratio: float  # ||the update of W this step made|| / ||W||  (NaN when that step was not measured)
    dead_fraction: float | None  # ReLU family: share of units that were zero for the whole batch
    saturation: float | None  # Tanh/Sigmoid: share of activations within 1% of their limits
    activation: str | None


@dataclass(frozen=True)
class StepResult:
    step: int
    loss: float
    accuracy: float
    epoch_ended: bool
    finite: bool


class Trainer:
    """Owns one run's data, model, loss, optimizer, position, random streams and history. See the module doc."""

    def __init__(self, config: RunConfig, *, dataset: Dataset | None = None, history_capacity: int = 2048,
                 timeline: Timeline | None = None) -> None:
        self.config = config.validate()
        self.history_capacity = history_capacity
        self.dataset = dataset if dataset is not None else self.load_data(self.config)
        self._build()
        self.timeline = timeline if timeline is not None else Timeline()
        self.timeline.start(self.state_dict(series_as_arrays=True, copy_arrays=False))  # epoch 0, to go back to

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
        """Create model, loss, optimizer, random streams and history from the config and the seed."""
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
        self.loss = nn.loss(self.loss_name)
        self.optimizer = build_optimizer(cfg)
        # copy=False: the dataset's float32 arrays as they are when the model is float32 (no second copy of a
        # big file's features); a float64 model gets float64 copies.
        self.x_train = data.x_train.astype(self.dtype, copy=False)
        self.x_val = data.x_val.astype(self.dtype, copy=False)
        self.y_train, self.y_val = data.y_train, data.y_val
        self.batch_size = min(cfg.training.batch_size, len(self.x_train))
        self.batches_per_epoch = math.ceil(len(self.x_train) / self.batch_size)
        # Position in the data: the current epoch's shuffled order (drawn when first needed, see `order`) and the
        # next batch within it.
        self._order: np.ndarray | None = None
        self.batch_index = 0
        self.step_count = 0
        self.samples_seen = 0
        self.epoch = 0
        # The running sums of the epoch in progress (its record is written when it ends)
        self._epoch_loss_sum = self._epoch_correct = 0.0
        self._epoch_seen = 0
        self._epoch_seconds = 0.0
        self.history = History(capacity=self.history_capacity)
        self.history.lr_changes.append((0, self.optimizer.lr))
        self.last_loss = self.last_accuracy = math.nan
        self.divergence: str | None = None  # what happened, once the loss became NaN or infinite
        self._has_gradients = False  # no backward pass since the model was built (or restored): grads are zeros
        self._updates: dict[int, np.ndarray] = {}  # per Linear layer index: W_after - W_before of _updates_step
        self._updates_step = -1
        self._safe = self._safe_point()

    @property
    def order(self) -> np.ndarray:
        """This epoch's shuffled order of the training rows, drawn from the shuffle generator when first needed.

        Not when the epoch begins: a trainer is built on the app's event loop, where shuffling a million rows
        (12 ms) would keep a key waiting, and a state kept at an epoch's end need not hold it (the generator's
        state draws the same order again). Nothing else draws from that generator, so the orders are the same.
        """
        if self._order is None:
            self._order = self.shuffle_rng.permutation(len(self.x_train))
        return self._order

    def output_width(self) -> int:
        if self.loss_name == "bce":
            return 1
        return self.dataset.n_classes

    @property
    def finished(self) -> bool:
        """Every configured epoch is done."""
        epochs = self.config.training.epochs
        return 0 < epochs <= self.epoch  # 0: open-ended, on until paused

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @property
    def loss_units(self) -> LossUnits:
        """How this run's losses are shown to a person: for one regression target, in the data's units."""
        return LossUnits.of(self.dataset, self.loss_name)

    # -- one step ----------------------------------------------------------------------------------------------

    def step(self, *, collect_stats: bool = False) -> StepResult:
        """Train exactly one mini-batch; at the end of an epoch, validate and record the epoch.

        ``collect_stats``: also measure the update this step makes to each layer's weights (``last_updates``,
        the update-to-weight ratio), which costs a copy of the weights. A non-finite loss is not applied: the
        trainer becomes diverged with the last finite weights.
        """
        if self.divergence is not None or self.finished:
            raise RuntimeError(f"cannot step a {'diverged' if self.divergence else 'finished'} run; reset it first")
        if self.batch_index + 1 >= self.batches_per_epoch and self.epoch + 1 == self.config.training.epochs:
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
        accuracy = self._accuracy(output, y)
        self.step_count += 1
        if collect_stats:
            self._record_updates(before)
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
        self._epoch_seconds += time.perf_counter() - started
        if epoch_ended:
            self._end_epoch()
        return StepResult(self.step_count, loss, accuracy, epoch_ended, True)

    def _accuracy(self, output: np.ndarray, y: np.ndarray) -> float:
        if self.dataset.task != "classification":
            return math.nan
        return float(np.count_nonzero(self.loss.predict(output) == y)) / len(y)  # the loss says which class

    def _end_epoch(self) -> None:
        self.epoch += 1
        val_loss, val_accuracy = self.evaluate(self.x_val, self.y_val)
        self.history.epochs.append(EpochRecord(
            epoch=self.epoch, step=self.step_count,
            train_loss=self._epoch_loss_sum / self._epoch_seen,
            train_accuracy=self._epoch_correct / self._epoch_seen,
            val_loss=val_loss, val_accuracy=val_accuracy, seconds=self._epoch_seconds,
            **self._regression_scores(),
        ))
        self._epoch_loss_sum = self._epoch_correct = 0.0
        self._epoch_seen = 0
        self._epoch_seconds = 0.0
        self._order = None  # the next epoch's: drawn at its first step
        self.batch_index = 0
        if self._weights_finite():  # a finite epoch end is a safe point to return to if the run later diverges
            self._safe = self._safe_point()
            self.timeline.keep(self.epoch, self.state_dict(series_as_arrays=True, copy_arrays=False,
                                                           for_timeline=True))

    def _regression_scores(self) -> dict[str, float]:
        """For regression: the validation set's MSE, MAE and R^2 in the data's own units (EpochRecord fields)."""
        if self.dataset.task != "regression" or len(self.x_val) == 0:
            return {}
        scores = self.dataset.regression_scores(self.predict_scores(self.x_val), self.y_val)
        return {"val_mse": scores["mse"], "val_mae": scores["mae"], "val_r2": scores["r2"]}

    # -- evaluation --------------------------------------------------------------------------------------------

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        """The model's raw outputs for ``x`` (evaluation mode), computed in chunks."""
        x = np.asarray(x, dtype=self.dtype)
        parts = [self.model.forward(x[i:i + EVAL_CHUNK], False) for i in range(0, len(x), EVAL_CHUNK)]
        return np.concatenate(parts) if parts else np.zeros((0, self.output_width()), self.dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class indices for classification; for regression values in the data's own units (float64).

        (``predict_scores`` gives the network's raw outputs: for regression, standardised targets.)
        """
        scores = self.predict_scores(x)
        if self.dataset.task != "classification":
            return self.dataset.targets_in_units(scores)
        return self.loss.predict(scores)

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

    # -- settings that change during a run ---------------------------------------------------------------------

    def set_lr(self, lr: float) -> float:
        """Change the learning rate; the very next batch uses it. Returns the value applied."""
        lr = validate_field("optimizer.lr", lr)  # the config's own rule for it
        if lr != self.optimizer.lr:
            self.timeline.note(self.step_count, self.epoch, "lr", f"{as_logged(self.optimizer.lr)} -> {as_logged(lr)}")
            self.optimizer.lr = lr
            self.history.lr_changes.append((self.step_count, lr))
        return lr

    def set_epochs(self, epochs: int) -> None:
        """Change how many epochs the run lasts."""
        self.config = apply_overrides(self.config, {"training.epochs": int(epochs)})

    def switch_optimizer(self, config: RunConfig) -> None:
        """Go on from here with the optimizer ``config`` describes (a branch): same weights, data order and
        history; the new optimizer starts with empty buffers. ``config`` may differ from the run's only in its
        optimizer section (anything else needs new weights: a reset)."""
        config = config.validate()
        if not only_optimizer_differs(self.config, config) and config != self.config:
            raise ValueError("only the optimizer's settings can change on a running model; the rest needs a reset")
        changed = config.changes_from(self.config)
        if not changed:
            return
        self.timeline.note(self.step_count, self.epoch, "branch", ", ".join(changed))
        self.optimizer = build_optimizer(config)
        if config.optimizer.lr != self.config.optimizer.lr:
            self.history.lr_changes.append((self.step_count, self.optimizer.lr))
        self.config = config
        self._safe = self._safe_point()

    # -- going back --------------------------------------------------------------------------------------------

    def rewind(self, epoch: int, *, lr: float | None = None) -> None:
        """Go back to the end of kept epoch ``epoch`` (0: the start) and continue from there.

        With the same settings the run replays bit for bit. With another learning rate it is a branch. Either
        way the abandoned future (its curves) is kept in the timeline to compare with. A ``KeyError`` names the
        kept epochs when ``epoch`` is not one of them.
        """
        state = self.timeline.state_at(epoch, self.history)  # raises first: nothing changes for an epoch not kept
        if lr is not None:
            lr = validate_field("optimizer.lr", lr)
        left_at = self.step_count
        self.timeline.abandon(self.history.copy(), left_at)
        self.timeline.forget_after(epoch)
        self.load_state_dict(state)
        branch = lr is not None and lr != self.optimizer.lr
        self.timeline.note(self.step_count, self.epoch, "branch" if branch else "rewind",
                           f"from step {left_at} to epoch {epoch}" + (f" with lr {as_logged(lr)}" if branch else ""))
        if branch:
            self.set_lr(lr)

    # -- state -------------------------------------------------------------------------------------------------

    def state_dict(self, *, series_as_arrays: bool = False, copy_arrays: bool = True,
                   for_timeline: bool = False) -> dict[str, Any]:
        """Everything a bit-exact continuation needs, as copies: ``{"arrays": {...}, "meta": {...}}``.

        ``arrays`` holds NumPy arrays (parameters, optimizer buffers, the data order); ``meta`` only plain
        numbers, strings, lists and dicts (it is stored as JSON), except with ``series_as_arrays``: the history's
        points as NumPy arrays (what the timeline keeps). ``copy_arrays=False``: the live arrays themselves, for
        a caller that copies them at once (the timeline packs them into one buffer). The timeline is not part of it.
        """
        keep = (lambda value: np.array(value, copy=True)) if copy_arrays else np.asarray
        arrays: dict[str, np.ndarray] = {}
        for name, param, _grad in self.model.parameters():
            arrays[f"param/{name}"] = keep(param)
        optimizer = self.optimizer.state_dict()
        for name, slots in optimizer["state"].items():
            for key, value in slots.items():
                arrays[f"optimizer/{name}/{key}"] = keep(value)
        # (empty: not drawn yet; the shuffle generator's state below draws it)
        arrays["order"] = keep(self._order) if self._order is not None else np.empty(0, dtype=np.int64)
        meta = {
            "step": self.step_count,
            "samples_seen": self.samples_seen,
            "epoch": self.epoch,
            "batch_index": self.batch_index,
            "epoch_accumulators": [self._epoch_loss_sum, self._epoch_correct, self._epoch_seen,
                                   self._epoch_seconds],
            "last_step": [self.last_loss, self.last_accuracy],
            "optimizer": {"type": optimizer["type"], "t": optimizer["t"],
                          "hyperparameters": copy.deepcopy(optimizer["hyperparameters"])},
            "rng": {"shuffle": copy.deepcopy(self.shuffle_rng.bit_generator.state),
                    "dropout": copy.deepcopy(self.dropout_rng.bit_generator.state)},
            # (for the timeline: the epoch records only counted, see History.state)
            "history": self.history.state(arrays=series_as_arrays, records=not for_timeline, shared=for_timeline),
        }
        return {"arrays": arrays, "meta": meta}

    def load_state_dict(self, state: dict[str, Any], *, lr: float | None = None,
                        source: str = "the saved state") -> None:
        """Put back a state from ``state_dict()`` (of a trainer of the same configuration and data).

        ``lr``: the learning rate to go on with instead of the saved one. Raises StateMismatch, naming what does
        not fit (and ``source``, where the state came from), before changing anything when the state belongs to
        another model or dataset.
        """
        arrays, meta = state["arrays"], state["meta"]
        self._check_fits(arrays, source)
        for name, param, _grad in self.model.parameters():
            param[...] = arrays[f"param/{name}"]  # in place: the optimizer keeps pointing at the same arrays
        slots: dict[str, dict[str, np.ndarray]] = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                name, slot = key.removeprefix("optimizer/").rsplit("/", 1)
                slots.setdefault(name, {})[slot] = np.array(value, copy=True)
        hyperparameters = dict(meta["optimizer"]["hyperparameters"])
        if lr is not None:
            hyperparameters["lr"] = lr
        if meta["optimizer"]["type"] != type(self.optimizer).__name__:  # saved before a switch of optimizer
            self._adopt_optimizer(meta["optimizer"]["type"], hyperparameters)
        self.optimizer.load_state_dict({"type": meta["optimizer"]["type"], "t": meta["optimizer"]["t"],
                                        "hyperparameters": hyperparameters, "state": slots})
        self._order = arrays["order"].astype(np.int64) if len(arrays["order"]) else None  # a copy
        self.step_count, self.epoch = int(meta["step"]), int(meta["epoch"])
        self.samples_seen = int(meta.get("samples_seen", 0))
        self.batch_index = int(meta["batch_index"])
        loss_sum, correct, seen, seconds = meta["epoch_accumulators"]
        self._epoch_loss_sum, self._epoch_correct = float(loss_sum), float(correct)
        self._epoch_seen, self._epoch_seconds = int(seen), float(seconds)
        self.last_loss, self.last_accuracy = (_float(v) for v in meta.get("last_step", (None, None)))
        self.shuffle_rng.bit_generator.state = copy.deepcopy(meta["rng"]["shuffle"])
        self.dropout_rng.bit_generator.state = copy.deepcopy(meta["rng"]["dropout"])
        self.history = History.from_state(meta["history"])
        if self.history.lr_changes and self.history.lr_changes[-1][1] != self.optimizer.lr:
            self.history.lr_changes.append((self.step_count, self.optimizer.lr))
        self.divergence = None
        self._has_gradients = False
        self._updates, self._updates_step = {}, -1
        self._safe = self._safe_point()

    def _adopt_optimizer(self, type_name: str, hyperparameters: dict) -> None:
        """Rebuild the optimizer (and the config's optimizer section) as a saved state describes it."""
        name = next((key for key, cls in nn.OPTIMIZERS.items() if cls.__name__ == type_name), None)
        if name is None:
            raise StateMismatch(f"the saved state's optimizer {type_name} is not a registered optimizer")
        fields = {f"optimizer.{key}": value for key, value in hyperparameters.items()
                  if key in self.config.to_dict()["optimizer"]}
        self.config = apply_overrides(self.config, {"optimizer.name": name, **fields})
        self.optimizer = build_optimizer(self.config)

    def _check_fits(self, arrays: dict[str, np.ndarray], source: str) -> None:
        names = [name for name, _p, _g in self.model.parameters()]
        saved = sorted(k.removeprefix("param/") for k in arrays if k.startswith("param/"))
        if sorted(names) != saved:
            raise StateMismatch(f"the parameters {saved} in {source} do not match the model's {names}")
        for name, param, _grad in self.model.parameters():
            value = arrays[f"param/{name}"]
            if value.shape != param.shape or value.dtype != param.dtype:
                raise StateMismatch(f"parameter {name} is {value.dtype}{list(value.shape)} in {source} but "
                                    f"{param.dtype}{list(param.shape)} in the model")
        if arrays["order"].shape not in ((len(self.x_train),), (0,)):
            raise StateMismatch(f"the data order in {source} does not match the dataset's size")

    # -- divergence --------------------------------------------------------------------------------------------

    def _diverge(self, loss: float) -> None:
        """Stop on a NaN/inf loss, keep the last finite weights, and say what to try."""
        if self._weights_finite():
            kept = f"the weights after step {self.step_count} are kept"
        else:
            safe_step, weights, optimizer = self._safe
            lr = self.optimizer.lr  # the rate in use stays: the message below speaks of it
            for (_n, p, _g), saved in zip(self.model.parameters(), weights):
                p[...] = saved  # in place: the optimizer keeps pointing at the same arrays
            self.optimizer.load_state_dict(optimizer)
            self.optimizer.lr = lr
            kept = f"weights restored from step {safe_step}, the last finite point saved"
        self.divergence = (  # what happened, said of that moment, so it stays true when the rate is lowered after
            f"diverged at step {self.step_count + 1} with learning rate {self.optimizer.lr:g}: the loss became "
            f"{loss}. The rate was probably too high for this model: lower it and start again. ({kept})"
        )

    def _weights_finite(self) -> bool:
        return all(np.isfinite(p).all() for _n, p, _g in self.model.parameters())

    def _safe_point(self) -> tuple[int, list[np.ndarray], dict]:
        return (self.step_count, [p.copy() for _n, p, _g in self.model.parameters()],
                self.optimizer.state_dict())

    # -- statistics for the views ------------------------------------------------------------------------------

    def _linear_indices(self) -> list[int]:
        return [i for i, layer in enumerate(self.model.layers) if isinstance(layer, Linear)]

    def _record_updates(self, before: list[np.ndarray]) -> None:
        self._updates = {i: self.model.layers[i].params["W"] - old for i, old in zip(self._linear_indices(), before)}
        self._updates_step = self.step_count

    @property
    def last_updates(self) -> dict[int, np.ndarray]:
        """Per Linear layer index: the change the current step made to W (``W_after - W_before``).

        Empty when the current step was not measured (``step(collect_stats=True)``): an update from an older
        step shown next to today's weights would describe neither.
        """
        return self._updates if self._updates_step == self.step_count else {}

    def _record_grad_norms(self) -> None:
        """Add each Linear layer's |dL/dW| at this step to the history (its chart shows them over time)."""
        for i in self._linear_indices():
            self.history.record_grad_norm(str(i), self.step_count, norm(self.model.layers[i].grads["W"]))

    def layer_stats(self) -> tuple[LayerStats, ...]:
        """Per Linear layer: gradient and weight norms, update-to-weight ratio, dead or saturated units."""
        layers, stats, updates = self.model.layers, [], self.last_updates
        for i in self._linear_indices():
            layer = layers[i]
            act = next((lyr for lyr in layers[i + 1:] if not isinstance(lyr, Dropout)), None)
            if isinstance(act, Linear):
                act = None
            weight_norm = norm(layer.params["W"])
            update = norm(updates[i]) if i in updates else math.nan
            act_name = act.name if act is not None else None
            dead = act.dead_fraction() if act is not None else None
            saturation = act.saturation() if act is not None else None
            stats.append(LayerStats(
                index=i, name=f"{i} {layer.in_features}->{layer.out_features}" + (f" {act_name}" if act_name else ""),
                grad_norm_w=norm(layer.grads["W"]) if self._has_gradients else math.nan,
                grad_norm_b=norm(layer.grads["b"]) if self._has_gradients else math.nan,
                weight_norm=weight_norm,
                update_ratio=update / weight_norm if weight_norm > 0 else math.nan,
                dead_fraction=dead, saturation=saturation, activation=act_name,
            ))
        return tuple(stats)


def _float(value) -> float:
    return math.nan if value is None else float(value)


def norm(array: np.ndarray) -> float:
    """The Euclidean norm; worked out again in float64 when float32 overflows (entries near 1e19 and up)."""
    result = float(np.linalg.norm(array))
    if math.isinf(result) and array.dtype != np.float64:
        result = float(np.linalg.norm(array.astype(np.float64)))
    return result


def build_model(config: RunConfig, n_inputs: int, n_outputs: int, *, init_rng: np.random.Generator,
                dropout_rng: np.random.Generator) -> Sequential:
    """The network a config describes: Linear -> activation (-> Dropout) per hidden layer, then a Linear."""
    m = config.model
    dtype = np.dtype(m.dtype)
    layers, width = [], n_inputs
    for units, act in zip(m.hidden, m.activations):
        layers.append(Linear(width, units, init=m.init_for(act), rng=init_rng, dtype=dtype))
        layers.append(activation(act))
        if m.dropout > 0:
            layers.append(Dropout(m.dropout, rng=dropout_rng))
        width = units
    layers.append(Linear(width, n_outputs, init=m.init_for("output"), rng=init_rng, dtype=dtype))
    return Sequential(layers)


def build_optimizer(config: RunConfig):
    """The optimizer a config names, given the config's optimizer fields it has a parameter for."""
    options = dataclasses.asdict(config.optimizer)
    return nn.optimizer(options.pop("name"), options)


def only_optimizer_differs(mine: RunConfig, theirs: RunConfig) -> bool:
    """Whether two configurations differ in their optimizer's settings and nowhere else (a switch, not a reset)."""
    a, b = mine.to_dict(), theirs.to_dict()
    return a["optimizer"] != b["optimizer"] and all(a[section] == b[section] for section in a if section != "optimizer")
