"""Layer health: read the per-layer numbers of a snapshot and give each layer one diagnosis, in plain words.

``diagnose(layers)`` takes the ``LayerStats`` the session publishes (the same numbers the gradients tab shows) and
returns at most one ``Finding`` per layer: how serious ("warning" or "alarm"), what is happening and the one thing
to try, using only controls the app has (``-``/``+`` for the learning rate, ``r`` to reset, the Model tab's ``t``
for the activation and ``x`` to remove a layer). Every threshold is a module constant below, so a teacher can
read (and question) the rules in one place.

The signals are read together, not one by one, so the advice never contradicts itself:

- **Unstable** (an exploding gradient, or updates as large as the weights): lower the rate.
- **Dead ReLU units**: a unit whose input is negative for every sample outputs 0 and passes no gradient, so no
  learning rate brings it back: lowering the rate only stops more from dying; **only a reset** (new weights)
  revives them. Such a layer starves the layers after it of signal, so their tiny updates are not a reason to
  raise the rate (which would kill more units): they point at the dead layer instead.
- **Saturation**: Tanh and Sigmoid flatten out near their limits (+-1, or 0 and 1), where their slope is almost 0;
  a saturated layer passes almost no gradient back. Usually too large a rate pushed the weights there.
- **Vanishing gradients**: the first layer's gradient is a tiny share of the last one's, so the layers near the
  input hardly learn (many layers of tanh/sigmoid multiply small slopes).
- **Update-to-weight ratio** ``||W_after - W_before|| / ||W||``: a healthy step changes the weights by about a
  thousandth of their size. Far more and training jumps around; far less and it crawls (raise the rate, unless
  the reason is one of the above).

Values that are not finite (NaN before the first update, or after a divergence) and missing ones (no dead share for
a Tanh layer) are skipped: the health check never raises an alarm about a number it does not have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from nntui.train.insight.numbering import stats_label
from nntui.train.session import LayerStats

Severity = Literal["warning", "alarm"]

#: Update-to-weight ratio: above this, one step changes the weights by a tenth of their size or more.
UPDATE_RATIO_ALARM_HIGH = 1e-1
#: Update-to-weight ratio: above this the steps are large (healthy is near 1e-3).
UPDATE_RATIO_WARNING_HIGH = 3e-2
#: Update-to-weight ratio: below this the weights barely move.
UPDATE_RATIO_WARNING_LOW = 1e-5
#: Update-to-weight ratio: below this the weights have practically stopped.
UPDATE_RATIO_ALARM_LOW = 1e-7
#: Vanishing gradients: the first layer's |dW| divided by the last layer's is below this.
VANISHING_RATIO = 1e-3
#: Exploding gradients: a layer's |dW| above this ...
EXPLODING_GRAD_NORM = 1e3
#: ... or the first layer's |dW| divided by the last layer's above this.
EXPLODING_RATIO = 1e3
#: Share of dead ReLU units in a layer that earns a warning, and an alarm.
DEAD_WARNING = 0.5
DEAD_ALARM = 0.9
#: Share of Tanh/Sigmoid outputs near their limits that earns a warning.
SATURATION_WARNING = 0.5

# The LayerStats field each kind of finding is about, so a table can mark the very number.
GRADIENT, UPDATE, DEAD, SATURATION = "grad_norm_w", "update_ratio", "dead_fraction", "saturation"

_LOWER_LR = "lower the learning rate with - (each press halves it)"
_RAISE_LR = "raise the learning rate with + (each press doubles it)"
_ONLY_RESET = "only a reset (r) revives them, with new weights: lower the rate with - first so they do not die again"
_OR_LEAKY = ", or make the layer leaky_relu (t on the Model tab)"
_FEWER_DIE = "lower the learning rate with - so no more die; the dead ones come back only with a reset (r)"
_UNSATURATE = "lower the learning rate with -, then reset (r); or try relu (t on the Model tab)"
_VANISHING = "use relu (t on the Model tab) or fewer layers (x there), then reset (r)"


@dataclass(frozen=True)
class Finding:
    """One thing that looks wrong in one layer, said for a learner, with what to try."""

    layer: str  # the layer as every tab labels it, e.g. "1 2->64 relu"
    severity: Severity
    what: str  # what is happening, in plain words
    hint: str  # what to try, naming the app's key where there is one
    quantity: str = ""  # the LayerStats field it is about (GRADIENT, UPDATE, DEAD or SATURATION)


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def diagnose(layers: tuple[LayerStats, ...]) -> list[Finding]:
    """At most one finding per layer (input side first): the most serious thing its numbers say.

    Each finding names its layer as every tab does (``numbering.stats_label``: "1 2->64 relu").
    """
    labels = [stats_label(position, stats) for position, stats in enumerate(layers)]
    starving = _first_dead_layer(layers)
    findings = []
    for position, stats in enumerate(layers):
        finding = (_unstable(position, layers) or _dead_units(stats) or _saturation(stats)
                   or _vanishing(position, layers) or _update_size(stats, starving, position, labels))
        if finding is not None:
            findings.append(replace(finding, layer=labels[position]))
    return findings


def _first_dead_layer(layers: tuple[LayerStats, ...]) -> int | None:
    """The position of the first layer with most of its units dead (it starves every layer after it)."""
    return next((i for i, stats in enumerate(layers)
                 if _known(stats.dead_fraction) and stats.dead_fraction > DEAD_WARNING), None)


def power_of_ten(value: float) -> str:
    """A threshold as a power of ten, the way the table prints ratios: 1e-3, 1e3."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _unstable(position: int, layers: tuple[LayerStats, ...]) -> Finding | None:
    """Exploding gradients (in the layer, or the first layer's against the last) or updates as large as weights."""
    stats = layers[position]
    if _known(stats.grad_norm_w) and stats.grad_norm_w > EXPLODING_GRAD_NORM:
        return Finding(stats.name, "alarm", f"exploding gradients (|dW| above {power_of_ten(EXPLODING_GRAD_NORM)})",
                       _LOWER_LR, GRADIENT)
    ratio = _first_to_last(layers) if position == 0 else None
    if ratio is not None and ratio > EXPLODING_RATIO:
        return Finding(stats.name, "alarm",
                       f"exploding gradients: the first layer's |dW| is {ratio:.0e} times the last layer's",
                       _LOWER_LR, GRADIENT)
    if _known(stats.update_ratio) and stats.update_ratio > UPDATE_RATIO_ALARM_HIGH:
        return Finding(stats.name, "alarm", "updates are as large as the weights (upd/W above "
                       f"{power_of_ten(UPDATE_RATIO_ALARM_HIGH)}): training is unstable", _LOWER_LR, UPDATE)
    return None


def _first_to_last(layers: tuple[LayerStats, ...]) -> float | None:
    """The first layer's |dW| divided by the last layer's, when both are known (and the last is not zero)."""
    if len(layers) < 2:
        return None
    first, last = layers[0].grad_norm_w, layers[-1].grad_norm_w
    if not (_known(first) and _known(last)) or last <= 0:
        return None  # no gradient yet (all zeros before the first step): nothing to compare
    return first / last


def _dead_units(stats: LayerStats) -> Finding | None:
    dead = stats.dead_fraction
    if not _known(dead) or dead <= DEAD_WARNING:
        return None
    activation = stats.activation or "relu"
    passes = ": they output 0 for every sample of the batch, so they pass no gradient and stop learning"
    if dead > DEAD_ALARM:
        hint = _ONLY_RESET + (_OR_LEAKY if activation == "relu" else "")
        return Finding(stats.name, "alarm", f"nearly all {activation} units are dead (over {DEAD_ALARM:.0%})"
                       + passes, hint, DEAD)
    return Finding(stats.name, "warning", f"most {activation} units are dead (over {DEAD_WARNING:.0%})" + passes,
                   _FEWER_DIE, DEAD)


def _saturation(stats: LayerStats) -> Finding | None:
    share = stats.saturation
    if not _known(share) or share <= SATURATION_WARNING:
        return None
    activation = stats.activation or "the activation"
    limits = "0 or 1" if activation == "sigmoid" else "+-1"
    what = (f"{activation} is saturated (over {SATURATION_WARNING:.0%} of its outputs near {limits}, where its "
            "slope is almost 0): little gradient gets through")
    return Finding(stats.name, "warning", what, _UNSATURATE, SATURATION)


def _vanishing(position: int, layers: tuple[LayerStats, ...]) -> Finding | None:
    ratio = _first_to_last(layers) if position == 0 else None
    if ratio is None or ratio >= VANISHING_RATIO:
        return None
    return Finding(layers[0].name, "warning",
                   f"vanishing gradients: the first layer's |dW| is only {ratio:.0e} of the last layer's, "
                   "so the layers near the input hardly learn", _VANISHING, GRADIENT)


def _update_size(stats: LayerStats, starving: int | None, position: int, labels: list[str]) -> Finding | None:
    """Updates too large or too small; tiny ones after a layer of dead units are that layer's doing."""
    ratio = stats.update_ratio
    if not _known(ratio):
        return None  # NaN before the first measured update
    healthy = "healthy is about 1e-3"
    if ratio > UPDATE_RATIO_WARNING_HIGH:
        return Finding(stats.name, "warning", f"updates are large (upd/W above "
                       f"{power_of_ten(UPDATE_RATIO_WARNING_HIGH)}; {healthy}): the loss may jump around",
                       _LOWER_LR, UPDATE)
    if ratio >= UPDATE_RATIO_WARNING_LOW:
        return None
    stopped = ratio < UPDATE_RATIO_ALARM_LOW
    what = (f"the weights have stopped moving (upd/W below {power_of_ten(UPDATE_RATIO_ALARM_LOW)}; {healthy})"
            if stopped else
            f"the weights barely move (upd/W below {power_of_ten(UPDATE_RATIO_WARNING_LOW)}; {healthy}): "
            "training crawls")
    if starving is not None and starving < position:
        dead_layer = labels[starving].split()[0]
        return Finding(stats.name, "warning", what + f", because layer {dead_layer}'s dead units pass it almost "
                       "no signal", f"fix layer {dead_layer} first (a higher rate would kill more units)", UPDATE)
    return Finding(stats.name, "alarm" if stopped else "warning", what, _RAISE_LR, UPDATE)


__all__ = [
    "DEAD_ALARM",
    "DEAD_WARNING",
    "EXPLODING_GRAD_NORM",
    "EXPLODING_RATIO",
    "SATURATION_WARNING",
    "UPDATE_RATIO_ALARM_HIGH",
    "UPDATE_RATIO_ALARM_LOW",
    "UPDATE_RATIO_WARNING_HIGH",
    "UPDATE_RATIO_WARNING_LOW",
    "VANISHING_RATIO",
    "Finding",
    "diagnose",
    "power_of_ten",
]
