"""Gradient check of a session's model: its hand-written backward passes against finite differences.

Used by ``nntui gradcheck`` and by the app's gradient-check action. The check runs on a float64 copy of the
model (float32 has too few digits to tell a right gradient from a slightly wrong one), with the same weights,
in evaluation mode, on a few training samples, so the session itself is left untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nntui.nn import TOLERANCE, GradcheckResult, gradcheck
from nntui.train.config import apply_overrides

#: Samples whose ReLU inputs all lie this close to the kink at 0 are not used. Single entries whose finite
#: differences cross a kink anyway are left out of the check (see ``Layer.regime``).
KINK_MARGIN = 1e-3
#: The finite-difference step, with the 4-point stencil (error of order h^4): accurate for wide layers too.
STEP = 1e-4


@dataclass(frozen=True)
class GradientCheck:
    """A gradient check of a session's model: the engine's verdict (``result``, from ``nntui.nn.gradcheck``),
    how the check was made, and, when it could not be meaningful, a note saying why.

    The errors, the worst of them and the verdict are the engine's; this only adds the note, which overrules
    the verdict: a check that was not meaningful does not pass.
    """

    result: GradcheckResult | None  # None: no check could be made (the note says why)
    n_samples: int
    checked_entries: int | None  # entries sampled per parameter (None: every entry)
    note: str = ""  # when set, the check could not be meaningful, and says why

    @property
    def errors(self) -> Mapping[str, float]:
        """The largest relative error per parameter ("0.W": 3e-10)."""
        return {} if self.result is None else self.result.errors

    @property
    def input_error(self) -> float | None:
        """The largest relative error of dL/dx, the data's gradient."""
        return None if self.result is None else self.result.input_error

    @property
    def max_rel_error(self) -> float:
        return 0.0 if self.result is None else self.result.max_rel_error

    @property
    def tolerance(self) -> float:
        return TOLERANCE if self.result is None else self.result.tolerance

    @property
    def meaningful(self) -> bool:
        return not self.note

    @property
    def passed(self) -> bool:
        return self.meaningful and self.result is not None and self.result.passed

    def to_dict(self) -> dict:
        return {"max_rel_error": self.max_rel_error, "passed": self.passed, "tolerance": self.tolerance,
                "n_samples": self.n_samples, "params": dict(self.errors), "input": self.input_error,
                "note": self.note}


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
    """A mask of the samples that have, at each layer with kinks (ReLU), an input further than KINK_MARGIN from 0.

    (Requiring all of them would rule out every sample of a wide layer; the entries that do cross a kink
    are left out one by one instead.)
    """
    keep = np.ones(len(x), dtype=bool)
    h = x
    for layer in model.layers:
        if layer.has_kinks:
            keep &= np.max(np.abs(h), axis=1) > KINK_MARGIN
        h = layer.forward(h, training=False)
    return keep


def gradient_check(session, *, n_samples: int = 8, max_checks: int | None = 300, eps: float = STEP,
                   seed: int = 0) -> GradientCheck:
    """Check every parameter's gradient of the session's current model on ``n_samples`` training samples.

    ``max_checks`` samples that many entries of each larger parameter (seeded) to keep big layers quick.
    Weights that are not finite, or data whose every sample puts a ReLU input on its kink, cannot be checked
    meaningfully: the result then carries a ``note`` saying so instead of a verdict about the engine.
    """
    if not all(np.isfinite(p).all() for _n, p, _g in session.model.parameters()):
        return GradientCheck(None, 0, max_checks, note="the weights are not finite (the run diverged): reset first")
    model = float64_copy(session)
    x = session.dataset.x_train[:512].astype(np.float64)
    y = session.y_train[:512]
    keep = np.flatnonzero(_away_from_kinks(model, x))[:n_samples]
    if len(keep) == 0:
        return GradientCheck(None, 0, max_checks, note=(
            "every training sample puts all the ReLU inputs of a layer on (or within 1e-3 of) the kink at 0, "
            "where the derivative does not exist; constant features do that. Try another activation or dataset"))
    loss = type(session.loss)()
    with np.errstate(over="ignore", invalid="ignore"):
        result = gradcheck(model, loss, x[keep], y[keep], eps=eps, max_checks=max_checks,
                           rng=np.random.default_rng(seed), stencil=4)
    if not math.isfinite(result.max_rel_error):  # (the engine ranks a NaN error above every number)
        return GradientCheck(result, len(keep), max_checks,
                             note="the loss is not finite at these weights (huge weights?): reset first")
    return GradientCheck(result, len(keep), max_checks)
