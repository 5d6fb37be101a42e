"""The learning-rate finder screen: it measures in the background, marks the suggestion, and enter adopts it."""

from __future__ import annotations

import numpy as np
from textual.app import App

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession
from nntui.tui.charts import MetricChart
from nntui.tui.lrfind_screen import LRFindScreen


class Host(App):
    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session
        self.answers: list = []

    def on_mount(self) -> None:
        self.push_screen(LRFindScreen(self.session.trainer, current_lr=self.session.lr), self.answers.append)


def small_session() -> TrainingSession:
    config = apply_overrides(default_config("spiral"), {"data.n_samples": 300, "model.hidden": [32, 32]})
    return TrainingSession(config)


async def wait_for_result(app, pilot):
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(app.screen, LRFindScreen) and app.screen.result is not None:
            return app.screen.result
    raise AssertionError("the range test did not finish")


async def test_enter_adopts_the_suggested_rate_and_the_run_is_untouched():
    session = small_session()
    before = session.model.state_dict()
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        result = await wait_for_result(app, pilot)
        await pilot.pause()
        chart = app.screen.query_one("#lrfind-chart", MetricChart)
        assert chart.data_version >= 1 and chart.draw_count >= 1  # the curve was drawn
        text = str(app.screen.query_one("#lrfind-verdict").render())
        assert f"{result.suggested_lr:.2g}" in text
        await pilot.press("enter")
        await pilot.pause()
    assert app.answers == [float(f"{result.suggested_lr:.2g}")]
    for name, value in session.model.state_dict().items():
        assert np.array_equal(value, before[name]), name


async def test_escape_keeps_the_current_rate():
    app = Host(small_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_result(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
    assert app.answers == [None]


async def test_l_in_the_app_finds_a_rate_and_enter_sets_it_for_the_next_batch():
    import asyncio

    from nntui.tui.app import NNTuiApp

    config = apply_overrides(default_config("spiral"), {"data.n_samples": 300, "model.hidden": [32, 32]})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.session.model.state_dict()
        await pilot.press("l")
        result = await wait_for_result(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, LRFindScreen)
        assert app.session.lr == float(f"{result.suggested_lr:.2g}")
        assert all(np.array_equal(v, before[k]) for k, v in app.session.model.state_dict().items())
        app.exit()
        await asyncio.wait_for(asyncio.shield(app._task), timeout=5)


def test_lrfind_screen_80x24(snap_compare):
    async def measured(pilot) -> None:
        await wait_for_result(pilot.app, pilot)
        await pilot.pause()

    assert snap_compare(Host(small_session()), terminal_size=(80, 24), run_before=measured)
