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

import numpy as np

INITIALISERS = ("he_normal", "he_uniform", "xavier_normal", "xavier_uniform")
_ALIASES = {"he": "he_normal", "kaiming": "he_normal", "xavier": "xavier_normal", "glorot": "xavier_normal"}


def init_variance(name: str, fan_in: int, fan_out: int) -> float:
    """The variance each initialiser aims for."""
    if name.startswith("he"):
        return 2.0 / fan_in
    return 2.0 / (fan_in + fan_out)


def init_weights(
    name: str, fan_in: int, fan_out: int, *, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Draw a (fan_in, fan_out) weight matrix with the named initialiser.

    ``name`` is one of ``he_normal``, ``he_uniform``, ``xavier_normal``, ``xavier_uniform`` (or the short
    forms ``he`` and ``xavier``, which mean the normal versions).
    """
    name = _ALIASES.get(name, name)
    if name not in INITIALISERS:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {', '.join(INITIALISERS)}")
    variance = init_variance(name, fan_in, fan_out)
    if name.endswith("normal"):
        w = rng.standard_normal((fan_in, fan_out)) * math.sqrt(variance)
    else:
        limit = math.sqrt(3.0 * variance)
        w = rng.uniform(-limit, limit, size=(fan_in, fan_out))
    return w.astype(dtype, copy=False)
