"""The Math view, alone in a small host app at 80x24, driven by real keys.

The host stands in for the app: it shows the view (focused, as after Tab) and a Footer, and calls
``update_view(session, snapshot)`` as the app does while the tab is visible. The session is a small seeded
spiral network (2 -> 16 -> 8 -> 3, ReLU) trained 30 batches, so every run shows the same numbers. What the
view shows is compared with ``trace_sample`` formatted by ``format_vector``: the view only lays numbers out.
"""

from __future__ import annotations

import re

import numpy as np
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

from nntui.nn.layers import Linear
from nntui.train.config import apply_overrides, default_config
from nntui.train.insight.trace import format_number, format_vector, trace_sample
from nntui.train.session import TrainingSession
from nntui.tui.views import math as math_view
from nntui.tui.views.math import MathView

SIZE = (80, 24)
N_STEPS = 12  # 5 layers forward, the loss, dL/dpred, 5 layers backward


def spiral_session(steps: int = 30, **overrides) -> TrainingSession:
    config = apply_overrides(default_config("spiral"), {
        "data.n_samples": 200, "model.hidden": [16, 8], "model.activations": ["relu", "relu"],
        "training.epochs": 1000, "training.seed": 0, **overrides})
    session = TrainingSession(config)
    for _ in range(steps):
        session.step()
    return session


class ViewHost(App):
    AUTO_FOCUS = ""

    def __init__(self, session: TrainingSession | None) -> None:
        super().__init__()
        self.session = session
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield MathView()
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(MathView)
        view.focus()
        if self.session is not None:
            view.update_view(self.session, self.session.snapshot())


def lines_of(app: App, selector: str) -> list[str]:
    """A part of the view as the user sees it: the text of its rendered lines."""
    return [strip.text.rstrip() for strip in app.query_one(selector, Static)._render_cache.lines]


def header(app: App) -> list[str]:
    return lines_of(app, "#math-sample")


def body(app: App) -> list[str]:
    return lines_of(app, "#math-step")


def position(app: App) -> tuple[int, int]:
    match = re.match(r"step (\d+) of (\d+)", header(app)[1])
    assert match, header(app)
    return int(match[1]), int(match[2])


def shown_values(lines: list[str], name: str) -> str:
    """The numbers shown on the line of array ``name``: everything from its first "[" on."""
    line = next(line for line in lines if re.match(rf"{re.escape(name)} {{2}}", line))
    return line[line.index("["):] if "[" in line else line.split()[-1]


def is_formatted(values: str, array: np.ndarray) -> bool:
    """True when ``values`` is ``array`` as format_vector writes it, with some number of items kept."""
    return any(values == format_vector(array, max_items=m) for m in range(2, 40))


# -- keys ------------------------------------------------------------------------------------------------------


async def test_next_and_previous_keys_walk_the_steps_and_the_indicator_follows():
    app = ViewHost(spiral_session())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert position(app) == (1, N_STEPS)
        await pilot.press("right", "right")
        assert position(app) == (3, N_STEPS)
        await pilot.press("left")
        assert position(app) == (2, N_STEPS)
        await pilot.press("full_stop", "full_stop", "comma")
        assert position(app) == (3, N_STEPS)
        await pilot.press("end")
        assert position(app) == (N_STEPS, N_STEPS)
        await pilot.press("right")  # the last step stays the last
        assert position(app) == (N_STEPS, N_STEPS)
        await pilot.press("home")
        assert position(app) == (1, N_STEPS)
        await pilot.press("left")
        assert position(app) == (1, N_STEPS)


def numbered(session, title: str) -> str:
    """A trace title ("Layer 3 · ReLU", a position in model.layers) with the layer as people count them: the
    number of Linear layers up to that position ("Layer 2 · ReLU" is the second Linear layer's activation)."""
    def count(match: re.Match) -> str:
        linear = sum(isinstance(layer, Linear) for layer in session.model.layers[:int(match[1]) + 1])
        return f"Layer {linear} ·"
    return re.sub(r"^Layer (\d+) ·", count, title)


async def test_the_numbers_shown_are_the_traces():
    session = spiral_session()
    steps = trace_sample(session, 0)
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for index, step in enumerate(steps):
            lines = body(app)
            assert lines[0] == numbered(session, step.title)
            assert lines[1:1 + len(step.formula.splitlines())] == step.formula.splitlines()
            for name, array in step.arrays.items():
                if array.ndim == 0:
                    assert shown_values(lines, name) == format_number(array, 6), name
                elif array.ndim == 2 and array.shape[0] > 1:  # a matrix: shape, norm, then its first rows
                    at = next(i for i, line in enumerate(lines) if re.match(rf"{re.escape(name)} {{2}}", line))
                    assert lines[at].split()[1] == f"{array.shape[0]}×{array.shape[1]}"
                    assert f"norm {format_number(np.linalg.norm(array.astype(np.float64)))}" in lines[at]
                    for row in (0, 1):
                        shown = lines[at + 1 + row].split(f"[{row}] ", 1)[1]
                        assert is_formatted(shown, array[row]), f"{step.title}: {name} row {row}: {shown}"
                else:
                    assert is_formatted(shown_values(lines, name), array), f"{step.title}: {name}"
            assert max(len(line) for line in lines) <= SIZE[0] - 2, "a line wraps"
            await pilot.press("right")
            if index + 1 < len(steps):
                assert position(app) == (index + 2, N_STEPS)


async def test_the_loss_step_shows_the_prediction_the_target_and_the_loss():
    session = spiral_session()
    steps = trace_sample(session, 0)
    loss = next(step for step in steps if step.phase == "loss")
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["right"] * 5)
        lines = body(app)
        assert lines[0] == "Loss: softmax cross-entropy"
        assert shown_values(lines, "L") == format_number(loss.arrays["L"], 6)
        assert shown_values(lines, "target") == format_vector(loss.arrays["target"])
        assert lines[-1] == loss.note and "label" in loss.note


async def test_other_samples_are_traced_and_the_step_is_kept():
    session = spiral_session()
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "down")
        assert header(app)[0].startswith(f"sample #1 of {len(session.x_train)} (train) · class {session.y_train[1]}")
        assert position(app) == (3, N_STEPS)
        expected = trace_sample(session, 1)[2].arrays["y"]
        assert is_formatted(shown_values(body(app), "y"), expected)
        await pilot.press("up", "up")  # from the first sample back to the last
        assert header(app)[0].startswith(f"sample #{len(session.x_train) - 1} of")
        await pilot.press("greater_than_sign", "less_than_sign", "less_than_sign")
        assert header(app)[0].startswith(f"sample #{len(session.x_train) - 2} of")


async def test_v_switches_between_the_training_and_the_validation_samples():
    session = spiral_session()
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        assert header(app)[0].startswith(f"sample #0 of {len(session.x_val)} (val) · class {session.y_val[0]}")
        expected = trace_sample(session, 0, "val")[0].arrays["x"]
        assert is_formatted(shown_values(body(app), "x"), expected)
        await pilot.press("v")
        assert "(train)" in header(app)[0]


# -- following the training ------------------------------------------------------------------------------------


async def test_training_retraces_at_the_next_update_and_keeps_the_step():
    session = spiral_session()
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["right"] * 9)  # the middle Linear's gradients
        view = app.query_one(MathView)
        before = view.steps
        view.update_view(session, session.snapshot())  # nothing changed: nothing is traced again
        assert view.steps is before
        for _ in range(3):
            session.step()
        view.update_view(session, session.snapshot())
        await pilot.pause()
        assert view.steps is not before
        assert position(app) == (10, N_STEPS)
        assert header(app)[0].endswith("weights after step 33")
        expected = trace_sample(session, 0)[9].arrays["dL/db"]
        assert is_formatted(shown_values(body(app), "dL/db"), expected)


async def test_a_reset_to_a_smaller_model_keeps_the_step_within_the_new_pass():
    session = spiral_session()
    app = ViewHost(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        session.reset(apply_overrides(session.config, {"model.hidden": [4], "model.activations": ["tanh"]}))
        app.query_one(MathView).update_view(session, session.snapshot())
        await pilot.pause()
        assert position(app) == (8, 8)  # 3 layers forward, the loss, dL/dpred, 3 layers backward
        assert header(app)[0].endswith("weights after step 0")
        assert body(app)[0] == "Layer 1 · Linear 2→4: gradients of W, b and the input"


async def test_a_failing_trace_is_explained_instead_of_raising(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the engine is on fire")

    monkeypatch.setattr(math_view, "trace_sample", broken)
    app = ViewHost(spiral_session(steps=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "down", "left", "v", "home", "end")
        assert "the engine is on fire" in " ".join(body(app))
        assert app.is_running


async def test_keys_before_the_first_update_do_nothing():
    app = ViewHost(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "left", "down", "up", "v", "home", "end", "pagedown")
        assert header(app) == ["Waiting for the model…"]
        assert app.is_running


async def test_a_wider_terminal_shows_more_numbers_and_nothing_wraps():
    app = ViewHost(spiral_session())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")  # the ReLU after the first layer: two vectors of 16
        narrow = shown_values(body(app), "y")
        await pilot.resize_terminal(140, 30)
        await pilot.pause()
        wide = shown_values(body(app), "y")
        assert "more" in narrow and "more" not in wide and len(wide) > len(narrow)
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert max(len(line) for line in body(app)) <= 58


# -- screenshots -----------------------------------------------------------------------------------------------


def test_first_forward_step_snapshot(snap_compare):
    assert snap_compare(ViewHost(spiral_session()), terminal_size=SIZE)


def test_backward_step_snapshot(snap_compare):
    # the last Linear's gradients: dL/dy, its input, dL/dW (a 8×3 matrix), dL/db and dL/dx
    assert snap_compare(ViewHost(spiral_session()), press=["right"] * 7, terminal_size=SIZE)
