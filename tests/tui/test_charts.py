"""Tests for the chart helpers: bucket averaging and the MetricChart widget."""

import numpy as np
import pytest
from textual.app import App, ComposeResult

from nntui.tui.charts import EMPTY_MESSAGE, MetricChart, Series, bucket_mean

# ---------------------------------------------------------------------------------------------------------
# bucket_mean


def test_bucket_mean_matches_a_hand_worked_example():
    # x = 0..9 over 5 buckets of width 1.8: {0,1} {2,3} {4,5} {6,7} {8,9}
    bx, by = bucket_mean(np.arange(10), np.arange(10) * 10.0, 5)
    np.testing.assert_array_equal(bx, [0.5, 2.5, 4.5, 6.5, 8.5])
    np.testing.assert_array_equal(by, [5.0, 25.0, 45.0, 65.0, 85.0])


def test_bucket_mean_averages_uneven_buckets_exactly():
    # Buckets over [0, 10) of width 5: {0, 1, 2} and {9, 10}; the largest x joins the last bucket.
    bx, by = bucket_mean([0, 1, 2, 9, 10], [3.0, 6.0, 9.0, 1.0, 2.0], 2)
    np.testing.assert_array_equal(bx, [1.0, 9.5])
    np.testing.assert_array_equal(by, [6.0, 1.5])


@pytest.mark.parametrize("n_points, n_buckets", [(1000, 160), (1001, 7), (50, 49), (10_000, 1)])
def test_bucket_mean_never_returns_more_points_than_buckets(n_points, n_buckets):
    rng = np.random.default_rng(n_points)
    xs = np.sort(rng.uniform(0, 100, n_points))
    bx, by = bucket_mean(xs, rng.normal(size=n_points), n_buckets)
    assert bx.shape == by.shape
    assert 1 <= bx.size <= n_buckets
    assert np.all(np.diff(bx) > 0), "bucket x positions should increase"


def test_bucket_mean_keeps_the_overall_mean_when_buckets_hold_equal_counts():
    xs = np.arange(1000)
    ys = np.random.default_rng(0).normal(size=1000)
    _, by = bucket_mean(xs, ys, 100)
    assert by.size == 100
    assert by.mean() == pytest.approx(ys.mean())


def test_bucket_mean_returns_short_series_unchanged():
    bx, by = bucket_mean([1, 2, 3], [4.0, 5.0, 6.0], 10)
    np.testing.assert_array_equal(bx, [1, 2, 3])
    np.testing.assert_array_equal(by, [4.0, 5.0, 6.0])


def test_bucket_mean_skips_nan_values():
    bx, by = bucket_mean([0, 1, 2, 3], [1.0, np.nan, 3.0, np.nan], 1)
    np.testing.assert_array_equal(bx, [1.0])  # mean of x = 0 and 2, the points with a value
    np.testing.assert_array_equal(by, [2.0])
    bx, by = bucket_mean([0, 1, 2], [np.nan, 5.0, np.inf], 10)
    np.testing.assert_array_equal(bx, [1])
    np.testing.assert_array_equal(by, [5.0])


def test_bucket_mean_of_nothing_is_empty():
    for xs, ys in [([], []), ([1.0, 2.0], [np.nan, np.nan])]:
        bx, by = bucket_mean(xs, ys, 10)
        assert bx.size == 0 and by.size == 0


def test_bucket_mean_with_a_single_x_value_gives_one_point():
    bx, by = bucket_mean([5, 5, 5, 5], [1.0, 2.0, 3.0, 4.0], 2)
    np.testing.assert_array_equal(bx, [5.0])
    np.testing.assert_array_equal(by, [2.5])


def test_bucket_mean_refuses_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        bucket_mean([1, 2, 3], [1.0, 2.0], 2)
    with pytest.raises(ValueError, match="n_buckets"):
        bucket_mean([1, 2], [1.0, 2.0], 0)


# ---------------------------------------------------------------------------------------------------------
# MetricChart inside a running app


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield MetricChart(id="chart")


def noisy_loss(n_steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    steps = np.arange(n_steps)
    loss = 2.0 * np.exp(-steps / 300) + 0.2 * np.random.default_rng(seed).random(n_steps)
    return steps, loss


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.query_one(MetricChart)._render_cache.lines)


async def test_empty_chart_says_no_data_yet_without_drawing():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.query_one(MetricChart)
        assert EMPTY_MESSAGE in screen_text(app)
        assert chart.has_class("-empty")
        assert chart.draw_count == 0


async def test_chart_draws_once_per_change_of_data():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        steps, loss = noisy_loss(1000)

        def show(train_loss):
            return chart.set_series(
                [
                    Series("train", steps, train_loss),
                    Series("val", steps[::100], loss[::100], kind="scatter"),
                ],
                markers=[300, 600],
                marker_label="lr change",
                xlabel="step",
            )

        assert show(loss) is True
        await pilot.pause()
        assert chart.draw_count == 1
        text = screen_text(app)
        assert "train" in text and "val" in text and "lr change" in text
        assert EMPTY_MESSAGE not in text and not chart.has_class("-empty")

        # The same numbers again (new list objects, equal values): no new version, no redraw.
        assert show(loss.tolist()) is False
        chart.refresh()  # even an explicit repaint is served from the cache
        await pilot.pause()
        assert (chart.data_version, chart.draw_count) == (1, 1)

        # New data: one redraw.
        new_loss = loss.copy()
        new_loss[-1] += 0.5
        assert show(new_loss) is True
        await pilot.pause()
        assert (chart.data_version, chart.draw_count) == (2, 2)


async def test_chart_keeps_a_copy_of_the_callers_data():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        xs, ys = [0, 1, 2], [3.0, 2.0, 1.0]
        chart.set_series([Series("train", xs, ys)])
        xs.append(3)
        ys.append(0.5)  # the caller's history grew: that is new data, not the data already shown
        assert chart.set_series([Series("train", xs, ys)]) is True
        await pilot.pause()
        assert chart.data_version == 2


async def test_chart_redraws_when_resized():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_series([Series("train", *noisy_loss(500))])
        await pilot.pause()
        assert chart.draw_count == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert chart.size.width == 120
        assert chart.draw_count == 2
        assert max(len(line.rstrip()) for line in screen_text(app).splitlines()) > 100


async def test_log_scale_skips_values_that_cannot_be_shown():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        steps = np.arange(200)
        grad_norm = 10.0 ** np.linspace(-4, 0, 200)
        grad_norm[::7] = 0.0  # a dead layer's gradient: zero, not drawable on a log axis
        grad_norm[3] = np.nan
        chart.set_series([Series("|dW| layer 0", steps, grad_norm)], ylog=True, ylim=(1e-5, 10))
        await pilot.pause()
        # A second build (here from a resize) must not take the log of the log: plotext's build
        # rewrites its data in place, so the chart refills the figure before every build.
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert chart.draw_count == 2
        text = screen_text(app)
        assert "|dW| layer 0" in text
        assert "1.0000" in text and "0.0001" in text  # y tick labels still span the data's decades

        chart.set_series([Series("|dW| layer 0", steps, np.zeros(200))], ylog=True)
        await pilot.pause()
        assert EMPTY_MESSAGE in screen_text(app)
        with pytest.raises(ValueError, match="positive"):
            chart.set_series([Series("g", steps, grad_norm)], ylog=True, ylim=(0, 1))


async def test_clear_returns_to_the_empty_message():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_series([Series("train", [0, 1], [1.0, 0.5])])
        await pilot.pause()
        chart.clear()
        await pilot.pause()
        assert chart.has_class("-empty")
        assert EMPTY_MESSAGE in screen_text(app)


def test_series_with_mismatched_lengths_is_refused():
    chart = MetricChart()
    with pytest.raises(ValueError, match="2 x values but 3 y values"):
        chart.set_series([Series("train", [0, 1], [1.0, 2.0, 3.0])])


async def test_markers_outside_the_data_do_not_stretch_the_x_axis():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_series([Series("train", [0, 50, 100], [1.0, 0.5, 0.2])], markers=[5000], marker_label="lr")
        await pilot.pause()
        text = screen_text(app)
        assert "100" in text and "5000" not in text
        assert "│ lr" not in text  # no marker drawn, so no legend entry for it


def y_tick_labels(app: App) -> list[str]:
    """The y axis tick labels on screen, top to bottom."""
    return [line.split("┤")[0].strip() for line in screen_text(app).splitlines() if "┤" in line]


def values_of(labels: list[str]) -> list[float]:
    return [float(label) for label in labels]


@pytest.mark.parametrize(
    "xs, ys, ylog",
    [
        ([0], [0.164], True),  # one gradient norm: plotext's own limits put 0.066 on top, 0.405 at the bottom
        ([0, 1], [0.164, 0.164], True),
        (np.arange(500), np.full(500, 0.3), True),  # a constant series, bucketed to 160 points
        (np.arange(50), 0.2 + 1e-12 * np.sin(np.arange(50)), True),  # varies by rounding errors only
        (np.arange(50), 0.2 + 1e-3 * np.sin(np.arange(50)), True),  # varies little
        (np.arange(150), 0.4 * np.exp(-np.arange(150) / 40), True),  # decreases over time
        ([0], [3.0], True),
        ([0], [1.0], True),
        ([0], [-2.0], False),  # a negative constant on a linear axis: the same plotext flip
        ([0, 1, 2], [0.0, 0.0, 0.0], False),
    ],
)
async def test_y_tick_labels_increase_upward(xs, ys, ylog):
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(MetricChart).set_series([Series("layer 0", xs, ys)], ylog=ylog)
        await pilot.pause()
        values = values_of(y_tick_labels(app))
        assert len(values) >= 5
        assert values == sorted(values, reverse=True) and len(set(values)) == len(values), values
        # The data lies between them (give or take the labels' rounding): no more points than the 160 buckets
        # of 80 columns, except for the constant, so none was averaged away.
        assert values[-1] <= min(ys) + 0.05 * abs(min(ys)) and max(ys) - 0.05 * abs(max(ys)) <= values[0]


async def test_huge_values_get_short_scientific_y_labels():
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(MetricChart)
        steps = np.arange(100)  # no more points than buckets: the largest is drawn as it is
        diverged = 10.0 ** (steps / 99 * 21.32)  # a loss that blew up to 2.1e21
        for ylog in (False, True):
            chart.set_series([Series("train", steps, diverged)], xlabel="step", ylog=ylog)
            await pilot.pause()
            labels = y_tick_labels(app)
            assert max(map(len, labels)) <= 8, labels
            values = values_of(labels)
            assert labels[0] == "2.1e+21" and values[0] == pytest.approx(diverged.max(), rel=0.03)
            assert values == sorted(values, reverse=True) and len(set(values)) == len(values), labels

        # A short chart: one label per row, still in order (plotext alone would pick among ticks sharing a row
        # in an order that changes from run to run).
        await pilot.resize_terminal(80, 8)
        await pilot.pause()
        labels = y_tick_labels(app)
        assert len(labels) == chart.size.height - 3  # every canvas row: 8 rows less the x axis, its labels, xlabel
        values = values_of(labels)
        assert labels[0] == "2.1e+21" and values == sorted(values, reverse=True), labels

        # Tiny values too (a vanishing gradient), while ordinary ones keep plotext's own labels.
        chart.set_series([Series("g", steps, 1e-9 * (1 + steps))], ylog=True)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        labels = y_tick_labels(app)
        assert labels[0] == "1.0e-07" and labels[-1] == "1.0e-09", labels
        chart.set_series([Series("train", [0, 1, 2], [2.0, 0.5, 0.2])])
        await pilot.pause()
        assert y_tick_labels(app) == ["2.00", "1.70", "1.40", "1.10", "0.80", "0.50", "0.20"]


def test_tick_labels_are_plain_unless_too_long():
    from nntui.tui.charts import tick_labels

    assert tick_labels([0.0, 250.0, 500.0, 750.0, 1000.0]) == ["0", "250", "500", "750", "1000"]
    assert tick_labels([0.01, 0.015, 0.02]) == ["0.0100", "0.0150", "0.0200"]
    assert tick_labels([2.1e21, 3.2e21]) == ["2.1e+21", "3.2e+21"]
    assert tick_labels([1.0e21, 1.01e21, 1.02e21]) == ["1.00e+21", "1.01e+21", "1.02e+21"]  # told apart
    assert tick_labels([-1e21, -1e5, 1e21]) == ["-1.0e+21", "0", "1.0e+21"]  # zero but for rounding
    assert tick_labels([1e-9, 2e-9]) == ["1.0e-09", "2.0e-09"]
    # Values very close together get no shorter in scientific notation: they stay plain.
    assert tick_labels([0.2, 0.2000001]) == ["0.20000000", "0.20000010"]


def test_y_limits_must_be_in_order():
    chart = MetricChart()
    with pytest.raises(ValueError, match="lower < upper"):
        chart.set_series([Series("train", [0, 1], [1.0, 2.0])], ylim=(2.0, 1.0))
