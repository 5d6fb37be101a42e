"""The health check's rules, one threshold at a time, on LayerStats built by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest

from nntui.train.insight import health
from nntui.train.insight.health import Finding, diagnose, power_of_ten
from nntui.train.session import LayerStats


def layer(index: int = 0, *, grad: float = 0.1, weight: float = 1.0, update_ratio: float = 1e-3,
          dead: float | None = None, saturation: float | None = None, activation: str | None = "relu") -> LayerStats:
    """A healthy layer unless told otherwise."""
    if activation in ("relu", "leaky_relu") and dead is None:
        dead = 0.1
    return LayerStats(index=index, name=f"{index} 16->16" + (f" {activation}" if activation else ""),
                      grad_norm_w=grad, grad_norm_b=grad / 10, weight_norm=weight, update_ratio=update_ratio,
                      dead_fraction=dead, saturation=saturation, activation=activation)


def network(*layers: LayerStats) -> tuple[LayerStats, ...]:
    """Give the layers the indices of a Linear/activation stack: 0, 2, 4, ..."""
    return tuple(dataclasses.replace(stats, index=2 * i, name=f"{2 * i} " + stats.name.split(" ", 1)[1])
                 for i, stats in enumerate(layers))


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_healthy_layers_give_no_findings():
    assert diagnose(network(layer(), layer(grad=0.3), layer(grad=0.5, activation=None))) == []


def test_no_layers_give_no_findings():
    assert diagnose(()) == []


# -- update-to-weight ratio ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ratio", "severity", "words"), [
    (0.5, "alarm", "as large as the weights"),
    (0.05, "warning", "updates are large"),
    (1e-6, "warning", "barely move"),
    (1e-8, "alarm", "stopped moving"),
])
def test_update_ratio_out_of_range(ratio, severity, words):
    finding = only(diagnose((layer(update_ratio=ratio),)))
    assert (finding.severity, finding.quantity, finding.layer) == (severity, health.UPDATE, "1 16->16 relu")
    assert words in finding.what
    key = "with -" if ratio > 1e-3 else "with +"  # too large: lower the rate; too small: raise it
    assert key in finding.hint


def test_the_alarm_for_huge_updates_says_training_is_unstable():
    assert "training is unstable" in only(diagnose((layer(update_ratio=0.5),))).what


@pytest.mark.parametrize("ratio", [health.UPDATE_RATIO_WARNING_HIGH, 1e-3, health.UPDATE_RATIO_WARNING_LOW])
def test_update_ratio_at_or_inside_the_thresholds_is_fine(ratio):
    assert diagnose((layer(update_ratio=ratio),)) == []


def test_the_thresholds_are_the_documented_ones():
    assert (health.UPDATE_RATIO_ALARM_HIGH, health.UPDATE_RATIO_WARNING_HIGH) == (1e-1, 3e-2)
    assert (health.UPDATE_RATIO_WARNING_LOW, health.UPDATE_RATIO_ALARM_LOW) == (1e-5, 1e-7)
    assert (health.VANISHING_RATIO, health.EXPLODING_RATIO, health.EXPLODING_GRAD_NORM) == (1e-3, 1e3, 1e3)
    assert (health.DEAD_WARNING, health.DEAD_ALARM, health.SATURATION_WARNING) == (0.5, 0.9, 0.5)


# -- vanishing and exploding gradients -------------------------------------------------------------------------

def test_first_layer_gradient_far_below_the_last_is_vanishing():
    layers = network(layer(grad=1e-5), layer(grad=1e-3), layer(grad=0.1, activation=None))
    finding = only(diagnose(layers))
    assert (finding.severity, finding.quantity, finding.layer) == ("warning", health.GRADIENT, "1 16->16 relu")
    assert "vanishing" in finding.what
    assert "relu (t on the Model tab)" in finding.hint and "fewer layers" in finding.hint and "reset (r)" in finding.hint


def test_a_gradient_that_shrinks_less_than_a_thousandfold_is_not_vanishing():
    assert diagnose(network(layer(grad=2e-4), layer(grad=0.1, activation=None))) == []


def test_a_gradient_norm_above_1e3_is_exploding():
    finding = only(diagnose(network(layer(grad=0.1), layer(grad=5e3), layer(grad=0.1, activation=None))))
    assert (finding.severity, finding.quantity, finding.layer) == ("alarm", health.GRADIENT, "2 16->16 relu")
    assert "exploding" in finding.what and "with -" in finding.hint


def test_first_layer_gradient_far_above_the_last_is_exploding():
    finding = only(diagnose(network(layer(grad=50.0), layer(grad=1e-2, activation=None))))
    assert (finding.severity, finding.layer) == ("alarm", "1 16->16 relu")
    assert "exploding" in finding.what


def test_exploding_is_said_once_when_both_rules_fire_on_the_first_layer():
    findings = diagnose(network(layer(grad=5e3), layer(grad=1e-2, activation=None)))
    assert [f.quantity for f in findings] == [health.GRADIENT]


def test_all_zero_gradients_before_the_first_step_are_not_vanishing():
    assert diagnose(network(layer(grad=0.0, update_ratio=math.nan), layer(grad=0.0, update_ratio=math.nan))) == []


def test_a_single_layer_has_nothing_to_compare():
    assert diagnose((layer(grad=1e-9, activation=None),)) == []


# -- dead and saturated units ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("dead", "severity"), [(0.6, "warning"), (0.95, "alarm")])
def test_dead_relu_units_need_a_reset_to_come_back(dead, severity):
    finding = only(diagnose((layer(dead=dead),)))
    assert (finding.severity, finding.quantity) == (severity, health.DEAD)
    assert "dead" in finding.what
    assert "with -" in finding.hint and "reset (r)" in finding.hint  # a lower rate alone revives nothing
    if severity == "alarm":
        assert finding.hint.startswith("only a reset (r) revives them") and "leaky_relu" in finding.hint


def test_half_the_units_dead_or_fewer_is_fine():
    assert diagnose((layer(dead=0.5),)) == []


def test_dead_leaky_relu_units_are_not_told_to_switch_to_leaky_relu():
    finding = only(diagnose((layer(dead=0.7, activation="leaky_relu"),)))
    assert "leaky_relu units" in finding.what and "make the layer leaky_relu" not in finding.hint


def test_saturated_tanh():
    finding = only(diagnose((layer(saturation=0.8, activation="tanh"),)))
    assert (finding.severity, finding.quantity) == ("warning", health.SATURATION)
    assert "+-1" in finding.what
    assert "with -" in finding.hint and "reset (r)" in finding.hint and "relu (t on the Model tab)" in finding.hint


def test_saturated_sigmoid_names_its_limits():
    assert "0 or 1" in only(diagnose((layer(saturation=0.9, activation="sigmoid"),))).what


def test_half_saturated_or_less_is_fine():
    assert diagnose((layer(saturation=0.5, activation="tanh"),)) == []


# -- missing numbers are skipped, never alarmed ----------------------------------------------------------------

def test_nan_and_missing_values_are_skipped():
    nan = math.nan
    layers = network(layer(grad=nan, update_ratio=nan, dead=nan, activation="relu"),
                     layer(grad=0.1, update_ratio=nan, saturation=nan, activation="tanh"),
                     layer(grad=nan, update_ratio=math.inf, activation=None))
    assert diagnose(layers) == []


def test_a_nan_gradient_in_the_last_layer_does_not_hide_other_findings():
    layers = network(layer(grad=0.1, dead=0.99), layer(grad=math.nan, activation=None))
    assert [f.quantity for f in diagnose(layers)] == [health.DEAD]


# -- the shape of a finding ------------------------------------------------------------------------------------

def test_one_finding_per_layer_the_most_serious_first():
    layers = network(layer(grad=1e-6, update_ratio=0.5), layer(grad=0.1, dead=0.95, activation="relu"),
                     layer(grad=0.1, update_ratio=0.05, activation=None))
    # Layer 1: unstable updates beat its vanishing gradient; layer 2: dead; layer 3: large updates.
    assert [(f.layer.split()[0], f.quantity, f.severity) for f in diagnose(layers)] == [
        ("1", health.UPDATE, "alarm"), ("2", health.DEAD, "alarm"), ("3", health.UPDATE, "warning")]


def test_dead_units_and_tiny_updates_never_give_opposite_advice():
    # Digits at lr 6 (the case): one layer nearly all dead, the layers after it barely moving. The tiny
    # updates are the dead layer's doing: "raise the rate" there would contradict "lower it" and kill more units.
    layers = network(layer(update_ratio=1e-6, dead=0.1), layer(update_ratio=1e-6, dead=0.97),
                     layer(update_ratio=1e-6, activation=None))
    findings = diagnose(layers)
    assert len(findings) == 3
    assert not any("raise" in f.hint and "with +" in f.hint for f in findings[1:])
    assert findings[1].quantity == health.DEAD and findings[1].hint.startswith("only a reset (r)")
    assert "layer 2's dead units" in findings[2].what and findings[2].hint.startswith("fix layer 2 first")
    assert "with +" in findings[0].hint  # before the dead layer, a tiny update is the rate's doing


def test_hints_name_only_controls_the_app_has():
    cases = [layer(update_ratio=0.5), layer(update_ratio=0.05), layer(update_ratio=1e-6), layer(update_ratio=1e-8),
             layer(dead=0.6), layer(dead=0.95), layer(saturation=0.9, activation="tanh"),
             layer(saturation=0.9, activation="sigmoid"), layer(grad=5e3)]
    for stats in cases:
        hint = only(diagnose((stats,))).hint
        assert "init" not in hint and "model." not in hint and "batch" not in hint, hint  # no field for these
        assert any(key in hint for key in ("with -", "with +", "(r)", "t on the Model tab")), hint


def test_findings_are_immutable():
    finding = only(diagnose((layer(update_ratio=0.5),)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.severity = "warning"


def test_powers_of_ten_print_as_the_table_reads_them():
    assert [power_of_ten(x) for x in (1e-1, 1e-7, 1e3)] == ["1e-1", "1e-7", "1e3"]
