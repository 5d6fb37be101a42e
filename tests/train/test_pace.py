"""The pace arithmetic: the key ladder, the watching pace of a default run, steps per wake-up."""

import pytest

from nntui.train import pace


def test_faster_climbs_the_ladder_to_full_speed_in_a_few_presses():
    seen, current = [], 1.0
    while current is not None:
        seen.append(current)
        current = pace.faster(current)
    assert seen == [1, 3, 10, 30, 100, 300, 1000]
    assert len(seen) <= 8
    assert pace.faster(None) is None  # full speed stays full speed


def test_slower_comes_down_from_full_speed_and_stops_at_one_step_a_second():
    assert pace.slower(None) == 1000
    assert pace.slower(1000) == 300
    assert pace.slower(3) == 1
    assert pace.slower(1) == 1


def test_a_pace_between_rungs_moves_to_the_nearest_rung_in_that_direction():
    assert pace.faster(37) == 100
    assert pace.slower(37) == 30
    assert pace.faster(30.00001) == 100  # rounding noise does not count as "above"


@pytest.mark.parametrize("steps", [300, 520, 900, 1350, 5000])
def test_the_watching_pace_makes_a_run_last_at_least_20_seconds(steps):
    watching = pace.watching_pace(steps)
    assert watching == int(watching) and 1 <= watching <= 1000
    assert steps / watching >= 20
    assert steps / watching <= pace.WATCH_SECONDS * 1.5  # and not much longer than asked


def test_a_tiny_run_gets_the_slowest_pace_and_a_huge_one_the_fastest_rung():
    assert pace.watching_pace(5) == 1
    assert pace.watching_pace(0) == 1
    assert pace.watching_pace(10**9) == 1000


@pytest.mark.parametrize("rate", [1, 3, 30, 100, 119, 121, 300, 1000, 5000])
def test_steps_per_wake_keep_the_pace_and_never_wait_less_than_the_minimum(rate):
    steps, wait = pace.steps_per_wake(rate)
    assert steps >= 1
    assert steps / wait == pytest.approx(rate)
    assert wait >= pace.MIN_WAIT * 0.999 or steps == 1
    if rate <= 1 / pace.MIN_WAIT:
        assert steps == 1  # slow enough to see each step


def test_a_pace_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        pace.steps_per_wake(0)


def test_labels():
    assert [pace.label(p) for p in (None, 1, 30, 0.5)] == ["full speed", "1 step/s", "30 steps/s", "0.5 steps/s"]
