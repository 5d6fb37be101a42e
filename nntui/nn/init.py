"""Weight initialisers.

A layer's weights must start small and random: all-equal weights would make every unit in a layer compute the
same thing forever, and weights that are too large or too small make the signal explode or vanish as it passes
through many layers. The two classic recipes scale the random draw by the layer's fan-in (and fan-out) so that
the variance of the activations stays roughly constant from layer to layer:

- He (Kaiming) initialisation, for ReLU-family activations: ``Var(W) = 2 / fan_in``.
- Xavier (Glorot) initialisation, for Tanh and Sigmoid:      ``Var(W) = 2 / (fan_in + fan_out)``.

Each comes as a normal draw with that variance, or a uniform draw on ``[-limit, limit]`` with the same variance
(``limit = sqrt(3 * Var)``). Draws are made in float64 from the caller's ``numpy.random.Generator`` and then cast,
so a float32 and a float64 model built from the same seed start from the same weights (up to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nntui.nn.registry import registered


def he_variance(fan_in: int, fan_out: int) -> float:
    return 2.0 / fan_in


def xavier_variance(fan_in: int, fan_out: int) -> float:
    return 2.0 / (fan_in + fan_out)


def normal(variance) -> Callable:
    """A draw from N(0, variance(fan_in, fan_out))."""
    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((fan_in, fan_out)) * math.sqrt(variance(fan_in, fan_out))
    return draw


def uniform(variance) -> Callable:
    """A draw from U(-limit, limit) with limit = sqrt(3 * variance), which has that variance."""
    def draw(fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        limit = math.sqrt(3.0 * variance(fan_in, fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))
    return draw


#: The initialisers a run configuration can name: each draws a float64 (fan_in, fan_out) matrix.
INITIALISERS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "he_normal": normal(he_variance),
    "he_uniform": uniform(he_variance),
    "xavier_normal": normal(xavier_variance),
    "xavier_uniform": uniform(xavier_variance),
}
_ALIASES = {"he": "he_normal", "kaiming": "he_normal", "xavier": "xavier_normal", "glorot": "xavier_normal"}


def init_variance(name: str, fan_in: int, fan_out: int) -> float:
    """The variance each initialiser aims for."""
    name = _ALIASES.get(name, name)
    return he_variance(fan_in, fan_out) if name.startswith("he") else xavier_variance(fan_in, fan_out)


def init_weights(
    name: str, fan_in: int, fan_out: int, *, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Draw a (fan_in, fan_out) weight matrix with the named initialiser (see ``INITIALISERS``; ``he`` and
    ``xavier`` are short for the normal versions)."""
    draw = registered(INITIALISERS, _ALIASES.get(name, name), "initialiser")
    return draw(fan_in, fan_out, rng).astype(dtype, copy=False)
