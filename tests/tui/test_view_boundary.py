"""The Boundary view at 80x24: the plane in class colours, the training points, the legend, or the reason why not."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color, ColorSystem
from textual.app import App, ComposeResult

from nntui.train.config import apply_overrides, default_config
from nntui.train.insight.boundary import points_to_cells
from nntui.train.session import TrainingSession
from nntui.tui.views.boundary import PALETTE, POINT, WRONG_POINT, BoundaryPlot, BoundaryView

STEPS = 45  # 3 epochs of the spiral (15 batches of 32)


def spiral_session(steps: int = STEPS) -> TrainingSession:
    config = apply_overrides(default_config("spiral"), {"model.hidden": [32, 32], "training.epochs": 1000})
    session = TrainingSession(config)
    for _ in range(steps):
        session.step()
    return session


class BoundaryHost(App):
    """The view alone on a screen, fed the session's snapshot once it is mounted, as the app would."""

    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield BoundaryView()

    def on_mount(self) -> None:
        self.show_session()

    def show_session(self) -> None:
        self.query_one(BoundaryView).update_view(self.session, self.session.snapshot())


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_legend_names_the_classes_and_shows_the_sessions_numbers():
    session = spiral_session()
    app = BoundaryHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        wrong = np.count_nonzero(session.predict(session.x_train) != session.y_train)
        val_accuracy = session.history.epochs[-1].val_accuracy

        assert "██ 0  ██ 1  ██ 2" in text
        assert f"wrong now: {wrong} of {len(session.x_train)}" in text
        assert f"val acc {val_accuracy:.1%} (epoch 3)" in text
        assert BoundaryView.EXPLANATION.split(";")[0] in text.replace("\n", " ")


async def test_the_plot_fills_its_widget_with_two_grid_rows_per_text_row():
    app = BoundaryHost(spiral_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view, plot = app.query_one(BoundaryView), app.query_one(BoundaryPlot)
        lines = plot.text.splitlines()

        assert view.grid is not None
        assert (view.grid.columns, view.grid.rows) == (plot.size.width, 2 * plot.size.height)
        assert plot.size.width == 80 and plot.size.height >= 15
        assert len(lines) == plot.size.height and all(len(line) == 80 for line in lines)


async def test_each_point_cell_shows_a_cross_exactly_where_a_wrongly_classified_point_lies():
    session = spiral_session(steps=5)  # barely trained: many points are wrong
    app = BoundaryHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        grid = app.query_one(BoundaryView).grid
        lines = app.query_one(BoundaryPlot).text.splitlines()
        rows, columns = points_to_cells(grid, session.x_train)
        wrong = session.predict(session.x_train) != session.y_train
        cells_with_points = set(zip((rows // 2).tolist(), columns.tolist()))
        cells_with_wrong = set(zip((rows[wrong] // 2).tolist(), columns[wrong].tolist()))

        drawn = {(r, c): ch for r, line in enumerate(lines) for c, ch in enumerate(line) if ch != "▀"}
        assert set(drawn) == cells_with_points
        assert {cell for cell, ch in drawn.items() if ch == WRONG_POINT} == cells_with_wrong
        assert {ch for ch in drawn.values()} == {POINT, WRONG_POINT}


async def test_no_recompute_until_the_session_takes_a_step():
    session = spiral_session()
    app = BoundaryHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(BoundaryView)
        assert view.compute_count == 1

        app.show_session()
        app.show_session()
        assert view.compute_count == 1

        session.step()
        app.show_session()
        assert view.compute_count == 2 and view.grid.step == STEPS + 1


async def test_a_resize_redraws_the_grid_at_the_new_size():
    app = BoundaryHost(spiral_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        plot = app.query_one(BoundaryPlot)

        assert (app.query_one(BoundaryView).grid.columns, plot.size.width) == (120, 120)
        assert app.query_one(BoundaryView).grid.rows == 2 * plot.size.height

        await pilot.resize_terminal(20, 6)  # tiny: whatever fits, and no error
        await pilot.pause()
        assert app.query_one(BoundaryView).grid.columns == 20


async def test_digits_show_why_there_is_no_boundary():
    app = BoundaryHost(TrainingSession(default_config("digits")))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)

        assert "The decision boundary needs 2 input features; digits has 64." in text
        assert not app.query_one(BoundaryPlot).display
        assert app.query_one(BoundaryView).not_applicable(app.session) is not None


async def test_switching_sessions_between_digits_and_spiral_redraws_the_right_thing():
    app = BoundaryHost(spiral_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.query_one(BoundaryView)
        spiral = app.session

        app.session = TrainingSession(default_config("digits"))
        app.show_session()
        await pilot.pause()
        assert "digits has 64" in screen_text(app) and view.grid is None

        app.session = spiral
        app.show_session()
        await pilot.pause()
        assert view.grid is not None and "▀" in screen_text(app)


async def test_a_failing_model_is_reported_in_the_view_not_raised(monkeypatch):
    session = spiral_session(steps=0)
    app = BoundaryHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()

        def broken(x):
            raise FloatingPointError("the model broke")

        monkeypatch.setattr(session, "predict", broken)
        session.step()
        app.show_session()
        await pilot.pause()

        assert "Could not draw the decision boundary: the model broke." in screen_text(app)


@pytest.mark.parametrize("role", ["sure", "unsure", "point"])
def test_each_class_keeps_its_own_hue_on_a_16_colour_terminal(role):
    def standard(colour: str) -> int:
        return Color.parse(colour).downgrade(ColorSystem.STANDARD).number

    numbers = [standard(getattr(colours, role)) for colours in PALETTE]
    assert len(set(numbers)) == len(PALETTE), numbers
    # The region a class owns, sure or not, is the same terminal colour, and its points the bright version.
    for colours in PALETTE:
        assert standard(colours.sure) == standard(colours.unsure) == standard(colours.point) - 8


# ---------------------------------------------------------------------------------------------------------
# Snapshots (refresh with --snapshot-update after a deliberate change, and look at them)


def test_spiral_boundary_80x24(snap_compare):
    assert snap_compare(BoundaryHost(spiral_session()), terminal_size=(80, 24))


def test_digits_reason_80x24(snap_compare):
    assert snap_compare(BoundaryHost(TrainingSession(default_config("digits"))), terminal_size=(80, 24))
