"""Bounded training history: per-epoch records kept whole, per-step series decimated so memory stays flat."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class SharedPoints(NamedTuple):
    """The first ``n`` points of a series' store, shared rather than copied.

    Safe to keep because a ``DecimatingSeries`` only ever appends to its store: halving builds a new one, so the
    first ``n`` values of this one never change. (Nothing here holds a buffer view of the store, which would stop
    it from growing.) The timeline keeps these at every epoch end instead of copying thousands of points; being a
    tuple of a store and a number, it is nothing the garbage collector has to visit.
    """

    store: array
    n: int

    def numpy(self) -> np.ndarray:
        return np.array(self.store[:self.n], dtype=np.float64)  # (slicing an array copies: no buffer export)

    def tolist(self) -> list[float]:
        return self.store[:self.n].tolist()

    @property
    def nbytes(self) -> int:
        return 8 * self.n


class DecimatingSeries:
    """A series of (x, y) points that never holds more than ``capacity`` points.

    Points arrive one by one. Each stored point is the mean of ``stride`` raw points; when the store is full,
    neighbouring pairs are merged and the stride doubles. A run of a million steps thus keeps the same memory
    as one of a thousand, and a chart still sees the whole run at an even resolution.

    The points are kept in ``array("d")`` (C doubles): appending is as quick as to a list, and copying them or
    handing them to NumPy is one block copy (the timeline keeps a copy at every epoch end).
    """

    def __init__(self, capacity: int = 2048) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.stride = 1
        self.xs = array("d")
        self.ys = array("d")
        self._sum_x = self._sum_y = 0.0
        self._count = 0

    def append(self, x: float, y: float) -> None:
        self._sum_x += x
        self._sum_y += y
        self._count += 1
        if self._count < self.stride:
            return
        self.xs.append(self._sum_x / self._count)
        self.ys.append(self._sum_y / self._count)
        self._sum_x = self._sum_y = 0.0
        self._count = 0
        if len(self.xs) >= self.capacity:
            self._halve()

    def _halve(self) -> None:
        # New stores, never the old ones changed in place: the timeline shares the old ones (SharedPoints).
        self.xs = array("d", [(a + b) / 2 for a, b in zip(self.xs[::2], self.xs[1::2])])
        self.ys = array("d", [(a + b) / 2 for a, b in zip(self.ys[::2], self.ys[1::2])])
        self.stride *= 2

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored points, plus the partial bucket still filling, as two float arrays."""
        xs, ys = np.array(self.xs, dtype=np.float64), np.array(self.ys, dtype=np.float64)
        if self._count:
            xs = np.append(xs, self._sum_x / self._count)
            ys = np.append(ys, self._sum_y / self._count)
        return xs, ys

    def __len__(self) -> int:
        return len(self.xs) + (1 if self._count else 0)

    def copy(self) -> DecimatingSeries:
        twin = DecimatingSeries(self.capacity)
        twin.stride, twin.xs, twin.ys = self.stride, array("d", self.xs), array("d", self.ys)
        twin._sum_x, twin._sum_y, twin._count = self._sum_x, self._sum_y, self._count
        return twin

    def state(self, arrays: bool = False, shared: bool = False) -> dict:
        """Plain values for JSON; ``arrays``: the points as NumPy arrays instead of lists (quicker, for memory);
        ``shared``: as ``SharedPoints``, not copied at all (for the timeline, which packs them when it saves)."""
        if shared:
            xs, ys = SharedPoints(self.xs, len(self.xs)), SharedPoints(self.ys, len(self.ys))
        elif arrays:
            xs, ys = np.array(self.xs), np.array(self.ys)
        else:
            xs, ys = self.xs.tolist(), self.ys.tolist()
        return {"capacity": self.capacity, "stride": self.stride, "xs": xs, "ys": ys,
                "pending": (self._sum_x, self._sum_y, self._count)}

    @classmethod
    def from_state(cls, state: dict) -> DecimatingSeries:
        series = cls(int(state["capacity"]))
        series.stride = int(state["stride"])
        series.xs = array("d", np.asarray(state["xs"], dtype=np.float64).tobytes())
        series.ys = array("d", np.asarray(state["ys"], dtype=np.float64).tobytes())
        series._sum_x, series._sum_y, count = state["pending"]
        series._count = int(count)
        return series


@dataclass(frozen=True)
class EpochRecord:
    """The numbers of one finished epoch (accuracy is NaN for regression).

    Losses are kept as the network minimises them (for regression: the MSE of standardised targets; ``LossUnits``
    turns them into the data's units for a person). For regression the validation set is also scored in the
    data's own units: ``val_mse`` and ``val_mae`` in the target's units (squared for the MSE) and ``val_r2``, the
    coefficient of determination (1 is perfect, 0 is no better than predicting the mean); NaN for
    classification, and in records saved before these fields existed.
    """

    epoch: int
    step: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    val_mse: float = math.nan
    val_mae: float = math.nan
    val_r2: float = math.nan


@dataclass(frozen=True)
class LossUnits:
    """How the loss a network minimises is shown to a person: ``shown(loss) = scale * loss``, called ``label``.

    A regression network learns standardised targets (``nntui.train.data.Dataset``), so its MSE is in units of
    the target's variance. With one target column an error of e in those units is e * target_std in the data's,
    so the MSE in the data's own units (squared) is exactly target_std^2 times the MSE the network minimises:
    one factor, right for a batch, an epoch's mean and the validation set alike.

    With several target columns no single factor exists: the data's MSE, mean over columns j of
    target_std_j^2 * MSE_j, needs each column's error, and a mean of squared prices and squared rooms has no
    unit anyway. Such a loss (and one whose factor is beyond float64, a target of 1e200) is shown as it is,
    called standardised. Classification losses (cross-entropy) have no units: shown as they are, called "loss".
    """

    scale: float = 1.0
    name: str = "loss"  # what the loss is called on the status line: "loss", or "MSE"
    units: str = ""  # "" (classification), "data units" or "standardised"

    @classmethod
    def of(cls, dataset, loss_name: str) -> LossUnits:
        """The units a run on ``dataset`` with the loss ``loss_name`` ("mse", "softmax_ce", ...) is shown in."""
        if dataset.task != "regression" or loss_name != "mse":
            return cls()
        std = np.asarray(dataset.target_std, dtype=np.float64).ravel()
        with np.errstate(over="ignore", under="ignore"):
            scale = float(std[0] ** 2) if std.size == 1 else math.nan
        if not (math.isfinite(scale) and scale > 0):
            return cls(1.0, "MSE", "standardised")
        return cls(scale, "MSE", "data units")

    def shown(self, loss):
        """``loss`` (a number or an array of them) as shown: scale * loss (inf if beyond float64)."""
        if self.scale == 1.0:
            return loss
        with np.errstate(over="ignore"):
            return np.multiply(loss, self.scale) if isinstance(loss, np.ndarray) else loss * self.scale

    @property
    def label(self) -> str:
        """What a chart calls it: "loss", or "loss (MSE, data units)" / "loss (MSE, standardised)"."""
        return f"loss ({self.name}, {self.units})" if self.units else "loss"


#: A loss shown as the network minimises it (classification; the default where no run says otherwise).
LOSS_AS_MINIMISED = LossUnits()


@dataclass
class History:
    """Everything a chart or a report needs about a run so far, bounded in size."""

    capacity: int = 2048
    epochs: list[EpochRecord] = field(default_factory=list)
    step_loss: DecimatingSeries = None  # type: ignore[assignment]
    step_accuracy: DecimatingSeries = None  # type: ignore[assignment]
    lr_changes: list[tuple[int, float]] = field(default_factory=list)  # (step at which it applies, new lr)
    grad_norms: dict[str, DecimatingSeries] = field(default_factory=dict)  # per Linear layer, sampled

    def __post_init__(self) -> None:
        if self.step_loss is None:
            self.step_loss = DecimatingSeries(self.capacity)
        if self.step_accuracy is None:
            self.step_accuracy = DecimatingSeries(self.capacity)

    def record_step(self, step: int, loss: float, accuracy: float) -> None:
        self.step_loss.append(step, loss)
        self.step_accuracy.append(step, accuracy)

    def record_grad_norm(self, layer: str, step: int, norm: float) -> None:
        series = self.grad_norms.get(layer)
        if series is None:
            series = self.grad_norms[layer] = DecimatingSeries(min(self.capacity, 512))
        series.append(step, norm)

    def copy(self) -> History:
        """An independent copy (cheap: epoch records are immutable and shared)."""
        return History(
            capacity=self.capacity, epochs=list(self.epochs), step_loss=self.step_loss.copy(),
            step_accuracy=self.step_accuracy.copy(), lr_changes=list(self.lr_changes),
            grad_norms={name: series.copy() for name, series in self.grad_norms.items()},
        )

    def state(self, arrays: bool = False, records: bool = True, shared: bool = False) -> dict:
        """Plain values for JSON (a copy); ``arrays``: the series' points as NumPy arrays instead of lists.

        ``records=False``: only how many epoch records and learning-rate changes there are (``n_epochs``,
        ``n_lr_changes``), not the records themselves: a kept epoch state takes them from the run's history, of
        which they are the first ones (converting every record at every epoch end would grow with the run).
        ``shared``: the series' points as ``SharedPoints`` (see there).
        """
        state = {
            "capacity": self.capacity,
            "step_loss": self.step_loss.state(arrays, shared),
            "step_accuracy": self.step_accuracy.state(arrays, shared),
            "grad_norms": {k: s.state(arrays, shared) for k, s in self.grad_norms.items()},
        }
        if records:
            state["epochs"] = [dict(vars(r)) for r in self.epochs]  # (dataclasses.asdict: 50x slower)
            state["lr_changes"] = [list(c) for c in self.lr_changes]
        else:
            state["n_epochs"], state["n_lr_changes"] = len(self.epochs), len(self.lr_changes)
        return state

    @classmethod
    def from_state(cls, state: dict) -> History:
        return cls(
            capacity=int(state["capacity"]),
            epochs=[EpochRecord(**{k: _number(v) for k, v in r.items()}) for r in state["epochs"]],
            step_loss=DecimatingSeries.from_state(state["step_loss"]),
            step_accuracy=DecimatingSeries.from_state(state["step_accuracy"]),
            lr_changes=[(int(s), float(lr)) for s, lr in state["lr_changes"]],
            grad_norms={k: DecimatingSeries.from_state(s) for k, s in state["grad_norms"].items()},
        )


def _number(value):
    """JSON has no NaN by default; histories store it as None. A NaN read back is ``math.nan`` itself, as a
    fresh record's unmeasured fields are, so that records compare equal after a round trip through a file."""
    return math.nan if value is None or (isinstance(value, float) and math.isnan(value)) else value
