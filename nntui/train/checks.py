"""Gradient check of a session's model: its hand-written backward passes against finite differences.

Used by ``nntui gradcheck`` and by the app's gradient-check action. The check runs on a float64 copy of the
model (float32 has too few digits to tell a right gradient from a slightly wrong one), with the same weights,
in evaluation mode, on a few training samples, so the session itself is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntui.nn import gradcheck
from nntui.nn.layers import LeakyReLU, ReLU
from nntui.train.config import apply_overrides

#: A gradient passes when its largest relative error is below this.
TOLERANCE = 1e-6
#: Samples whose ReLU inputs lie this close to the kink at 0 are skipped: there the function has no derivative
#: and finite differences straddle two slopes.
KINK_MARGIN = 1e-3


@dataclass(frozen=True)
class GradientCheck:
    errors: dict[str, float]  # the largest relative error per parameter ("0.W": 3e-10)
    n_samples: int
    checked_entries: int | None  # entries sampled per parameter (None: every entry)

    @property
    def max_rel_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_rel_error < TOLERANCE

    def to_dict(self) -> dict:
        return {"max_rel_error": self.max_rel_error, "passed": self.passed, "tolerance": TOLERANCE,
                "n_samples": self.n_samples, "params": dict(self.errors)}


def float64_copy(session):
    """The session's network rebuilt in float64 with the same weights (the session's model is not touched)."""
    from nntui.train.session import build_model

    config = apply_overrides(session.config, {"model.dtype": "float64"})
    model = build_model(config, session.dataset.n_features, session.output_width(),
                        init_rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(0))
    for (_name, mine, _g), (_n, theirs, _t) in zip(model.parameters(), session.model.parameters()):
        mine[...] = theirs
    return model


def _away_from_kinks(model, x: np.ndarray) -> np.ndarray:
    """A mask of the samples whose every ReLU-family input is at least KINK_MARGIN from 0."""
    keep = np.ones(len(x), dtype=bool)
    h = x
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            keep &= np.min(np.abs(h), axis=1) > KINK_MARGIN
        h = layer.forward(h, training=False)
    return keep


def gradient_check(session, *, n_samples: int = 8, max_checks: int | None = 300, eps: float = 1e-5,
                   seed: int = 0) -> GradientCheck:
    """Check every parameter's gradient of the session's current model on ``n_samples`` training samples.

    ``max_checks`` samples that many entries of each larger parameter (seeded) to keep big layers quick.
    """
    model = float64_copy(session)
    x = session.dataset.x_train[:512].astype(np.float64)
    y = session.y_train[:512]
    keep = np.flatnonzero(_away_from_kinks(model, x))[:n_samples]
    if len(keep) == 0:  # every sample sits on a kink: check anyway (errors at kinks are then expected)
        keep = np.arange(min(n_samples, len(x)))
    loss = type(session.loss)()
    errors = gradcheck(model, loss, x[keep], y[keep], eps=eps, max_checks=max_checks,
                       rng=np.random.default_rng(seed))
    return GradientCheck(errors=errors, n_samples=len(keep), checked_entries=max_checks)
