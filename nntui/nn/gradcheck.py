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

import math
import warnings
from collections.abc import Callable, Mapping

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


#: A gradient passes when its largest relative error (float64, central differences, eps 1e-5) is below this.
TOLERANCE = 1e-6


class GradcheckResult(Mapping):
    """The outcome of ``gradcheck``: per named parameter its largest relative error (a read-only mapping,
    ``result["0.W"]``), the data's gradient's in ``input_error``, and the verdict in ``passed``."""

    def __init__(self, errors: dict[str, float], input_error: float | None, tolerance: float) -> None:
        self.errors, self.input_error, self.tolerance = errors, input_error, tolerance

    def __getitem__(self, name: str) -> float:
        return self.errors[name]

    def __iter__(self):
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over every parameter and dL/dx (NaN if any error is NaN)."""
        values = [*self.errors.values(), *([] if self.input_error is None else [self.input_error])]
        return max(values, key=lambda e: math.inf if math.isnan(e) else e, default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_rel_error < self.tolerance  # False for NaN

    def __repr__(self) -> str:
        parts = [f"{name} {error:.1e}" for name, error in self.errors.items()]
        if self.input_error is not None:
            parts.append(f"dL/dx {self.input_error:.1e}")
        verdict = "passed" if self.passed else "FAILED"
        return f"<gradcheck {verdict}: max relative error {self.max_rel_error:.1e} (tolerance {self.tolerance:g}); " \
               + ", ".join(parts) + ">"


def gradcheck(model, loss, x: np.ndarray, y: np.ndarray, eps: float = 1e-5, *, max_checks: int | None = None,
              rng: np.random.Generator | None = None, stencil: int = 2,
              regime: Callable[[], object] | None = None, input_grad: bool = True,
              tolerance: float = TOLERANCE) -> GradcheckResult:
    """Compare every parameter's gradient, and dL/dx of the data, with central finite differences.

    Use a float64 model: float32 has too few digits to tell a right gradient from a wrong one. The passes are
    training passes (the backward needs what they keep); a layer that draws random numbers (dropout) has its
    generator rewound before every evaluation, so it draws the same mask each time and its backward is checked
    too. ``max_checks`` samples that many entries of each larger array (seeded by ``rng``) instead of all of them.
    Entries whose finite differences cross a kink (a ReLU input changing sign) measure no derivative and are left
    out, judged by the layers' ``regime()`` (or by ``regime``, if given). Returns a ``GradcheckResult``: a
    mapping ``{"0.W": 3.1e-10, ...}`` with ``.input_error``, ``.max_rel_error`` and ``.passed`` (below
    ``tolerance``, 1e-6 by default: a right gradient is near 1e-9 or better, a wrong one orders above).
    """

    low = {str(param.dtype) for _name, param, _grad in model.parameters() if param.dtype != np.float64}
    if low:
        # float32 finite differences are mostly rounding noise: the errors would look like a broken backward pass.
        warnings.warn(f"gradcheck on a {', '.join(sorted(low))} model: finite differences need float64 "
                      f"(build the model with dtype=np.float64); the errors below are mostly rounding noise",
                      stacklevel=2)
    generators = [layer.rng for layer in model.layers if isinstance(getattr(layer, "rng", None), np.random.Generator)]
    saved_states = [g.bit_generator.state for g in generators]
    if regime is None:
        def regime() -> bytes:
            return b"".join(layer.regime() for layer in model.layers)

    x = np.array(x, dtype=model.dtype)  # a copy: the check perturbs it

    def evaluate() -> float:
        for generator, state in zip(generators, saved_states):
            generator.bit_generator.state = state
        return loss.forward(model.forward(x, training=True), y)

    evaluate()
    analytic_x = model.backward(loss.backward(), input_grad=True) if input_grad else None
    analytic = {name: grad.copy() for name, _param, grad in model.parameters()}
    rng = np.random.default_rng(0) if rng is None else rng

    def max_error(array: np.ndarray, reference: np.ndarray) -> float:
        indices = None
        if max_checks is not None and array.size > max_checks:
            indices = rng.choice(array.size, size=max_checks, replace=False)
        numeric = numerical_gradient(evaluate, array, eps, indices, stencil, regime)
        picked = slice(None) if indices is None else indices
        return float(np.nanmax(relative_error(reference.reshape(-1)[picked], numeric.reshape(-1)[picked]),
                               initial=0.0))

    errors = {name: max_error(param, analytic[name]) for name, param, _grad in model.parameters()}
    input_error = max_error(x, analytic_x) if input_grad else None
    evaluate()  # leave the layers' caches as the unperturbed pass left them
    return GradcheckResult(errors, input_error, tolerance)
