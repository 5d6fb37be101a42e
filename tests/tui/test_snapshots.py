"""Screenshots of the app in a fixed, paused state, compared with the SVGs under __snapshots__/.

After a deliberate change to the look, refresh them with
`pytest tests/tui/test_snapshots.py --snapshot-update` and read the new SVGs (or snapshot_report.html) before
committing them.

Everything on screen is made deterministic: the spiral data and the weights come from the config's seed, the
training steps are run directly (not by the timed run loop), the samples/s figure (wall time) is replaced by a
constant, no cursor blinks and no animation runs.
"""

from __future__ import annotations

import pytest

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import State
from nntui.tui.app import NNTuiApp
from nntui.tui.widgets import status

STEPS = 60  # 4 epochs of the spiral (15 batches of 32): the charts have a shape and 4 validation dots
PUBLISH_EVERY = 10  # a gradient-norm point per layer every 10 steps


@pytest.fixture(autouse=True)
def fixed_speed(monkeypatch):
    """The samples/s figure depends on wall time; show a constant instead."""
    monkeypatch.setattr(status, "_speed", lambda value: "12.3k")


def trained_app() -> NNTuiApp:
    config = apply_overrides(default_config("spiral"), {"training.epochs": 100000})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"
    return app


async def train_and_pause(pilot) -> None:
    """Train STEPS batches directly, publish, draw, and leave the session paused."""
    app = pilot.app
    session = app.session
    for step in range(1, STEPS + 1):
        collect = step % PUBLISH_EVERY == 0
        session.step(collect_stats=collect)
        if collect:
            session.publish(force=True)
    session.start()  # and paused again before the run loop gets a turn: nothing more is trained
    session.pause()
    app._refresh_numbers()
    app._refresh_charts()
    app._refresh_view(force=True)  # the wide Train tab's picture, drawn now rather than at its 1 Hz tick
    await pilot.pause()
    assert session.step_count == STEPS and session.state is State.PAUSED


def test_main_screen_80x24(snap_compare):
    assert snap_compare(trained_app(), terminal_size=(80, 24), run_before=train_and_pause)


def test_main_screen_120x40(snap_compare):
    assert snap_compare(trained_app(), terminal_size=(120, 40), run_before=train_and_pause)


def test_model_tab_80x24(snap_compare):
    assert snap_compare(trained_app(), press=["2"], terminal_size=(80, 24), run_before=train_and_pause)


def test_gradients_tab_80x24(snap_compare):
    assert snap_compare(trained_app(), press=["3"], terminal_size=(80, 24), run_before=train_and_pause)


def test_help_screen_80x24(snap_compare):
    assert snap_compare(trained_app(), press=["question_mark"], terminal_size=(80, 24),
                        run_before=train_and_pause)



@pytest.mark.parametrize("key, tab", [("4", "health"), ("5", "weights"), ("6", "boundary"), ("7", "digits"),
                                      ("8", "math")])
def test_each_explaining_view_in_the_app_80x24(snap_compare, key, tab):
    # On the spiral, the digits tab shows why it does not apply instead of an empty pane.
    assert snap_compare(trained_app(), press=[key], terminal_size=(80, 24), run_before=train_and_pause)
