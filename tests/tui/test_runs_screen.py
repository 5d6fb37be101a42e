"""Earlier runs as ghosts, kept epochs to go back to, and the log: the runs screen over a real timeline."""

from __future__ import annotations

import numpy as np
from textual.app import App
from textual.widgets import OptionList

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession
from nntui.tui.runs_screen import MAX_GHOSTS, RunsScreen, describe_run, ghost_series


def race() -> TrainingSession:
    """The optimizer race begun: an Adam run of 2 epochs, then the same data and seed with SGD, 1 epoch."""
    config = apply_overrides(default_config("moons"), {"data.n_samples": 200, "training.epochs": 50})
    session = TrainingSession(config)
    for _ in range(2 * session.trainer.batches_per_epoch):
        session.step()
    session.reset(apply_overrides(config, {"optimizer.name": "sgd", "optimizer.lr": 0.1}))
    for _ in range(session.trainer.batches_per_epoch):
        session.step()
    return session


class Host(App):
    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session, self.hidden, self.answers = session, set(), []

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.session.timeline, self.hidden), self.answers.append)


def test_an_earlier_run_says_what_came_next_and_how_it_ended():
    session = race()
    timeline = session.timeline
    assert len(timeline.abandoned) == 1
    text = describe_run(timeline, 0)
    assert text.startswith("run 1  10 steps  val ") and "%" in text
    assert text.endswith("then edit: optimizer.lr 0.01 -> 0.1, optimizer.name adam -> sgd")


def test_ghosts_are_the_shown_earlier_runs_at_most_a_few():
    session = race()
    timeline = session.timeline
    [ghost] = ghost_series(timeline, set(), "loss")
    steps, losses = timeline.abandoned[0].history.step_loss.arrays()
    assert ghost.label == "run 1" and list(ghost.xs) == list(steps) and list(ghost.ys) == list(losses)
    assert ghost_series(timeline, {0}, "loss") == []
    for _ in range(MAX_GHOSTS + 2):  # more runs than ghosts drawn
        session.reset()
        session.step()
    assert [g.label for g in ghost_series(timeline, set(), "accuracy")][-1] == f"run {len(timeline.abandoned)}"
    assert len(ghost_series(timeline, set(), "accuracy")) == MAX_GHOSTS


async def test_space_hides_a_run_and_enter_on_an_epoch_asks_to_go_back_there():
    app = Host(race())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        runs = app.screen.query_one("#runs", OptionList)
        assert app.focused is runs
        await pilot.press("space")
        assert app.hidden == {0}
        assert str(runs.get_option_at_index(0).prompt).startswith("  run 1")
        await pilot.press("space")
        assert app.hidden == set()
        await pilot.press("tab")
        epochs = app.screen.query_one("#epochs", OptionList)
        assert app.focused is epochs
        assert [str(epochs.get_option_at_index(i).prompt) for i in range(epochs.option_count)] == \
            ["epoch 1", "epoch 0"]
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.answers == [0]


async def test_the_log_lists_the_interventions_newest_first():
    session = race()
    session.set_lr(0.05)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        log = str(app.screen.query_one("#log").render())
    lines = log.splitlines()
    assert "lr" in lines[0] and "edit: optimizer.lr 0.01 -> 0.1, optimizer.name adam -> sgd" in lines[1]


async def test_in_the_app_a_reset_leaves_a_ghost_that_b_hides_and_enter_on_an_epoch_goes_back():
    import asyncio

    from nntui.tui.app import NNTuiApp
    from nntui.tui.charts import MetricChart
    from nntui.tui.screens import ConfirmScreen

    config = apply_overrides(default_config("moons"), {"data.n_samples": 200, "training.epochs": 1000})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"

    def labels(chart_id: str) -> list[str]:
        app._charts_dirty = True
        app._refresh_charts()
        return [series.label for series in app.query_one(chart_id, MetricChart)._chart.series]

    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(6):  # one epoch (5 batches) and a step
            await pilot.press("n")
        for _ in range(100):
            if app.session.step_count == 6:
                break
            await pilot.pause(0.02)
        assert app.session.step_count == 6 and app.session.kept_epochs == [0, 1]
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert app.session.step_count == 0
        assert labels("#loss-chart") == ["run 1", "train", "val"]  # the run left behind, as a ghost
        assert labels("#accuracy-chart") == ["run 1", "train", "val"]

        await pilot.press("b")
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("space", "escape")
        assert app.hidden_runs == {0}
        assert labels("#loss-chart") == ["train", "val"]

        for _ in range(7):
            await pilot.press("n")
        for _ in range(100):
            if app.session.step_count == 7:
                break
            await pilot.pause(0.02)
        await pilot.press("b")
        await pilot.press("tab")  # to the kept epochs, newest first: 1, then 0
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, RunsScreen)
        assert (app.session.epoch, app.session.step_count) == (1, 5)  # back at the end of epoch 1
        assert len(app.session.timeline.abandoned) == 2  # the future left is kept too
        assert labels("#loss-chart") == ["run 2", "train", "val"]  # run 1 stays hidden
        assert app.session.timeline.log[-1].kind == "rewind"
        app.exit()
        await asyncio.wait_for(asyncio.shield(app._task), timeout=5)


def test_runs_screen_80x24(snap_compare):
    session = race()
    session.set_lr(0.05)
    assert snap_compare(Host(session), terminal_size=(80, 24))


def test_train_tab_with_a_ghost_run_80x24(snap_compare, monkeypatch):
    """The optimizer race: Adam for 600 steps, then SGD with momentum on the same data and seed, 300 steps."""
    from nntui.tui.app import NNTuiApp
    from nntui.tui.widgets import status

    monkeypatch.setattr(status, "_speed", lambda value: "12.3k")
    config = apply_overrides(default_config("spiral"), {"training.epochs": 100000})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"

    async def race_and_draw(pilot) -> None:
        session = pilot.app.session
        for _ in range(600):
            session.step()
        session.reset(apply_overrides(pilot.app.config, {"optimizer.name": "sgd", "optimizer.lr": 0.1,
                                                         "optimizer.momentum": 0.9}))
        for _ in range(300):
            session.step()
        session.publish(force=True)
        pilot.app._refresh_numbers()
        pilot.app._charts_dirty = True
        pilot.app._refresh_charts()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=race_and_draw)


def test_an_earlier_regression_run_is_described_by_its_r2_and_its_ghost_is_in_the_data_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    np.savez(tmp_path / "line.npz", x=x, y=1e4 * (x[:, 0] - 2 * x[:, 1]))
    config = apply_overrides(default_config(str(tmp_path / "line.npz")), {
        "data.task": "regression", "training.epochs": 50})
    session = TrainingSession(config)
    for _ in range(session.trainer.batches_per_epoch):
        session.step()
    session.reset(apply_overrides(config, {"optimizer.lr": 0.01}))
    timeline, units = session.timeline, session.loss_units

    run = timeline.abandoned[0]
    assert describe_run(timeline, 0).startswith(f"run 1  {run.left_at_step} steps  "
                                                f"val R² {run.history.epochs[-1].val_r2:.3f}  then edit")
    [ghost] = ghost_series(timeline, set(), "loss", units)
    _steps, losses = run.history.step_loss.arrays()
    assert units.units == "data units"
    assert list(ghost.ys) == list(losses * float(session.dataset.target_std[0]) ** 2)
