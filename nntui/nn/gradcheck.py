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

from collections.abc import Callable

import numpy as np


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """``|a - n| / max(|a|, |n|, floor)``, elementwise; the floor keeps two near-zero values from exploding."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / scale


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5,
                       indices: np.ndarray | None = None, stencil: int = 2) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to the array ``x``, perturbed in place.

    ``stencil=2``: ``(f(x+h) - f(x-h)) / 2h``, error of order h^2. ``stencil=4``:
    ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h``, error of order h^4, so a larger ``eps`` (1e-4) can be
    used and rounding matters less: the choice for wide layers, whose losses add up many terms.
    ``indices`` (flat positions) limits the check to some entries; the others stay zero in the result.
    """
    if stencil not in (2, 4):
        raise ValueError(f"stencil must be 2 or 4, got {stencil}")
    grad = np.zeros(x.shape, dtype=np.float64)
    positions = range(x.size) if indices is None else indices
    for flat_index in positions:
        i = np.unravel_index(flat_index, x.shape)  # index x itself: works for any memory layout
        original = x[i]

        def at(offset: float, i=i, original=original) -> float:
            x[i] = original + offset
            return f()

        if stencil == 2:
            grad[i] = (at(eps) - at(-eps)) / (2 * eps)
        else:
            grad[i] = (-at(2 * eps) + 8 * at(eps) - 8 * at(-eps) + at(-2 * eps)) / (12 * eps)
        x[i] = original
    return grad


def gradcheck(model, loss, x: np.ndarray, y: np.ndarray, eps: float = 1e-5, *, max_checks: int | None = None,
              rng: np.random.Generator | None = None, stencil: int = 2) -> dict[str, float]:
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
        numeric = numerical_gradient(evaluate, param, eps, indices, stencil)
        picked = slice(None) if indices is None else indices
        errors[name] = float(
            relative_error(analytic[name].reshape(-1)[picked], numeric.reshape(-1)[picked]).max(initial=0.0)
        )
    return errors
