"""Human pace in the app: built-in data starts at a pace a person can watch, s/f/F change it, own data runs full.

(Replaces the old slow-motion toggle, `s`, whose tests these are now.)
"""

from __future__ import annotations

import time

from pilot_helpers import make_app, running, status, until
from textual.widgets import Input

from nntui.train import pace
from nntui.train.config import default_config
from nntui.train.data import BUILTIN_DATASETS
from nntui.train.session import State, TrainingSession
from nntui.tui.app import NNTuiApp
from nntui.tui.charts import MetricChart


def default_run_steps(name: str) -> int:
    config = default_config(name)
    return config.training.epochs * TrainingSession(config).batches_per_epoch


def test_every_built_in_dataset_starts_at_a_pace_whose_default_run_lasts_20_seconds_or_more():
    for name in BUILTIN_DATASETS:
        app = NNTuiApp(default_config(name), blink=False)
        rate = app.session.max_steps_per_second
        assert rate is not None and rate >= 1, name
        assert default_run_steps(name) / rate >= 20, name


def test_a_users_own_data_starts_at_full_speed(tmp_path):
    data = tmp_path / "points.csv"
    data.write_text("a,b,label\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(60)))
    config = default_config("spiral")
    config.data.dataset = str(data)
    app = NNTuiApp(config, blink=False)
    assert app.session.max_steps_per_second is None


async def test_s_and_f_step_the_pace_and_the_status_line_says_it():
    app = NNTuiApp(default_config("spiral"), blink=False)
    async with running(app) as pilot:
        start = app.session.max_steps_per_second
        assert f"·  pace {pace.label(start)}" in status(app)
        await pilot.press("s")
        assert app.session.max_steps_per_second == pace.slower(start)
        assert pace.label(pace.slower(start)) in status(app)
        for _ in range(10):
            await pilot.press("s")
        assert app.session.max_steps_per_second == 1
        assert "1 step/s" in status(app)
        for _ in range(len(pace.LADDER)):
            await pilot.press("f")
        assert app.session.max_steps_per_second is None
        assert "full speed" in status(app)


async def test_F_toggles_full_speed_and_back_to_the_watching_pace():
    app = NNTuiApp(default_config("spiral"), blink=False)
    async with running(app) as pilot:
        start = app.session.max_steps_per_second
        await pilot.press("F")
        assert app.session.max_steps_per_second is None
        await pilot.press("F")
        assert app.session.max_steps_per_second == start


async def test_pace_keys_are_in_the_footer_and_type_in_a_field():
    app = make_app()
    async with running(app) as pilot:
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}
        assert {"pace('slower')", "pace('faster')"} <= shown
        await pilot.press("2")
        field = app.query_one("#training-seed", Input)
        field.focus()
        await pilot.pause()
        before = app.session.max_steps_per_second
        await pilot.press("end", "f", "s")
        assert app.session.max_steps_per_second == before  # typed into the field, not a pace change


async def test_at_the_watching_pace_the_first_points_show_within_half_a_second_and_the_pace_holds(quick_keys):
    app = NNTuiApp(default_config("spiral"), blink=False)
    async with running(app) as pilot:
        rate = app.session.max_steps_per_second
        chart = app.query_one("#loss-chart", MetricChart)
        await pilot.pause(0.3)
        await pilot.press("space")
        pressed = time.perf_counter()
        await until(pilot, lambda: chart.draw_count > 0 and not chart.has_class("-empty"), timeout=3)
        first_points = time.perf_counter() - pressed
        assert first_points < 0.5
        await until(pilot, lambda: f"step {app.session.step_count}" in status(app) and app.session.step_count > 0)
        steps_before, started = app.session.step_count, time.perf_counter()
        await pilot.pause(1.5)
        rate_seen = (app.session.step_count - steps_before) / (time.perf_counter() - started)
        assert 0.6 * rate < rate_seen < 1.2 * rate  # about the pace: watchable, not the machine's speed
        assert app.session.state is State.RUNNING
