"""Open-ended runs (training.epochs = 0): on until paused, as TensorFlow Playground plays."""

from __future__ import annotations

import asyncio

import pytest

from nntui.train.config import ConfigError, apply_overrides, default_config
from nntui.train.session import State, TrainingSession


def endless(**overrides) -> TrainingSession:
    settings = {"data.n_samples": 200, "model.hidden": [8], "model.activations": ["relu"], "training.epochs": 0}
    return TrainingSession(apply_overrides(default_config("moons"), {**settings, **overrides}))


def test_an_open_ended_run_never_finishes_by_itself():
    session = endless()
    per_epoch = session.trainer.batches_per_epoch
    for _ in range(12 * per_epoch):
        session.step()
    assert session.epoch == 12 and not session.trainer.finished
    assert session.state is not State.FINISHED
    assert len(session.history.epochs) == 12  # each epoch is still validated and recorded


async def test_in_the_async_loop_it_trains_until_paused():
    session = endless()
    task = asyncio.create_task(session.run())
    session.start()
    for _ in range(200):
        await asyncio.sleep(0.01)
        if session.epoch >= 30:
            break
    assert session.state is State.RUNNING and session.epoch >= 30
    session.pause()
    assert session.state is State.PAUSED
    session.stop()
    await asyncio.wait_for(task, 2)


def test_a_finished_run_made_open_ended_can_go_on():
    session = endless(**{"training.epochs": 2})
    for _ in range(2 * session.trainer.batches_per_epoch):
        session.step()
    assert session.state is State.FINISHED
    session.set_epochs(0)
    assert session.state is State.PAUSED and "until paused" in session.message
    session.step()
    assert session.step_count == 2 * session.trainer.batches_per_epoch + 1


def test_a_negative_epoch_count_is_refused():
    with pytest.raises(ConfigError, match="training.epochs must be a whole number >= 0"):
        apply_overrides(default_config("moons"), {"training.epochs": -1}).validate()


def test_the_status_line_shows_no_total_for_an_open_ended_run():
    from nntui.tui.widgets.status import status_text

    session = endless()
    for _ in range(3 * session.trainer.batches_per_epoch):
        session.step()
    first_line = status_text(session.snapshot(), 80, "full speed").splitlines()[0]
    assert "epoch 3  step" in first_line and "/0" not in first_line


def test_the_headless_trainer_refuses_an_open_ended_run_in_one_line(capsys, tmp_path, monkeypatch):
    from nntui.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "moons", "--samples", "200", "--epochs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "until paused" in err[0]
