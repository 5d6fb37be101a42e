"""Playground's controls on the Model tab: noise, samples, classes, validation share, dropout, init, regenerate."""

from __future__ import annotations

import numpy as np
from pilot_helpers import make_app, running, step_n, until
from textual.widgets import Input, Select

from nntui.nn.layers import Dropout
from nntui.train.session import TrainingSession
from nntui.tui.screens import ConfirmScreen
from nntui.tui.widgets.hyperparams import HyperParamsForm


async def type_into(app, pilot, field_id: str, text: str) -> None:
    field = app.query_one(f"#{field_id}", Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text, "enter")


async def test_noise_samples_classes_and_validation_share_rebuild_the_data_at_step_0():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("2")
        await type_into(app, pilot, "data-noise", "0.5")
        await type_into(app, pilot, "data-n_samples", "300")
        await type_into(app, pilot, "data-n_classes", "4")
        await type_into(app, pilot, "data-val_fraction", "0.25")
        s = app.session
        assert (s.config.data.noise, s.config.data.n_samples, s.config.data.n_classes) == (0.5, 300, 4)
        assert s.dataset.n_classes == 4
        assert len(s.dataset.y_train) + len(s.dataset.y_val) == 300
        assert abs(len(s.dataset.y_val) - 75) <= 4  # a quarter, split by class (rounded per class)
        reference = TrainingSession(s.config)  # the same config built independently: the same points
        assert np.array_equal(reference.dataset.x_train, s.dataset.x_train)


async def test_dropout_and_init_change_the_model_after_asking_once_trained():
    app = make_app()
    async with running(app) as pilot:
        await step_n(pilot, 2)
        await pilot.press("2")
        await type_into(app, pilot, "model-dropout", "0.2")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith("Changing the dropout needs new weights")
        await pilot.press("y")
        assert any(isinstance(layer, Dropout) for layer in app.session.model.layers)
        app.query_one("#model-init", Select).focus()
        await pilot.pause()
        await pilot.press("enter", "down", "enter")  # the next initialiser in the list
        await until(pilot, lambda: app.session.config.model.init != "auto")
        assert app.session.step_count == 0


async def test_regenerate_draws_new_data_from_the_next_seed():
    app = make_app()
    async with running(app) as pilot:
        before = app.session.dataset.x_train.copy()
        await pilot.press("2")
        app.query_one("#regenerate").focus()
        await pilot.pause()
        assert "new data" in str(app.query_one(HyperParamsForm).query_one("#form-hint").render())
        await pilot.press("enter")
        await until(pilot, lambda: app.session.config.training.seed == 1)
        assert not np.array_equal(before, app.session.dataset.x_train)
        assert app.query_one("#training-seed", Input).value == "1"


async def test_a_setting_the_data_does_not_take_is_refused_with_a_message():
    from nntui.train.config import apply_overrides, default_config
    from nntui.tui.app import NNTuiApp

    app = NNTuiApp(apply_overrides(default_config("digits"), {"model.hidden": [8]}), blink=False)
    app.animation_level = "none"
    async with running(app, notifications=True) as pilot:
        await pilot.press("2")
        await type_into(app, pilot, "data-noise", "0.3")
        await pilot.pause(0.2)
        assert app.session.config.data.noise < 0  # the digits have no noise setting: nothing changed
        assert app._notifications and app.is_running
