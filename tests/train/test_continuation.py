"""Stopping and going on never changes a run: the numbers at the end are those of an uninterrupted run.

The reference is always an independent session of the same configuration trained straight through with
``train()``; the interrupted one must match it bit for bit.
"""

import asyncio
import random

import numpy as np
import pytest
from quick_runs import quick_config

from nntui.train.session import State, TrainingSession


def small_config(**overrides):
    return quick_config({"model.dropout": 0.2, "training.epochs": 20}, overrides)


def assert_same_weights(mine, reference):
    assert (mine.step_count, mine.epoch) == (reference.step_count, reference.epoch)
    for (name, a, _), (_, b, _) in zip(mine.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a, b), f"{name}: largest difference {np.max(np.abs(a - b))}"
    assert [r.val_loss for r in mine.history.epochs] == [r.val_loss for r in reference.history.epochs]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_pausing_resuming_and_stepping_at_random_moments_ends_as_an_uninterrupted_run(seed):
    reference = TrainingSession(small_config())
    reference.train()
    session = TrainingSession(small_config(), publish_interval=0.0)  # every step measured, as a busy app would
    chance = random.Random(seed)
    runner = asyncio.create_task(session.run(chunk_seconds=0.0005, until_finished=True))
    session.start()
    while session.state is not State.FINISHED:
        await asyncio.sleep(chance.uniform(0, 0.004))
        action = chance.choice(["pause", "resume", "step", "resume"])
        if action == "pause":
            session.pause()
        elif action == "step":
            session.step_once()
        else:
            session.start()
    await asyncio.wait_for(runner, 10)
    assert_same_weights(session, reference)


@pytest.mark.parametrize("stop_after", [7, 10, 23])
def test_a_checkpoint_taken_anywhere_goes_on_as_an_uninterrupted_run(tmp_path, stop_after):
    reference = TrainingSession(small_config())
    reference.train()
    first = TrainingSession(small_config())
    for _ in range(stop_after):
        first.step()
    first.save_checkpoint(tmp_path / "run.npz")
    resumed = TrainingSession.from_checkpoint(tmp_path / "run.npz")
    resumed.train()
    assert_same_weights(resumed, reference)
