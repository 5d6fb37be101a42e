"""The trainer: its state holds everything a bit-exact continuation needs; the controller's snapshots describe
the step they name. References are independent runs of the same configuration, compared bit for bit."""

import asyncio
import subprocess
import sys

import numpy as np
import pytest
from quick_runs import quick_config, steps

from nntui.train.session import State, TrainingSession
from nntui.train.trainer import StateMismatch, Trainer


def small_config(**overrides):
    return quick_config({"model.dropout": 0.2, "training.epochs": 8}, overrides)


def assert_same(mine, reference):
    assert (mine.step_count, mine.epoch, mine.batch_index, mine.samples_seen) == \
        (reference.step_count, reference.epoch, reference.batch_index, reference.samples_seen)
    for (name, a, _), (_, b, _) in zip(mine.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a, b), f"{name}: largest difference {np.max(np.abs(a - b))}"
    assert [(r.epoch, r.step, r.train_loss, r.val_loss) for r in mine.history.epochs] == \
        [(r.epoch, r.step, r.train_loss, r.val_loss) for r in reference.history.epochs]
    for mine_curve, reference_curve in zip(mine.history.step_loss.arrays(), reference.history.step_loss.arrays()):
        assert np.array_equal(mine_curve, reference_curve)


@pytest.mark.parametrize("settings", [{}, {"optimizer.name": "sgd", "optimizer.momentum": 0.9,
                                           "optimizer.nesterov": True},
                                      {"optimizer.name": "rmsprop", "optimizer.momentum": 0.5}],
                         ids=["adam-dropout", "sgd-nesterov", "rmsprop"])
@pytest.mark.parametrize("taken_at", [0, 10, 23], ids=["new", "epoch-end", "mid-epoch"])
def test_a_state_loaded_into_another_trainer_continues_bit_identically(settings, taken_at):
    reference = steps(Trainer(small_config(**settings)), 50)
    source = steps(Trainer(small_config(**settings)), taken_at)
    state = source.state_dict()
    steps(source, 7)  # the state is a copy: training on afterwards changes nothing in it
    elsewhere = steps(Trainer(small_config(**settings)), 31)  # a trainer somewhere else in the same run
    elsewhere.load_state_dict(state)
    steps(elsewhere, 50 - taken_at)
    assert_same(elsewhere, reference)


def test_a_trainer_shuffles_at_its_first_step_not_when_it_is_built():
    """The app builds trainers on its event loop, where shuffling a million rows would keep a key waiting: the
    order is drawn when first needed, the same one, and a state kept before then (or at an epoch's end) holds
    none, only the generator that draws it."""
    trainer = Trainer(small_config())
    assert trainer.state_dict()["arrays"]["order"].size == 0
    first = Trainer(small_config()).order.copy()  # drawn on first use
    steps(trainer, 1)
    assert np.array_equal(trainer.order, first) and len(first) == len(trainer.x_train)
    steps(trainer, 9)  # the end of the first epoch
    assert trainer.epoch == 1 and trainer.state_dict()["arrays"]["order"].size == 0


def test_a_state_of_another_model_is_refused_before_anything_changes():
    trainer = steps(Trainer(small_config()), 3)
    before = [p.copy() for _n, p, _g in trainer.model.parameters()]
    other = Trainer(small_config(**{"model.hidden": [8]})).state_dict()
    with pytest.raises(StateMismatch, match="do not match the model"):
        trainer.load_state_dict(other)
    assert all(np.array_equal(a, p) for a, (_n, p, _g) in zip(before, trainer.model.parameters()))
    assert trainer.step_count == 3


async def test_after_a_pause_the_snapshot_s_update_ratio_is_that_of_the_step_it_names():
    session = TrainingSession(small_config(**{"training.epochs": 10_000}), publish_interval=10.0)
    task = asyncio.create_task(session.run(chunk_seconds=0.002))
    session.start()
    await asyncio.sleep(0.15)  # many chunks; publishes are rare (every 10 s), so only chunk ends are measured
    session.pause()
    snap = session.snapshot()
    session.stop()
    await asyncio.wait_for(task, 2)
    assert snap.state is State.PAUSED and snap.step == session.step_count > 20

    # Independently: the same run replayed to one step before, then that one step, measured by hand.
    replay = steps(Trainer(small_config(**{"training.epochs": 10_000})), snap.step - 1)
    before = {i: layer.params["W"].copy() for i, layer in enumerate(replay.model.layers) if layer.params}
    replay.step()
    for stats in snap.layers:
        update = replay.model.layers[stats.index].params["W"] - before[stats.index]
        expected = np.linalg.norm(update) / np.linalg.norm(replay.model.layers[stats.index].params["W"])
        assert stats.update_ratio == pytest.approx(expected, rel=1e-6), stats.name
        assert np.array_equal(session.last_updates[stats.index], update)


def test_an_unmeasured_step_shows_no_update_rather_than_an_older_one():
    trainer = Trainer(small_config())
    trainer.step(collect_stats=True)
    assert trainer.last_updates and all(np.isfinite(s.update_ratio) for s in trainer.layer_stats())
    trainer.step()  # not measured
    assert trainer.last_updates == {}
    assert all(np.isnan(s.update_ratio) for s in trainer.layer_stats())


def test_checkpoints_and_the_trainer_do_not_import_the_controller():
    code = ("import sys, nntui.train.checkpoint, nntui.train.trainer; "
            "print(sorted(m for m in sys.modules if m in ('nntui.train.controller', 'nntui.train.session')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "[]", result.stderr
