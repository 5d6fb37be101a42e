"""Helpers for driving the whole app through a Pilot (the ``quick_keys`` fixture is in conftest.py)."""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

import numpy as np

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession
from nntui.tui.app import NNTuiApp
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.status import StatusLine

SIZE = (80, 24)


def make_app(**overrides) -> NNTuiApp:
    """The spiral app with so many epochs that no test sees training finish."""
    config = apply_overrides(default_config("spiral"), {"training.epochs": 100000, **overrides})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"  # no 0.3 s tab-underline animation for Pilot to wait out after each 1/2/3
    return app


@asynccontextmanager
async def running(app: NNTuiApp, **options):
    """`app.run_test` at 80x24 (unless given a size), left the way a real exit leaves (see the note below)."""
    async with app.run_test(**{"size": SIZE, **options}) as pilot:
        yield pilot
        # run_test's teardown calls App._shutdown while the app's message loop (and with it the 4 Hz / 2 Hz
        # refresh timers and the training worker) still runs, so a refresh can look for widgets already gone.
        # A real exit (q, ctrl+q, the palette) ends the loop first, stopping timers and workers: do that too.
        app.exit()
        await asyncio.wait_for(asyncio.shield(app._task), timeout=5)


async def data_load_done(app: NNTuiApp, pilot) -> None:
    """Wait for the app's data-loading worker (a data file loads in a thread), if one still runs, and for what it
    posted."""
    loading = [w for w in app.workers if w.group == "data-load"]
    if loading:  # (an empty list would mean every worker, the endless training loop too)
        await app.workers.wait_for_complete(loading)
    await pilot.pause()


def status(app: NNTuiApp) -> str:
    return str(app.query_one(StatusLine).render())


def shows_lr(app: NNTuiApp, value: str) -> bool:
    return re.search(rf"\blr {re.escape(value)}(\s|$)", status(app)) is not None


def weights(session: TrainingSession) -> list[np.ndarray]:
    return [param.copy() for _name, param, _grad in session.model.parameters()]


async def open_editor(app: NNTuiApp, pilot) -> None:
    """The Model tab, with the architecture editor taking the keys."""
    await pilot.press("2")
    app.query_one(ArchitectureEditor).focus()
    await pilot.pause()


async def step_n(pilot, count: int) -> None:
    for _ in range(count):
        await pilot.press("n")


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Wait (polling) until `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await pilot.pause(0.02)


def hidden_widths(session: TrainingSession) -> list[int]:
    return [layer.out_features for layer in session.model.layers[:-1] if layer.params]
