"""A user's data file loads in a worker thread: the app keeps answering keys, says it is loading, and says once
what the loader noticed about the data (a constant column, an ID-like column)."""

from __future__ import annotations

import asyncio
import gc
import time

import numpy as np
import pytest
from pilot_helpers import data_load_done
from textual import events
from textual.widgets import Input

from nntui.train.config import apply_overrides, default_config
from nntui.tui.app import DataLoaded, NNTuiApp
from nntui.tui.widgets.hyperparams import HyperParamsForm
from nntui.tui.widgets.status import StatusLine

BIG_ROWS = 300_000


@pytest.fixture(scope="module", params=["numbers", "words"])
def big_csv(tmp_path_factory, request):
    """300k rows x 8 features and a label (~24 MB): a load that takes a good fraction of a second. The labels
    are 0/1 or words (read through another path: rows of numbers and text)."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BIG_ROWS, 8))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    header = ",".join([f"f{i}" for i in range(8)] + ["label"])
    if request.param == "numbers":
        np.savetxt(path, np.column_stack([x, label]), fmt=["%.5f"] * 8 + ["%d"], delimiter=",", header=header,
                   comments="")
    else:
        lines = [",".join(f"{value:.5f}" for value in row) for row in x.tolist()]
        words = np.array(["below", "above"])[label]
        path.write_text(header + "\n" + "".join(f"{line},{word}\n" for line, word in zip(lines, words)))
    return path


def watch_leave_field(app: NNTuiApp) -> list[float]:
    """Record when each escape reaches its action (leave a field: cheap, so the time measured is the wait)."""
    handled: list[float] = []
    action = app.action_leave_field

    def probe(*args):
        handled.append(time.perf_counter())
        return action(*args)

    app.action_leave_field = probe
    return handled


async def test_keys_are_answered_within_50_ms_while_a_big_file_loads(big_csv, monkeypatch):
    gc.collect()  # garbage of the tests before this one is not this test's pause
    monkeypatch.chdir(big_csv.parent)
    app = NNTuiApp(default_config("spiral"), blink=False)
    handled = watch_leave_field(app)
    loaded: list[float] = []
    async with app.run_test(size=(80, 24), message_hook=lambda m: isinstance(m, DataLoaded)
                            and loaded.append(time.perf_counter())) as pilot:
        await pilot.pause(0.3)  # on the Train tab, drawn
        sent: list[float] = []
        shown: list[str] = []
        started = time.perf_counter()
        # What the form posts when a person enters the file's name (typing it is tested in test_app.py).
        app.query_one(HyperParamsForm).post_message(HyperParamsForm.Changed("data.dataset", "big.csv"))
        while not loaded and time.perf_counter() - started < 60:
            await asyncio.sleep(0.02)
            sent.append(time.perf_counter())
            app.post_message(events.Key("escape", None))
            shown.append(str(app.query_one(StatusLine).render()))
        await pilot.pause(0.1)
        assert loaded, "the file never finished loading"
        load_seconds = loaded[0] - started
        during = [(s, h) for s, h in zip(sent, handled) if s < loaded[0]]
        latencies_ms = sorted((h - s) * 1000 for s, h in during)
        assert load_seconds > 0.2 and len(during) >= 5, (load_seconds, len(during))  # keys met a real load
        # Every key within 50 ms: a load on the event loop held every key until the load was over; NumPy's
        # reader given the whole file at once held the interpreter lock for 70-120 ms at a time.
        assert latencies_ms[-1] < 50, f"key latencies while loading (ms): {latencies_ms}"
        assert any("big.csv" in text and "%" in text for text in shown)  # the loading indicator
        assert app.session.config.data.dataset == "big.csv"
        assert len(app.session.x_train) + len(app.session.x_val) == BIG_ROWS
        app.exit()


def flawed_csv(path):
    """A constant column and a row-number column beside two real features."""
    rows = [f"{i},{i % 7 - 3},{(i * 13) % 5},2.5,{i % 2}" for i in range(200)]
    path.write_text("id,a,b,flat,label\n" + "\n".join(rows) + "\n")


async def test_what_the_loader_noticed_is_said_once_when_a_file_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flawed_csv(tmp_path / "flawed.csv")
    app = NNTuiApp(default_config("spiral"), blink=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("2")
        app.query_one("#data-file", Input).focus()
        await pilot.press(*"flawed.csv", "enter")
        await data_load_done(app, pilot)
        assert app.session.config.data.dataset == "flawed.csv"
        said = [n for n in app._notifications if n.title == "about this data"]
        assert len(said) == 1
        assert "column 'flat' has the same value" in said[0].message
        assert "column 'id' looks like a row number" in said[0].message
        app.query_one("#data-file", Input).blur()
        await pilot.press("r")  # same data, new weights: nothing new to say
        await pilot.pause()
        assert len([n for n in app._notifications if n.title == "about this data"]) == 1
        app.exit()


async def test_a_run_that_starts_on_a_flawed_file_says_so_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flawed_csv(tmp_path / "flawed.csv")
    app = NNTuiApp(apply_overrides(default_config("flawed.csv"), {}), blink=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        said = [n for n in app._notifications if n.title == "about this data"]
        assert len(said) == 1 and "'flat'" in said[0].message
        app.exit()
