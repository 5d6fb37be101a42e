"""Gradient checking: compare the hand-written backward passes with finite differences.

For a parameter ``w`` and a small ``eps``, the central difference

    dL/dw  ~=  (L(w + eps) - L(w - eps)) / (2 eps)

has a truncation error of order ``eps^2`` and a rounding error of order ``1e-16 / eps``; ``eps = 1e-5`` balances
the two in float64. A right analytic gradient then agrees with it to about 1e-8 relative error or better; a wrong
one is off by orders of magnitude. Check in float64: float32 has only ~7 significant digits, too few to tell the
two apart. Relative errors use a floor of 1e-4 in the denominator, so that entries whose true gradient is (nearly)
zero are judged by their absolute error, which rounding alone puts near 1e-11, instead of dividing noise by noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """``|a - n| / max(|a|, |n|, floor)``, elementwise; the floor keeps two near-zero values from exploding."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / scale


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5,
                       indices: np.ndarray | None = None, stencil: int = 2,
                       regime: Callable[[], object] | None = None) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``, perturbed in place.

    ``stencil=2``: ``(f(x+h) - f(x-h)) / 2h``, error of order h^2. ``stencil=4``:
    ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h``, error of order h^4, so a larger ``eps`` (1e-4) can be
    used and rounding matters less: the choice for wide layers, whose losses add up many terms.
    ``indices`` (flat positions) limits the check to some entries; the others stay zero in the result.
    ``regime``, called after every evaluation, names the piece of a piecewise function ``f`` is on (which ReLU
    units are active, say); an entry whose perturbations change it straddles a kink, where the derivative does
    not exist, and comes back as NaN.
    """
    if stencil not in (2, 4):
        raise ValueError(f"stencil must be 2 or 4, got {stencil}")
    grad = np.zeros(x.shape, dtype=np.float64)
    positions = range(x.size) if indices is None else indices
    for flat_index in positions:
        i = np.unravel_index(flat_index, x.shape)  # index x itself: works for any memory layout
        original = x[i]

        offsets = (eps, -eps) if stencil == 2 else (2 * eps, eps, -eps, -2 * eps)
        values, regimes = [], set()
        for offset in offsets:
            x[i] = original + offset
            values.append(f())
            if regime is not None:
                regimes.add(regime())
        x[i] = original
        if len(regimes) > 1:
            grad[i] = np.nan  # a kink between the evaluation points
        elif stencil == 2:
            grad[i] = (values[0] - values[1]) / (2 * eps)
        else:
            grad[i] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps)
    return grad


def gradcheck(model, loss, x: np.ndarray, y: np.ndarray, eps: float = 1e-5, *, max_checks: int | None = None,
              rng: np.random.Generator | None = None, stencil: int = 2,
              regime: Callable[[], object] | None = None) -> dict[str, float]:
    """The maximum relative error between analytic and finite-difference gradients, per named parameter.

    Runs in evaluation mode (``training=False``) so that dropout does not draw a new mask on every evaluation.
    Use a float64 model. ``max_checks`` samples that many entries of each larger parameter (seeded by ``rng``)
    instead of all of them. With ``regime`` (see ``numerical_gradient``), entries whose finite differences
    straddle a kink are left out. Returns ``{"0.W": 3.1e-10, "0.b": ..., ...}``.
    """

    low = {str(param.dtype) for _name, param, _grad in model.parameters() if param.dtype != np.float64}
    if low:
        # float32 finite differences are mostly rounding noise: the errors would look like a broken backward pass.
        warnings.warn(f"gradcheck on a {', '.join(sorted(low))} model: finite differences need float64 "
                      f"(build the model with dtype=np.float64); the errors below are mostly rounding noise",
                      stacklevel=2)

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
        numeric = numerical_gradient(evaluate, param, eps, indices, stencil, regime)
        picked = slice(None) if indices is None else indices
        errors[name] = float(np.nanmax(
            relative_error(analytic[name].reshape(-1)[picked], numeric.reshape(-1)[picked]), initial=0.0))
    return errors
