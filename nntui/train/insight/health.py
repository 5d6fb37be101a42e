"""Layer health: read the per-layer numbers of a snapshot and say, in plain words, what looks wrong.

``diagnose(layers)`` takes the ``LayerStats`` the session publishes (the same numbers the gradients tab shows) and
returns ``Finding`` objects: which layer, how serious ("warning" or "alarm"), what is happening and what to try.
Every threshold is a module constant below, so a teacher can read (and question) the rules in one place.

The rules of thumb behind them:

- **Update-to-weight ratio** ``||W_after - W_before|| / ||W||``: a healthy step changes the weights by about a
  thousandth of their size. Far more and training jumps around or diverges; far less and it crawls.
- **Vanishing / exploding gradients**: backpropagation multiplies by every layer's weights and activation slopes
  on the way to the input. If that product shrinks, the first layer's gradient is tiny next to the last one's and
  the early layers hardly learn; if it grows, the gradients blow up.
- **Dead ReLU units**: a ReLU unit whose input is negative for every sample outputs 0 and passes no gradient, so it
  may never recover. A few are normal; most of a layer is not.
- **Saturation**: Tanh and Sigmoid flatten out near their limits (+-1, or 0 and 1), where their slope is almost 0.
  A layer whose outputs sit there passes almost no gradient back.

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
    """Every finding for these layers, layer by layer (input side first), gradient-flow findings first.

    Each finding names its layer as every tab does (``numbering.stats_label``: "1 2->64 relu").
    """
    findings = _gradient_flow(layers)
    for stats in layers:
        findings += _update_size(stats) + _dead_units(stats) + _saturation(stats)
    labels = {stats.name: stats_label(position, stats) for position, stats in enumerate(layers)}
    return [replace(finding, layer=labels.get(finding.layer, finding.layer)) for finding in findings]


def power_of_ten(value: float) -> str:
    """A threshold as a power of ten, the way the table prints ratios: 1e-3, 1e3."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _gradient_flow(layers: tuple[LayerStats, ...]) -> list[Finding]:
    """Exploding gradients in any layer; vanishing or exploding between the first and the last layer."""
    exploding_hint = f"{_LOWER_LR}; or use fewer layers, or Xavier/He initialisation (model.init)"
    findings = [
        Finding(stats.name, "alarm", f"exploding gradients (|dW| above {power_of_ten(EXPLODING_GRAD_NORM)})",
                exploding_hint, GRADIENT)
        for stats in layers if _known(stats.grad_norm_w) and stats.grad_norm_w > EXPLODING_GRAD_NORM
    ]
    if len(layers) < 2:
        return findings
    first, last = layers[0], layers[-1]
    if not (_known(first.grad_norm_w) and _known(last.grad_norm_w)) or last.grad_norm_w <= 0:
        return findings  # no gradient yet (all zeros before the first step): nothing to compare
    ratio = first.grad_norm_w / last.grad_norm_w
    if ratio < VANISHING_RATIO:
        findings.append(Finding(
            first.name, "warning",
            f"vanishing gradients: the first layer's |dW| is only {ratio:.0e} of the last layer's, "
            "so the layers near the input hardly learn",
            "use relu with He initialisation (Model tab, 2), fewer layers, or another batch size", GRADIENT))
    elif ratio > EXPLODING_RATIO and first.grad_norm_w <= EXPLODING_GRAD_NORM:  # else already said above
        findings.append(Finding(
            first.name, "alarm",
            f"exploding gradients: the first layer's |dW| is {ratio:.0e} times the last layer's",
            exploding_hint, GRADIENT))
    return findings


def _update_size(stats: LayerStats) -> list[Finding]:
    ratio = stats.update_ratio
    if not _known(ratio):
        return []  # NaN before the first measured update
    healthy = "healthy is about 1e-3"
    if ratio > UPDATE_RATIO_ALARM_HIGH:
        return [Finding(stats.name, "alarm", f"updates are as large as the weights (upd/W above "
                        f"{power_of_ten(UPDATE_RATIO_ALARM_HIGH)}): training is unstable", _LOWER_LR, UPDATE)]
    if ratio > UPDATE_RATIO_WARNING_HIGH:
        return [Finding(stats.name, "warning", f"updates are large (upd/W above {power_of_ten(UPDATE_RATIO_WARNING_HIGH)}; "
                        f"{healthy}): the loss may jump around", _LOWER_LR, UPDATE)]
    if ratio < UPDATE_RATIO_ALARM_LOW:
        return [Finding(stats.name, "alarm", f"the weights have stopped moving (upd/W below "
                        f"{power_of_ten(UPDATE_RATIO_ALARM_LOW)}; {healthy})",
                        f"{_RAISE_LR}; if |dW| is tiny too, the gradient vanishes before it reaches the layer",
                        UPDATE)]
    if ratio < UPDATE_RATIO_WARNING_LOW:
        return [Finding(stats.name, "warning", f"the weights barely move (upd/W below "
                        f"{power_of_ten(UPDATE_RATIO_WARNING_LOW)}; {healthy}): training crawls", _RAISE_LR, UPDATE)]
    return []


def _dead_units(stats: LayerStats) -> list[Finding]:
    dead = stats.dead_fraction
    if not _known(dead) or dead <= DEAD_WARNING:
        return []
    activation = stats.activation or "relu"
    if dead > DEAD_ALARM:
        severity: Severity = "alarm"
        what = f"nearly all {activation} units are dead (over {DEAD_ALARM:.0%})"
    else:
        severity, what = "warning", f"most {activation} units are dead (over {DEAD_WARNING:.0%})"
    what += ": they output 0 for every sample of the batch, so they pass no gradient and stop learning"
    switch = "switch to leaky_relu (Model tab, 2), or " if activation == "relu" else ""
    hint = f"{_LOWER_LR}; or {switch}use He initialisation (model.init)"
    return [Finding(stats.name, severity, what, hint, DEAD)]


def _saturation(stats: LayerStats) -> list[Finding]:
    share = stats.saturation
    if not _known(share) or share <= SATURATION_WARNING:
        return []
    activation = stats.activation or "the activation"
    limits = "0 or 1" if activation == "sigmoid" else "+-1"
    what = (f"{activation} is saturated (over {SATURATION_WARNING:.0%} of its outputs near {limits}, where its "
            "slope is almost 0): little gradient gets through")
    hint = f"use Xavier initialisation (model.init), {_LOWER_LR}, or try relu (Model tab, 2)"
    return [Finding(stats.name, "warning", what, hint, SATURATION)]


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
