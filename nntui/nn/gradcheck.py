"""Gradient checking: compare the hand-written backward passes with finite differences.

For a parameter ``w`` and a small ``eps``, the central difference

    dL/dw  ~=  (L(w + eps) - L(w - eps)) / (2 eps)

has an error of order ``eps^2``. In float64 with ``eps = 1e-6`` an analytic gradient that is right agrees with
it to about 1e-8 relative error or better; a wrong one is off by orders of magnitude. Check in float64: float32
has only ~7 significant digits, too few to tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """``|a - n| / max(|a|, |n|, floor)``, elementwise; the floor keeps two near-zero values from exploding."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / scale


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6,
                       indices: np.ndarray | None = None) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``, perturbed in place.

    ``indices`` (flat positions) limits the check to some entries; the others stay zero in the result.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)  # views: x is perturbed in place
    positions = range(x.size) if indices is None else indices
    for i in positions:
        original = flat_x[i]
        flat_x[i] = original + eps
        up = f()
        flat_x[i] = original - eps
        down = f()
        flat_x[i] = original
        flat_grad[i] = (up - down) / (2 * eps)
    return grad


def gradcheck(model, loss, x: np.ndarray, y: np.ndarray, eps: float = 1e-6, *, max_checks: int | None = None,
              rng: np.random.Generator | None = None) -> dict[str, float]:
    """The maximum relative error between analytic and finite-difference gradients, per named parameter.

    Runs in evaluation mode (``training=False``) so that dropout does not draw a new mask on every evaluation.
    Use a float64 model. ``max_checks`` samples that many entries of each larger parameter (seeded by ``rng``)
    instead of all of them. Returns ``{"0.W": 3.1e-10, "0.b": ..., ...}``.
    """

    def evaluate() -> float:
        return loss.forward(model.forward(x, training=False), y)

    evaluate()
    model.backward(loss.backward())
    analytic = {name: grad.copy() for name, _param, grad in model.parameters()}
    rng = np.random.default_rng(0) if rng is None else rng
    errors = {}
    for name, param, _grad in model.parameters():
        indices = None
        if max_checks is not None and param.size > max_checks:
            indices = rng.choice(param.size, size=max_checks, replace=False)
        numeric = numerical_gradient(evaluate, param, eps, indices)
        picked = slice(None) if indices is None else indices
        errors[name] = float(
            relative_error(analytic[name].reshape(-1)[picked], numeric.reshape(-1)[picked]).max(initial=0.0)
        )
    return errors
