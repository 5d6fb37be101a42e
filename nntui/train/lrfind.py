"""The learning-rate range test (Leslie Smith, 2015; fastai's ``lr_find``): which rates make this model learn?

On a *copy* of the model, train one mini-batch per step while the learning rate grows exponentially, from 1e-7 to
10 over about 100 steps, and record the loss. At first the rate is too small to change anything; then the loss
starts to fall, faster and faster; past some rate it turns and explodes, and the test stops. The suggestion is the
rate where the (smoothed) loss falls fastest against log(rate), the *steepest descent*: large enough to learn
quickly, well below the rates that blow up.

The run's own model, optimizer and data order are never touched: the test works on copies, with a random stream of
its own, so running it changes nothing about what training does next.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from nntui.train.trainer import build_optimizer

#: Where the rate starts and where it would end, and how many steps it takes to get there.
LR_START, LR_END, STEPS = 1e-7, 10.0, 100
#: Weight of the past in the smoothed loss (an exponential moving average, bias-corrected).
SMOOTHING = 0.98
#: The test stops once a batch's loss exceeds this many times the lowest smoothed loss seen (it has exploded;
#: the smoothed loss lags a few steps behind, and the steps it lags are the ones with the highest rates).
EXPLODED = 4.0
#: The first steps are left out of the suggestion: the moving average has seen too few losses to be smooth there.
SKIP_START = 10


@dataclass(frozen=True)
class RangeTest:
    """What the test measured: each step's rate and smoothed loss, and the suggested rate (None if no descent)."""

    lrs: list[float]
    losses: list[float]  # smoothed
    raw_losses: list[float]
    suggested_lr: float | None
    stopped_early: bool  # the loss exploded before the last rate
    note: str = field(default="")

    def to_dict(self) -> dict:
        return {"suggested_lr": self.suggested_lr, "lrs": self.lrs, "losses": self.losses}


@dataclass(frozen=True)
class RangeTestSetup:
    """What the test trains: copies of a run's model, a fresh optimizer of its kind, its loss and training data."""

    model: object
    optimizer: object
    loss: object
    x_train: np.ndarray
    y_train: np.ndarray
    batch_size: int


def setup_from(trainer) -> RangeTestSetup:
    """Copy what the test needs from ``trainer`` (do it between two steps: the copy must not see half a step)."""
    return RangeTestSetup(copy.deepcopy(trainer.model), build_optimizer(trainer.config), copy.deepcopy(trainer.loss),
                          trainer.x_train, trainer.y_train, min(trainer.batch_size, len(trainer.x_train)))


def lr_range_test(trainer, *, start: float = LR_START, end: float = LR_END, steps: int = STEPS,
                  seed: int = 0) -> RangeTest:
    """Run the range test on copies of ``trainer``'s model and optimizer, over its training data."""
    return run_range_test(setup_from(trainer), start=start, end=end, steps=steps, seed=seed)


def run_range_test(setup: RangeTestSetup, *, start: float = LR_START, end: float = LR_END, steps: int = STEPS,
                   seed: int = 0) -> RangeTest:
    """The test itself, on a setup made by ``setup_from`` (safe in a worker thread: it touches only the copies)."""
    if not (0 < start < end) or steps < 2:
        raise ValueError(f"the range test needs 0 < start < end and at least 2 steps, got {start}, {end}, {steps}")
    model, optimizer, loss = setup.model, setup.optimizer, setup.loss
    x_train, y_train, batch = setup.x_train, setup.y_train, setup.batch_size
    rng = np.random.default_rng(seed)
    order, position = rng.permutation(len(x_train)), 0
    growth = (end / start) ** (1 / (steps - 1))
    lrs, smoothed, raw = [], [], []
    average, best, stopped_early = 0.0, math.inf, False
    with np.errstate(all="ignore"):  # an exploding loss is what the test looks for
        for i in range(steps):
            if position + batch > len(order):
                order, position = rng.permutation(len(x_train)), 0
            rows = order[position:position + batch]
            position += batch
            lr = start * growth**i
            optimizer.lr = lr
            value = loss.forward(model.forward(x_train[rows]), y_train[rows])
            if not math.isfinite(value):
                stopped_early = True
                break
            model.backward(loss.backward())
            optimizer.step(model)
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            current = average / (1 - SMOOTHING ** (i + 1))
            lrs.append(lr)
            smoothed.append(current)
            raw.append(value)
            best = min(best, current)
            if max(current, value) > EXPLODED * best:
                stopped_early = True
                break
    suggested, note = steepest_descent(lrs, smoothed)
    return RangeTest(lrs, smoothed, raw, suggested, stopped_early, note)


def steepest_descent(lrs: list[float], losses: list[float]) -> tuple[float | None, str]:
    """The rate where the loss falls fastest against log10(rate), looking only up to the lowest loss."""
    if len(lrs) < SKIP_START + 3:
        return None, f"the loss exploded within the first {len(lrs) + 1} rates: even small rates are too high"
    lowest = SKIP_START + int(np.argmin(losses[SKIP_START:]))
    if lowest < SKIP_START + 2:
        return None, "the loss never fell: no rate in the range made this model learn"
    # The slope at each rate over about a decade around it (half a decade each side): one batch's noise in the
    # smoothed loss would otherwise look like a steep descent somewhere among the tiny rates.
    log_lrs, values = np.log10(lrs[:lowest + 1]), np.asarray(losses[:lowest + 1])
    spacing = (log_lrs[-1] - log_lrs[0]) / max(1, len(log_lrs) - 1)
    half = max(1, round(0.5 / spacing)) if spacing > 0 else 1
    centres = np.arange(SKIP_START, lowest + 1)
    before, after = np.maximum(centres - half, SKIP_START), np.minimum(centres + half, lowest)
    usable = after > before
    if not usable.any():
        return None, "the loss never fell: no rate in the range made this model learn"
    centres, before, after = centres[usable], before[usable], after[usable]
    slopes = (values[after] - values[before]) / (log_lrs[after] - log_lrs[before])
    steepest = int(np.argmin(slopes))
    if slopes[steepest] >= 0:
        return None, "the loss never fell: no rate in the range made this model learn"
    return float(lrs[centres[steepest]]), ""


__all__ = [
    "EXPLODED",
    "LR_END",
    "LR_START",
    "SKIP_START",
    "STEPS",
    "RangeTest",
    "RangeTestSetup",
    "lr_range_test",
    "run_range_test",
    "setup_from",
    "steepest_descent",
]
