"""A set pace is kept: the controller schedules groups of steps against the clock, so the time the steps take
does not slow the run below its pace (it did: 45% of 1000 steps/s)."""

from __future__ import annotations

import asyncio
import time

import pytest

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import State, TrainingSession


@pytest.mark.parametrize("pace", [20.0, 400.0])
async def test_a_run_at_a_set_pace_trains_about_that_many_steps_a_second(pace):
    session = TrainingSession(apply_overrides(default_config("moons"), {"training.epochs": 0}))
    session.max_steps_per_second = pace
    task = asyncio.create_task(session.run())
    session.start()
    await asyncio.sleep(0.1)
    before, started = session.step_count, time.perf_counter()
    await asyncio.sleep(1.0)
    rate = (session.step_count - before) / (time.perf_counter() - started)
    session.stop()
    await asyncio.wait_for(task, 2)
    assert 0.75 * pace <= rate <= 1.1 * pace, rate


async def test_a_pause_during_a_paced_wait_takes_effect_at_once():
    session = TrainingSession(apply_overrides(default_config("moons"), {"training.epochs": 0}))
    session.max_steps_per_second = 1.0  # a step, then a second's wait
    task = asyncio.create_task(session.run())
    session.start()
    await asyncio.sleep(0.05)
    session.pause()
    steps = session.step_count
    await asyncio.sleep(1.5)
    assert session.state is State.PAUSED and session.step_count == steps
    session.stop()
    await asyncio.wait_for(task, 2)
