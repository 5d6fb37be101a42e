"""What the app shows of a regression's loss: the MSE in the data's own units (one target column), said so on the
status line and in the loss chart's title, checked against the network's predictions and the file's own targets;
a classification run's loss shown as before."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pilot_helpers import make_app, running, status, step_n, until

from nntui.train.config import apply_overrides, default_config
from nntui.tui.app import NNTuiApp
from nntui.tui.charts import MetricChart


def write_big_scale_line(path, n=60, seed=3) -> np.ndarray:
    """Targets 1e4 times a linear function of three features (variance ~1e9): the file's rows, as written."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 5_000 + 1e4 * (3 * x[:, 0] - 2 * x[:, 1] + x[:, 2] + 0.3 * rng.normal(size=n))
    rows = np.column_stack([x.round(6), y.round(3)])
    path.write_text("a,b,c,y\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")
    return rows


def mse_by_hand(session, rows, x) -> float:
    """The MSE in the data's units of the network's predictions for the standardised rows ``x``, against the file's
    own targets of those rows (each found in the file by its features)."""
    raw = session.dataset.unstandardize(x)
    distance = ((raw[:, None, :] - rows[None, :, :3]) ** 2).sum(axis=2)
    assert np.all(distance.min(axis=1) < 1e-6)  # each row found, not guessed
    actual = rows[distance.argmin(axis=1), 3]
    return float(np.mean((actual - session.predict(x)[:, 0]) ** 2))


def next_batch(session) -> np.ndarray:
    start = session.batch_index * session.batch_size
    return session.x_train[session.order[start:start + session.batch_size]]


def loss_series(app) -> dict:
    return {series.label: series for series in app.query_one("#loss-chart", MetricChart)._chart.series}


async def test_a_regression_shows_its_batch_and_validation_mse_in_the_data_units(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = write_big_scale_line(tmp_path / "line.csv")
    config = apply_overrides(default_config("line.csv"), {
        "data.task": "regression", "training.batch_size": 8, "training.epochs": 100})
    app = NNTuiApp(config, blink=False)
    async with running(app) as pilot:
        session = app.session
        assert str(app.query_one("#loss-box").border_title).startswith("loss (MSE, data units) by step")
        first_batch = mse_by_hand(session, rows, next_batch(session))
        await pilot.press("n")
        await until(pilot, lambda: "step 1 " in status(app))
        shown = re.search(r"MSE (\S+) \(data units\)", status(app))
        assert shown, status(app)
        assert float(shown.group(1)) == pytest.approx(first_batch, rel=1e-3), (shown.group(1), first_batch)

        await step_n(pilot, session.batches_per_epoch - 1)  # to the end of the first epoch
        await until(pilot, lambda: "val" in loss_series(app) and len(loss_series(app)["val"].ys) == 1)
        series = loss_series(app)
        assert series["val"].ys[0] == pytest.approx(mse_by_hand(session, rows, session.x_val), rel=1e-4)
        assert series["val"].ys[0] == pytest.approx(session.history.epochs[0].val_mse, rel=1e-4)
        assert series["train"].ys[0] == pytest.approx(first_batch, rel=1e-4)
        assert series["train"].ys[0] > 1e6 * session.history.step_loss.arrays()[1][0]  # not standardised
        assert str(app.query_one("#loss-box").border_title).startswith("loss (MSE, data units) by step  ")


async def test_a_classification_shows_its_loss_as_the_network_minimises_it():
    app = make_app()
    async with running(app) as pilot:
        session = app.session
        await step_n(pilot, 3)
        await until(pilot, lambda: session.step_count == 3 and "step 3 " in status(app))
        assert f"batch loss {session.last_loss:.4f}  acc {session.last_accuracy:.1%}" in status(app)
        await until(pilot, lambda: "train" in loss_series(app) and len(loss_series(app)["train"].ys) == 3)
        _steps, losses = session.history.step_loss.arrays()
        assert list(loss_series(app)["train"].ys) == list(losses)
        assert str(app.query_one("#loss-box").border_title).startswith("loss by step  ")
