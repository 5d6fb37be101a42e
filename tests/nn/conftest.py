"""Helpers shared by the engine tests, offered as fixtures.

The gradient checks here are written independently of ``nntui.nn.gradcheck`` so that the engine's own checker
is itself under test rather than trusted. They judge errors as ``gradcheck.relative_error`` does, against a more
accurate reference:

- the reference gradient is a central finite difference, one entry at a time, in float64: the fourth-order
  ``(-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / (12 h)`` with ``h = 1e-4``, rather than the two-point
  ``(f(x + eps) - f(x - eps)) / (2 eps)``. The two-point formula needs a tiny ``eps`` to keep its truncation
  error (order ``eps^2``) down, and then rounding in ``f`` (about 1e-16 times the loss, divided by ``2 eps``)
  costs 1e-11 to 1e-10 of absolute accuracy: relative errors up to a few 1e-6 on gradient entries near the
  floor below. The four-point formula's truncation error is of order ``h^4``, so it can take a step 10 to 100
  times larger, which makes its rounding error that much smaller;
- the error of each entry is ``|mine - reference| / max(|mine|, |reference|, 1e-4)``: a relative error, with a
  floor so that two gradients that are both almost zero do not count as far apart;
- a gradient passes when its largest error is below ``1e-6``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

FINITE_DIFFERENCE_STEP = 1e-4
RELATIVE_ERROR_FLOOR = 1e-4
GRADIENT_TOLERANCE = 1e-6

#: ReLU-family layers have a kink at 0, where finite differences straddle two slopes: keep inputs this far away
#: (the stencil reaches 2 h = 2e-4 from the point).
KINK_MARGIN = 1e-3


def _finite_differences(f: Callable[[], float], x: np.ndarray, h: float = FINITE_DIFFERENCE_STEP) -> np.ndarray:
    """The fourth-order central difference of the scalar ``f()`` with respect to every entry of ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored.
    """
    reference = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        values = {}
        for steps in (2, 1, -1, -2):
            x[index] = original + steps * h
            values[steps] = f()
        x[index] = original
        reference[index] = (-values[2] + 8 * values[1] - 8 * values[-1] + values[-2]) / (12 * h)
    return reference


def _assert_gradients_close(name: str, mine: np.ndarray, reference: np.ndarray,
                            tolerance: float = GRADIENT_TOLERANCE) -> None:
    """Fail with mine beside the reference, and the worst entry, when the relative error reaches ``tolerance``."""
    mine = np.asarray(mine, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    assert mine.shape == reference.shape, f"{name}: gradient shape {mine.shape}, expected {reference.shape}"
    scale = np.maximum(np.maximum(np.abs(mine), np.abs(reference)), RELATIVE_ERROR_FLOOR)
    errors = np.abs(mine - reference) / scale
    worst = np.unravel_index(np.argmax(errors), errors.shape) if errors.size else ()
    assert errors.max(initial=0.0) < tolerance, (
        f"dL/d{name}: relative error {errors[worst]:.3e} at {worst}: "
        f"mine {mine[worst]!r}, reference {reference[worst]!r}\n"
        f"mine:\n{mine}\nreference (central differences):\n{reference}"
    )


def _draw_away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 2.0) -> np.ndarray:
    """Normal draws times ``scale``, with every entry redrawn until it lies at least ``KINK_MARGIN`` from 0."""
    x = scale * rng.standard_normal(shape)
    while (too_close := np.abs(x) < KINK_MARGIN).any():
        x[too_close] = scale * rng.standard_normal(int(too_close.sum()))
    return x


@pytest.fixture
def finite_differences():
    """``finite_differences(f, x)``: the central-difference gradient of the scalar ``f()`` with respect to x."""
    return _finite_differences


@pytest.fixture
def assert_gradients_close():
    """``assert_gradients_close(name, mine, reference)``: relative error below 1e-6 (floor 1e-4) everywhere."""
    return _assert_gradients_close


@pytest.fixture
def draw_away_from_zero():
    """``draw_away_from_zero(rng, shape)``: random inputs none of which lies within 1e-3 of a ReLU kink."""
    return _draw_away_from_zero
