"""Is the run learning at all? A run whose validation accuracy stays at chance level is called out, with one thing
to try.

Chance level is what a network that ignores its input scores: always answering the most common class of the
training data. After ``EPOCHS_TO_JUDGE`` epochs at or below chance (plus ``MARGIN``) the run is "not learning".
The one suggestion follows from the learning rate: a rate far above what the optimizer usually needs throws the
weights around (lower it, and reset: dead units do not come back); one far below hardly moves them (raise it);
otherwise new weights (reset) are the first thing to try.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Epochs at chance level before the run is called out (the first epoch of a good run can be at chance).
EPOCHS_TO_JUDGE = 3
#: How far above chance a validation accuracy may be and still count as chance level.
MARGIN = 0.02
#: Per optimizer, (rate above which "lower it" is the suggestion, rate below which "raise it" is).
RATE_RANGE = {"sgd": (0.5, 1e-3), "adam": (0.05, 1e-5), "rmsprop": (0.05, 1e-5)}
DEFAULT_RATE_RANGE = (0.5, 1e-5)

LOWER = "- (lower rate), then r"
RAISE = "+ (higher rate)"
RESET = "r (new weights)"


def chance_accuracy(labels: np.ndarray) -> float:
    """The accuracy of always answering the most common class of ``labels`` (class indices)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return math.nan
    return float(np.bincount(labels.astype(np.int64).ravel()).max() / labels.size)


def suggestion(lr: float, optimizer: str) -> str:
    """The one thing to try first for a run that does not learn at learning rate ``lr``."""
    high, low = RATE_RANGE.get(optimizer, DEFAULT_RATE_RANGE)
    if lr >= high:
        return LOWER
    if lr <= low:
        return RAISE
    return RESET


def not_learning(val_accuracies: Sequence[float], chance: float, lr: float, optimizer: str) -> str | None:
    """"not learning: ..." when the last ``EPOCHS_TO_JUDGE`` validation accuracies are all at chance level."""
    recent = list(val_accuracies)[-EPOCHS_TO_JUDGE:]
    if len(recent) < EPOCHS_TO_JUDGE or not math.isfinite(chance):
        return None
    if not all(math.isfinite(a) and a <= chance + MARGIN for a in recent):
        return None
    return (f"not learning: val acc {recent[-1]:.0%} = chance after {len(val_accuracies)} epochs; "
            f"try {suggestion(lr, optimizer)}")


__all__ = ["EPOCHS_TO_JUDGE", "MARGIN", "chance_accuracy", "not_learning", "suggestion"]
