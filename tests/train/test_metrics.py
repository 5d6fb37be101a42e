"""Bounded training history: DecimatingSeries keeps a whole run in fixed memory; History round-trips its state."""

import math

import numpy as np
import pytest

from nntui.train.metrics import DecimatingSeries, EpochRecord, History

# --- DecimatingSeries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, 1, 3, 63])
def test_capacity_must_be_an_even_number_of_at_least_two(capacity):
    with pytest.raises(ValueError, match="even number >= 2"):
        DecimatingSeries(capacity)


def test_a_short_series_keeps_every_point_as_given():
    series = DecimatingSeries(capacity=64)
    for step in range(1, 11):
        series.append(step, step * 0.5)
    xs, ys = series.arrays()
    assert len(series) == 10
    np.testing.assert_array_equal(xs, np.arange(1, 11))
    np.testing.assert_array_equal(ys, np.arange(1, 11) * 0.5)


def test_a_million_points_fit_in_capacity_with_the_mean_preserved_over_the_whole_run():
    n_points, capacity = 1_000_000, 64
    series = DecimatingSeries(capacity)
    for i in range(n_points):
        series.append(float(i), float(i))  # a linear ramp: y = x

    assert len(series) <= capacity
    assert len(series.xs) <= capacity
    # Every stored point is the mean of `stride` consecutive raw points, so the stored points are the means
    # of the first len(xs) * stride inputs; the rest are still filling the next bucket.
    consumed = len(series.xs) * series.stride
    assert consumed <= n_points < consumed + series.stride
    ramp = np.arange(n_points, dtype=np.float64)
    assert np.mean(series.ys) == pytest.approx(ramp[:consumed].mean(), rel=1e-9)
    assert np.mean(series.ys) == pytest.approx(ramp.mean(), rel=0.02)
    # Each stored y is the mean of its own bucket of the ramp, checked bucket by bucket.
    expected_buckets = ramp[:consumed].reshape(len(series.xs), series.stride).mean(axis=1)
    np.testing.assert_allclose(series.ys, expected_buckets, rtol=1e-9)

    xs, _ys = series.arrays()  # includes the partial bucket
    assert xs[0] < 0.05 * n_points, "the start of the run was dropped"
    assert xs[-1] > 0.95 * n_points, "the end of the run was dropped"
    gaps = np.diff(series.xs)
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-9)  # an even resolution over the whole run


def test_arrays_include_the_bucket_still_filling():
    series = DecimatingSeries(capacity=4)
    for i in range(7):  # 4 points fill it: halve to 2 at stride 2; then 4-5 make a third, 6 is pending
        series.append(i, 10.0 * i)
    xs, ys = series.arrays()
    assert series.stride == 2
    np.testing.assert_array_equal(xs, [0.5, 2.5, 4.5, 6.0])
    np.testing.assert_array_equal(ys, [5.0, 25.0, 45.0, 60.0])
    assert len(series) == 4


def test_series_state_round_trip_continues_identically():
    original = DecimatingSeries(capacity=8)
    for i in range(37):
        original.append(i, math.sin(i))
    copy = DecimatingSeries.from_state(original.state())
    for series in (original, copy):
        for i in range(37, 50):
            series.append(i, math.sin(i))
    for mine, reference in zip(copy.arrays(), original.arrays()):
        np.testing.assert_array_equal(mine, reference)
    assert copy.state() == original.state()


# --- History -------------------------------------------------------------------------------------------------


def make_history() -> History:
    history = History(capacity=16)
    for step in range(1, 101):
        history.record_step(step, 1.0 / step, min(1.0, step / 50))
        if step % 10 == 0:
            history.record_grad_norm("0", step, 0.1 * step)
    history.epochs.append(EpochRecord(epoch=1, step=50, train_loss=0.5, train_accuracy=0.8,
                                      val_loss=0.6, val_accuracy=0.75, seconds=0.25))
    history.lr_changes += [(0, 0.01), (40, 0.003)]
    return history


def test_history_state_round_trip_is_equal():
    history = make_history()
    restored = History.from_state(history.state())
    assert restored.state() == history.state()
    assert restored.epochs == history.epochs
    assert restored.lr_changes == history.lr_changes
    for mine, reference in zip(restored.step_loss.arrays(), history.step_loss.arrays()):
        np.testing.assert_array_equal(mine, reference)


def test_history_from_state_is_a_copy():
    history = make_history()
    restored = History.from_state(history.state())
    history.record_step(101, 0.0, 1.0)
    history.epochs.append(history.epochs[0])
    history.lr_changes.append((101, 0.1))
    history.record_grad_norm("0", 101, 9.0)
    assert restored.state() == make_history().state()


def test_history_reads_nan_back_from_json_null():
    history = History()
    history.epochs.append(EpochRecord(epoch=1, step=5, train_loss=0.5, train_accuracy=math.nan,
                                      val_loss=0.4, val_accuracy=math.nan, seconds=0.1))
    state = history.state()
    state["epochs"][0]["train_accuracy"] = None  # what a strict JSON writer stores for NaN
    state["epochs"][0]["val_accuracy"] = None
    record = History.from_state(state).epochs[0]
    assert math.isnan(record.train_accuracy) and math.isnan(record.val_accuracy)
    assert record.val_loss == 0.4


def test_history_series_stay_within_capacity():
    history = History(capacity=32)
    for step in range(1, 5001):
        history.record_step(step, 1.0, 0.5)
        history.record_grad_norm("2", step, 0.1)
    assert len(history.step_loss) <= 32
    assert len(history.step_accuracy) <= 32
    assert len(history.grad_norms["2"]) <= 32


def test_history_keeps_a_series_it_is_given_even_when_empty():
    # bug: History.__post_init__ tests `self.step_loss or ...`; an empty DecimatingSeries has len 0 and is
    # falsy, so it is silently replaced by a new series with the History's capacity.
    given = DecimatingSeries(capacity=8)
    history = History(capacity=64, step_loss=given)
    assert history.step_loss is given
    assert history.step_loss.capacity == 8
