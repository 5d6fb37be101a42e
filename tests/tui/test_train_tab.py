"""The Train tab on one screen: charts tall enough to read, legends off the data, one x range, a status line that
never wraps, the picture of what the network learned beside the charts from 120x40, and "not learning" said."""

from __future__ import annotations

import dataclasses

from pilot_helpers import make_app, running

from nntui.train.config import apply_overrides, default_config
from nntui.tui.app import NNTuiApp
from nntui.tui.charts import MetricChart
from nntui.tui.widgets.learning_picture import LearningPicture
from nntui.tui.widgets.status import StatusLine


async def train_steps(app, pilot, steps: int) -> None:
    session = app.session
    for step in range(steps):
        session.step(collect_stats=step % 10 == 0)
    session.publish(force=True)
    app._refresh_numbers()
    app._refresh_charts(all_charts=True)
    app._refresh_view(force=True)
    await pilot.pause()


def plot_rows(chart: MetricChart) -> int:
    """Rows of the drawn plot that hold data: those with the y axis on them, above the x axis line."""
    lines = [strip.text for strip in chart.render_lines(chart.region.reset_offset)]
    axis = next(i for i, line in enumerate(lines) if "└" in line)
    return sum(1 for line in lines[:axis] if "┤" in line or "│" in line)


async def test_at_80x24_each_chart_has_six_plot_rows_a_legend_off_the_data_and_one_x_range():
    app = make_app()
    async with running(app) as pilot:
        await train_steps(app, pilot, 60)
        loss, accuracy = app.query_one("#loss-chart", MetricChart), app.query_one("#accuracy-chart", MetricChart)
        assert plot_rows(loss) >= 6 and plot_rows(accuracy) >= 6
        for chart in (loss, accuracy):
            drawn = "\n".join(strip.text for strip in chart.render_lines(chart.region.reset_offset))
            assert "train" not in drawn and "val" not in drawn  # no legend box over the curves
        assert "━ train" in str(app.query_one("#loss-box").border_title)
        assert "⠒ val" in str(app.query_one("#accuracy-box").border_title)
        assert loss._chart.xlim == accuracy._chart.xlim == (0, 60)  # the lr marks line up


async def test_the_status_line_never_wraps_even_with_six_digit_epochs():
    app = make_app()
    async with running(app) as pilot:
        await train_steps(app, pilot, 20)
        line = app.query_one(StatusLine)
        huge = dataclasses.replace(app._snapshot, epoch=123456, epochs=1_000_000, step=12_345_678,
                                   samples_per_second=123456.0, message="finished 1000000 epochs")
        line.show(huge)
        await pilot.pause()
        shown = str(line.render()).splitlines()
        assert len(shown) == 2 and all(len(text) <= 78 for text in shown), shown
        assert shown[1].startswith("val loss")  # the validation line stays in view
        assert line.region.height == 2


async def test_from_120x40_the_decision_boundary_shows_beside_the_charts():
    app = make_app()
    async with running(app, size=(120, 40)) as pilot:
        await train_steps(app, pilot, 30)
        picture = app.query_one(LearningPicture)
        assert picture.kind == "boundary" and picture.region.width > 40
        assert picture.region.x > app.query_one("#charts").region.right - 1  # beside, not under
        boundary = picture.query_one("#picture-boundary")
        assert boundary.grid is not None and boundary.grid.columns >= 40


async def test_other_classification_data_gets_a_live_confusion_matrix():
    config = apply_overrides(default_config("digits"), {"model.hidden": [16], "model.activations": ["relu"]})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"
    async with running(app, size=(120, 40)) as pilot:
        await train_steps(app, pilot, 50)
        picture = app.query_one(LearningPicture)
        assert picture.kind == "confusion"
        text = str(picture.query_one("#picture-confusion").render())
        assert "step 50" in text and "true\\pred" in text
        assert max(len(line) for line in text.splitlines()) <= picture.region.width - 2  # no wrapped rows


async def test_at_80x24_there_is_no_picture_pane():
    app = make_app()
    async with running(app) as pilot:
        await train_steps(app, pilot, 10)
        assert not app.query_one("#right-pane").display


async def test_a_run_stuck_at_chance_is_called_out_with_one_suggestion():
    app = make_app(**{"optimizer.name": "sgd", "optimizer.lr": 2.5})
    async with running(app, notifications=True) as pilot:
        await train_steps(app, pilot, 15 * 6)  # six epochs of the spiral
        assert app.not_learning is not None
        title = str(app.query_one("#accuracy-box").border_title)
        assert "not learning: val acc 33% = chance after 6 epochs; try - (lower rate), then r" in title
        assert sum("chance" in note.message for note in app._notifications) == 1
        await train_steps(app, pilot, 15)
        assert sum("chance" in note.message for note in app._notifications) == 1  # said once, not every redraw


async def test_a_run_that_learns_is_not_called_out():
    app = make_app()
    async with running(app) as pilot:
        await train_steps(app, pilot, 15 * 6)
        assert app.not_learning is None
        assert str(app.query_one("#accuracy-box").border_title).startswith("accuracy")
