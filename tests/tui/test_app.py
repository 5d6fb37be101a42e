"""The whole app driven by real key presses through a Pilot, at 80x24.

The tests assert on state (the session, the screen stack, what a widget renders), never on timing: what a
timer shows later is awaited with `until`. While training runs the process never idles, so each `pilot.press`
would wait a full second for an idle moment that does not come; tests that press keys while training runs use
the `quick_keys` fixture, which shortens that wait (keys are still handled in order).
"""

from __future__ import annotations

import asyncio
import math
import random

import numpy as np
import pytest
from pilot_helpers import (
    SIZE,
    data_load_done,
    hidden_widths,
    make_app,
    open_editor,
    running,
    shows_lr,
    status,
    step_n,
    until,
    weights,
)
from textual.widgets import Input, TabbedContent

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import State, TrainingSession
from nntui.tui.app import NNTuiApp
from nntui.tui.charts import MetricChart
from nntui.tui.screens import ConfirmScreen, HelpScreen, SaveScreen
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.hyperparams import HyperParamsForm
from nntui.tui.widgets.status import StatusLine

# ---------------------------------------------------------------------------------------------------------
# running, pausing, stepping


async def test_space_starts_and_pauses_training(quick_keys):
    app = make_app()
    async with running(app) as pilot:
        assert app.session.state is State.IDLE
        await pilot.press("space")
        assert app.session.state is State.RUNNING
        await until(pilot, lambda: app.session.step_count > 20)
        await until(pilot, lambda: "running" in status(app))
        await pilot.press("space")
        assert app.session.state is State.PAUSED
        paused_at = app.session.step_count
        await pilot.pause(0.3)
        assert app.session.step_count == paused_at
        await until(pilot, lambda: "paused" in status(app))
        assert f"step {paused_at}" in status(app)
        await pilot.press("space")  # and on again
        await until(pilot, lambda: app.session.step_count > paused_at)
        assert app.session.state is State.RUNNING
        await pilot.press("space")
        assert app.session.state is State.PAUSED


async def test_n_trains_exactly_one_batch_from_idle_and_from_paused():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("n")
        assert app.session.step_count == 1
        assert app.session.state is State.PAUSED
        await pilot.press("n")
        assert app.session.step_count == 2
        assert app.session.state is State.PAUSED
        await until(pilot, lambda: "step 2 " in status(app))  # the next 4 Hz tick
        assert app.session.step_count == 2


# ---------------------------------------------------------------------------------------------------------
# the learning rate


async def test_plus_and_minus_change_the_learning_rate_at_once():
    app = make_app()
    async with running(app) as pilot:
        assert app.session.lr == pytest.approx(0.01)
        await step_n(pilot, 2)
        await pilot.press("plus")
        assert app.session.lr == pytest.approx(0.02)
        assert shows_lr(app, "0.02")  # no timer tick needed
        assert app.session.history.lr_changes[-1] == (2, pytest.approx(0.02))
        await pilot.press("n", "minus", "minus")
        assert app.session.lr == pytest.approx(0.005)
        assert shows_lr(app, "0.005")
        changes = app.session.history.lr_changes
        assert [step for step, _lr in changes] == [0, 2, 3, 3]
        assert [lr for _step, lr in changes] == pytest.approx([0.01, 0.02, 0.01, 0.005])
        # the form's lr field and the config follow
        assert app.query_one("#optimizer-lr", Input).value == "0.005"
        assert app.config.optimizer.lr == pytest.approx(0.005)
        # the loss chart marks each change at its step (the next 2 Hz redraw)
        chart = app.query_one("#loss-chart", MetricChart)
        await until(pilot, lambda: chart._chart.markers == (2.0, 3.0, 3.0))


async def test_a_warning_already_on_screen_is_not_stacked_again():
    app = make_app(**{"optimizer.lr": 10.0})
    async with running(app, notifications=True) as pilot:
        await pilot.press(*["plus"] * 10)
        warnings = [n for n in app._notifications if "stays between" in n.message]
        assert len(warnings) == 1


async def test_notifications_show_brackets_as_written_instead_of_reading_them_as_markup():
    app = make_app()
    async with running(app, notifications=True) as pilot:
        app.notify("cell '[/bold]' in data[1].csv")
        await pilot.pause(0.3)
        from textual.widgets._toast import Toast

        assert "cell '[/bold]' in data[1].csv" in str(app.screen.query_one(Toast).render())


async def test_learning_rate_field_refuses_bad_text_and_takes_a_good_value():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("2")
        assert app.query_one(TabbedContent).active == "model"
        field = app.query_one("#optimizer-lr", Input)
        await pilot.click(field)
        assert app.focused is field
        await pilot.press("home", "ctrl+k", *"abc", "enter")
        assert field.value == "abc"
        assert app.session.lr == pytest.approx(0.01)
        form = app.query_one(HyperParamsForm)
        error = app.query_one("#form-error")
        assert "optimizer.lr" in form.problem
        assert error.display and "must be a number" in str(error.render())
        assert field.has_class("-invalid")
        # leaving the field does not sneak the bad value in either
        await pilot.press("escape")
        assert app.focused is None
        assert app.session.lr == pytest.approx(0.01)

        await pilot.click(field)
        await pilot.press("home", "ctrl+k", *"0.05", "enter")
        assert app.session.lr == pytest.approx(0.05)
        assert form.problem == ""
        assert not field.has_class("-invalid")
        assert shows_lr(app, "0.05")


async def test_a_data_file_that_cannot_be_loaded_stays_in_its_field_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative path keeps the typing quick
    (tmp_path / "bad.csv").write_text("x,y,label\n0,abc,0\n")
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await pilot.press("2")
        field = app.query_one("#data-file", Input)
        field.focus()
        await pilot.press(*"bad.csv", "enter")
        await data_load_done(app, pilot)

        assert app.session.config.data.dataset == "spiral"  # the run is untouched
        assert field.value == "bad.csv"  # kept for correction, not cleared
        form = app.query_one(HyperParamsForm)
        assert "line 2" in form.problem and "'abc'" in form.problem
        assert field.has_class("-invalid")
        assert any("'abc'" in n.message for n in app._notifications)

        # fixed on disk, enter on the same text tries again and loads it
        (tmp_path / "bad.csv").write_text("x,y,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
        await pilot.press("enter")
        await data_load_done(app, pilot)
        assert app.session.config.data.dataset == "bad.csv"
        assert form.problem == ""
        assert not field.has_class("-invalid")


@pytest.mark.parametrize("content, message", [("x,y,label\n0,abc,0\n", "'abc'"),
                                              ("x,y,label\n", "no data rows"),
                                              ("x,y,label\n0,1,0\n1,2,0\n", "single class")])
async def test_a_data_file_that_cannot_be_loaded_is_refused_before_asking_to_reset(tmp_path, monkeypatch,
                                                                                   content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(content)
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await pilot.press("n", "2")
        field = app.query_one("#data-file", Input)
        field.focus()
        await pilot.press(*"bad.csv", "enter")
        await data_load_done(app, pilot)

        assert len(app.screen_stack) == 1  # no "reset the run?" for a file that cannot be used
        assert app.session.step_count == 1 and app.session.config.data.dataset == "spiral"
        assert app.focused is field and field.value == "bad.csv" and field.cursor_position == len("bad.csv")
        assert message in app.query_one(HyperParamsForm).problem


async def test_a_new_data_file_is_read_once_though_it_is_checked_before_the_reset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.csv").write_text("x,y,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    reads = []
    original = TrainingSession.load_data
    monkeypatch.setattr(TrainingSession, "load_data",
                        staticmethod(lambda config: reads.append(config.data.dataset) or original(config)))
    app = make_app()
    assert reads == ["spiral"]  # the app's first session
    async with running(app) as pilot:
        await pilot.press("2")
        app.query_one("#data-file", Input).focus()
        await pilot.press(*"good.csv", "enter")
        await data_load_done(app, pilot)

        assert app.session.config.data.dataset == "good.csv"
        assert reads == ["spiral", "good.csv"]


# ---------------------------------------------------------------------------------------------------------
# architecture edits and reset


async def test_architecture_edit_at_step_0_rebuilds_at_once():
    app = make_app()
    async with running(app) as pilot:
        await open_editor(app, pilot)
        layers = len(app.session.model.layers)
        await pilot.press("a")
        assert len(app.session.model.layers) == layers + 2  # a Linear and its activation
        assert hidden_widths(app.session) == [64, 64, 64]
        assert len(app.screen_stack) == 1  # nothing asked
        assert app.session.step_count == 0


async def test_a_network_too_big_to_build_is_refused_with_a_message_and_the_app_goes_on():
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await open_editor(app, pilot)
        await pilot.press("w", *"65536", "enter", "down", "w", *"65536", "enter")
        await pilot.pause()

        assert any("parameters" in note.message and "narrower" in note.message for note in app._notifications)
        assert hidden_widths(app.session) in ([64, 64], [65536, 64])  # the first edit alone fits
        await pilot.press("escape", "n")
        assert app.session.step_count == 1


async def test_architecture_edit_after_progress_asks_first():
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await open_editor(app, pilot)
        await step_n(pilot, 3)
        assert app.session.step_count == 3

        # n: keep the old model and training progress; the change waits for the next reset
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.session.step_count == 3
        assert hidden_widths(app.session) == [64, 64]
        assert app.config.model.hidden == [64, 64, 64]
        assert any("next reset" in note.message for note in app._notifications)

        # y: a new model, from step 0
        await pilot.press("x")  # back to two hidden layers in the pending config ...
        await pilot.press("n")  # ... kept pending
        await pilot.press(">")  # the selected layer becomes 128 wide
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert app.session.step_count == 0
        assert hidden_widths(app.session) == [64, 128]
        assert np.array_equal(np.concatenate([w.ravel() for w in weights(app.session)]),
                              np.concatenate([w.ravel() for w in weights(TrainingSession(app.config))]))


async def test_declined_architecture_change_applies_on_reset():
    app = make_app()
    async with running(app) as pilot:
        await open_editor(app, pilot)
        await step_n(pilot, 2)
        await pilot.press("a", "n")
        assert hidden_widths(app.session) == [64, 64]
        await pilot.press("escape", "r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert hidden_widths(app.session) == [64, 64, 64]


async def test_r_at_step_0_resets_without_asking():
    app = make_app()
    async with running(app) as pilot:
        before = weights(app.session)
        await pilot.press("r")
        assert len(app.screen_stack) == 1
        assert app.session.step_count == 0
        assert app.session.state is State.IDLE
        assert all(np.array_equal(a, b) for a, b in zip(before, weights(app.session)))


async def test_r_after_progress_asks_then_resets_or_keeps():
    app = make_app()
    async with running(app) as pilot:
        await step_n(pilot, 3)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert len(app.screen_stack) == 1
        assert app.session.step_count == 3
        await pilot.press("r", "q")  # q closes the question as no, as it closes help; the app stays
        assert len(app.screen_stack) == 1 and app.is_running
        assert app.session.step_count == 3

        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert len(app.screen_stack) == 1
        assert app.session.step_count == 0
        fresh = weights(TrainingSession(app.config))
        now = weights(app.session)
        assert len(now) == len(fresh)
        assert all(np.array_equal(a, b) for a, b in zip(now, fresh))
        await until(pilot, lambda: "step 0 " in status(app))


# ---------------------------------------------------------------------------------------------------------
# screens, tabs, panes, palette


async def test_help_screen_opens_and_closes():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert len(app.screen_stack) == 1
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("?")
        assert len(app.screen_stack) == 1


async def test_number_keys_switch_tabs_and_brackets_toggle_the_side_panes():
    app = make_app()
    async with running(app) as pilot:
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "train"
        for key, tab in (("2", "model"), ("3", "gradients"), ("1", "train")):
            await pilot.press(key)
            assert tabs.active == tab
        left, right = app.query_one("#model-summary"), app.query_one("#right-pane")
        assert not left.display and not right.display  # 80 columns: charts only
        await pilot.press("[")
        assert left.display and not right.display
        await pilot.press("]")  # below 120 columns one side pane at a time: the charts keep their room
        assert right.display and not left.display
        await pilot.press("]")
        assert not left.display and not right.display
        # from another tab, a bracket comes back to the Train tab to show the pane
        await pilot.press("3", "]")
        assert tabs.active == "train"
        assert right.display


async def test_side_panes_follow_the_width_across_120_columns_and_brackets_hold_in_between():
    app = make_app()
    async with running(app) as pilot:
        left, right = app.query_one("#model-summary"), app.query_one("#right-pane")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert left.display and right.display
        await pilot.press("[")
        assert not left.display and right.display
        await pilot.resize_terminal(140, 40)  # still wide: the choice stands
        await pilot.pause()
        assert not left.display and right.display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not left.display and not right.display
        assert app.query_one("#charts").size.width >= 70


async def test_below_80_columns_the_model_tab_stacks_the_editor_over_the_form_and_nothing_is_cut():
    app = make_app(**{"model.hidden": [2000, 2000], "model.activations": ["relu", "relu"]})
    async with running(app) as pilot:
        await pilot.press("2")
        for width in (64, 80):
            await pilot.resize_terminal(width, 24)
            await pilot.pause()
            editor, form = app.query_one("#architecture"), app.query_one("#hyperparams")
            table = editor.query_one("DataTable")
            assert table.virtual_size.width <= table.size.width  # every column, 7-digit counts included
            if width < 80:
                assert form.region.y > editor.region.y and form.region.x == editor.region.x
            else:
                assert form.region.x >= editor.region.right


async def test_below_80_columns_a_data_file_problem_shows_under_the_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.csv").write_text("x,y,label\n0,1,0\n1,2,0\n")
    app = make_app()
    async with running(app) as pilot:
        await pilot.resize_terminal(70, 24)
        await pilot.press("2")
        app.query_one("#data-file", Input).focus()
        await pilot.press(*"one.csv", "enter")
        await data_load_done(app, pilot)
        error = app.query_one("#form-error")
        assert "single class" in str(error.render())
        assert error.region.height >= 1 and error.region.bottom <= app.query_one("#model-row").region.bottom


async def test_a_regression_run_charts_validation_r2_where_classification_shows_accuracy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reg.csv").write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{i * 0.5}\n" for i in range(40)))
    app = NNTuiApp(apply_overrides(default_config("reg.csv"), {"data.task": "regression", "model.loss": "mse",
                                                                "training.batch_size": 8}), blink=False)
    async with running(app) as pilot:
        chart, box = app.query_one("#accuracy-chart"), app.query_one("#accuracy-box")
        await pilot.press("n")  # one batch of four: no epoch has ended, no R^2 yet
        await pilot.pause()
        assert "R² appears here at the end of each epoch" in str(chart.render())
        assert str(box.border_title).startswith("R²")
        await pilot.press("n", "n", "n")  # the epoch's last three batches
        await pilot.pause(0.6)
        assert len(app.session.history.epochs) == 1
        assert not chart.has_class("-empty")  # the epoch's R^2 is drawn
        assert "val R²" in str(box.border_title)


async def test_resize_below_the_minimum_shows_the_enlarge_message():
    app = make_app()
    async with running(app) as pilot:
        too_small = app.query_one("#too-small")
        assert not too_small.display
        await pilot.resize_terminal(50, 12)
        assert too_small.display
        assert not app.query_one("#main").display
        assert "enlarge" in str(too_small.render())
        await pilot.resize_terminal(80, 24)
        assert not too_small.display
        assert app.query_one("#main").display


# ---------------------------------------------------------------------------------------------------------
# robustness


async def test_q_quits_promptly_while_training(quick_keys):
    app = make_app()

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space")
            await until(pilot, lambda: app.session.step_count > 20)
            assert app.session.state is State.RUNNING
            await pilot.press("q")
            await app._task  # q alone ends the app's message loop (the training worker must not hold it)

    await asyncio.wait_for(run(), timeout=5)
    assert app.return_code == 0
    assert not app.is_running


async def test_a_diverging_run_stops_with_finite_weights_and_says_so():
    app = make_app(**{"optimizer.name": "sgd", "optimizer.lr": 10.0, "model.hidden": [256, 256],
                      "model.activations": ["relu", "relu"]})
    async with running(app, notifications=True) as pilot:
        await pilot.press("space")
        await until(pilot, lambda: app.session.state is not State.RUNNING)  # within a few steps
        assert app.session.state is State.DIVERGED
        await until(pilot, lambda: "diverged" in status(app))
        assert app.query_one(StatusLine).has_class("-diverged")
        lines = status(app).splitlines()
        assert len(lines) == 2 and lines[1].endswith("…")  # the long message is cut; the notification has it all
        assert max(map(len, lines)) <= 78
        # notify() posts a message: the notification is listed once the app has handled it
        await until(pilot, lambda: any(note.severity == "error" for note in app._notifications))
        assert all(np.isfinite(param).all() for _name, param, _grad in app.session.model.parameters())
        # the keys still answer: stepping is refused, lowering the rate and resetting recovers
        await pilot.press("n", "minus")
        assert app.session.state is State.DIVERGED
        assert app.session.lr == pytest.approx(5.0)
        await pilot.press("r", "y")
        assert app.session.state is State.IDLE
        assert app.session.step_count == 0
        assert app.is_running


async def test_huge_weights_diverge_instead_of_crashing():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("n")
        for _name, param, _grad in app.session.model.parameters():
            param[...] = 1e30  # finite, but the forward pass overflows
        await pilot.press("n")
        assert app.session.state is State.DIVERGED
        assert app.session.step_count == 1
        await until(pilot, lambda: "diverged" in status(app))
        assert all(np.isfinite(param).all() for _name, param, _grad in app.session.model.parameters())
        assert app.is_running


MASH_KEYS = ["space", "n", "r", "y", "plus", "minus", "1", "2", "3", "[", "]", "tab", "escape", "a", "x", "t",
             "o", "K", "J", "less_than_sign", "greater_than_sign", "question_mark", "w", "5", "enter", "up",
             "down"]


async def test_random_key_mash_leaves_the_app_running(quick_keys):
    keys = random.Random(20240601).choices(MASH_KEYS, k=200)
    app = make_app()
    async with running(app) as pilot:
        for key in keys:
            await pilot.press(key)
            assert app._exception is None, key
        app.session.pause()
        await pilot.pause(0.3)
        assert app.is_running
        assert app._exception is None
        assert all(np.isfinite(param).all() for _name, param, _grad in app.session.model.parameters())
        assert math.isfinite(app.session.lr)


EDITOR_MASH_KEYS = ["a", "x", "t", "o", "K", "J", "less_than_sign", "greater_than_sign", "w", "5", "enter",
                    "escape", "up", "down", "n", "y", "r", "space", "plus", "minus"]


async def test_random_edits_of_the_architecture_leave_the_app_running(quick_keys):
    # From the main screen the mash above spends most keys in the help screen and seldom reaches the
    # editor; here the editor has the keys (focused again whenever a tab switch or a dialog took focus away).
    keys = random.Random(11).choices(EDITOR_MASH_KEYS, k=120)
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("2")
        editor = app.query_one(ArchitectureEditor)
        for key in keys:
            if app.focused is None and len(app.screen_stack) == 1:
                editor.focus()
            await pilot.press(key)
            assert app._exception is None, key
        app.session.pause()
        await pilot.pause(0.3)
        assert app.is_running
        assert editor.hidden == app.config.model.hidden  # the editor shows the configured model ...
        if app.session.step_count == 0:  # ... which the session has, unless a declined change awaits a reset
            assert hidden_widths(app.session) == app.config.model.hidden
        assert all(np.isfinite(param).all() for _name, param, _grad in app.session.model.parameters())


# ---------------------------------------------------------------------------------------------------------
# saving the run and opening it again


async def test_ctrl_s_saves_the_run_and_the_checkpoint_reopens_it_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await step_n(pilot, 5)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SaveScreen)
        field = app.screen.query_one("#save-path", Input)
        assert app.screen.focused is field
        assert field.value == "spiral-epoch0-step5.npz"
        await pilot.press("end", "ctrl+u", *"mine", "enter")  # .npz is added
        assert not isinstance(app.screen, SaveScreen)
        assert any("mine.npz" in note.message and "nntui --load" in note.message for note in app._notifications)
        saved = weights(app.session)
        loss, accuracy = app.session.last_loss, app.session.last_accuracy

    reopened = NNTuiApp(session=TrainingSession.from_checkpoint(tmp_path / "mine.npz"), blink=False)
    async with running(reopened) as pilot:
        assert reopened.session.step_count == 5
        assert reopened.session.state is State.PAUSED
        for before, after in zip(saved, weights(reopened.session)):
            np.testing.assert_array_equal(before, after)
        assert "step 5" in status(reopened) and f"loss {loss:.4f}" in status(reopened)
        assert reopened.session.last_accuracy == accuracy
        await pilot.press("n")
        assert reopened.session.step_count == 6


async def test_saving_over_a_file_asks_first_and_a_bad_name_is_explained_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.npz").write_bytes(b"precious")
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("n", "ctrl+s", "end", "ctrl+u", *"nofolder/run.npz", "enter")
        problem = app.screen.query_one("#save-problem")
        assert isinstance(app.screen, SaveScreen)
        assert "folder 'nofolder' does not exist" in str(problem.render())

        await pilot.press("end", "ctrl+u", *"run.txt", "enter")
        assert "checkpoint files end in .npz" in str(problem.render())
        (tmp_path / "notes.txt").write_text("mine")
        await pilot.press("end", "ctrl+u", *"notes.txt", "enter")  # the wrong kind of name, before "exists"
        assert "checkpoint files end in .npz" in str(problem.render())
        (tmp_path / "adir.npz").mkdir()
        await pilot.press("end", "ctrl+u", *"adir.npz", "enter")
        assert "adir.npz is a folder" in str(problem.render())
        (tmp_path / "adir.npz").rmdir()

        await pilot.press("end", "ctrl+u", *"old.npz", "enter")
        assert "old.npz exists: enter again to replace it" in str(problem.render())
        assert (tmp_path / "old.npz").read_bytes() == b"precious"
        await pilot.press("enter")
        assert not isinstance(app.screen, SaveScreen)
        assert TrainingSession.from_checkpoint(tmp_path / "old.npz").step_count == 1

        for long_name in ("a" * 300, "b" * 253):  # too long for the file system (with .npz added, the second)
            await pilot.press("ctrl+s")
            app.screen.query_one("#save-path", Input).value = long_name  # as pasted
            await pilot.press("enter")
            assert isinstance(app.screen, SaveScreen)
            assert "cannot use this name" in str(app.screen.query_one("#save-problem").render())
            await pilot.press("escape")

        await pilot.press("ctrl+s", "escape")  # escape cancels and writes nothing
        assert not isinstance(app.screen, SaveScreen)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "old.npz"]
        assert (tmp_path / "notes.txt").read_text() == "mine"


async def test_g_runs_a_gradient_check_of_the_current_model_and_shows_it():
    from nntui.tui.screens import GradientCheckScreen

    app = NNTuiApp(blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n")
        await pilot.pause(0.2)
        weights = [p.copy() for _n, p, _g in app.session.model.parameters()]
        await pilot.press("g")
        await pilot.pause(0.2)
        assert isinstance(app.screen, GradientCheckScreen)
        result = app.screen.result
        assert result.passed and set(result.errors) == {n for n, _p, _g in app.session.model.parameters()}
        # the check ran on a copy: the session's weights are untouched
        assert all(np.array_equal(a, p) for a, (_n, p, _g) in zip(weights, app.session.model.parameters()))
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, GradientCheckScreen)
        app.exit()


def test_the_status_line_names_the_batch_numbers_as_such_and_shows_the_last_validation():
    from nntui.tui.widgets.status import status_text

    session = TrainingSession(apply_overrides(default_config("spiral"), {"training.epochs": 2}))
    session.step()
    first, _speed = status_text(session.snapshot()).splitlines()
    assert f"step 1  batch loss {session.last_loss:.4f}  acc {session.last_accuracy:.1%}" in first
    assert _speed.startswith("val -  ·  ")

    session.train()
    last = session.history.epochs[-1]
    lines = status_text(session.snapshot()).splitlines()
    assert lines[1].startswith(f"val loss {last.val_loss:.4f}  acc {last.val_accuracy:.1%}  ·  ")
    assert all(len(line) <= 78 for line in lines)  # 80 columns less the padding


def test_a_huge_loss_is_shown_in_scientific_notation_and_fits_one_line():
    from nntui.tui.widgets.status import _number

    assert _number(3.23e23) == "3.230e+23"
    assert _number(0.25) == "0.2500"


async def test_the_footer_does_not_offer_single_keys_while_a_field_takes_typing():
    from textual.widgets import Input

    app = NNTuiApp(blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        app.query_one("#optimizer-lr", Input).focus()
        await pilot.pause(0.1)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}
        assert not shown & {"lr_up", "lr_down", "toggle_run"}
        await pilot.press("escape")  # leaving the field brings the keys back
        await pilot.pause(0.1)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show and b.enabled}
        assert {"lr_up", "lr_down", "toggle_run", "quit"} <= shown
        app.query_one("#optimizer-lr", Input).focus()
        await pilot.pause(0.1)
        await pilot.press("ctrl+q")  # and quitting works from inside a field
        await pilot.pause(0.2)
        assert not app.is_running
