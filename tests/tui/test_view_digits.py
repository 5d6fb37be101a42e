"""The Digits view, alone in a small host app at 80x24, driven by real keys.

The host stands in for the app: it shows the view (focused, as after Tab) and a Footer, and calls
``update_view(session, snapshot)`` as the app does while the tab is visible. The session is a small seeded network
(a hidden layer of 32 units) trained 2 epochs on the digits, so the pages always show the same numbers.
"""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

from nntui.nn import Linear
from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession
from nntui.tui.views.digits import DigitsView


def digits_session(epochs: int = 2) -> TrainingSession:
    config = apply_overrides(default_config("digits"), {
        "model.hidden": [32], "model.activations": ["relu"], "training.epochs": epochs, "training.seed": 0})
    session = TrainingSession(config)
    session.train()
    return session


class ViewHost(App):
    AUTO_FOCUS = ""

    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield DigitsView()
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(DigitsView)
        view.focus()
        view.update_view(self.session, self.session.snapshot())


def body_lines(app: App) -> list[str]:
    """The page as the user sees it: the text of the body's rendered lines."""
    body = app.query_one("#digits-body", Static)
    return [strip.text.rstrip() for strip in body._render_cache.lines]


def confusion_rows(lines: list[str]) -> dict[str, list[int]]:
    """The matrix rows on screen, 'true class' -> counts ('·' is 0), without the accuracy column."""
    rows = {}
    for line in lines:
        cells = line.split()
        if len(cells) == 12 and cells[0].isdigit():
            rows[cells[0]] = [0 if cell == "·" else int(cell) for cell in cells[1:11]]
    return rows


# -- pages and keys ------------------------------------------------------------------------------------------


async def test_confusion_page_shows_the_counts_of_the_predictions():
    session = digits_session()
    predicted = session.predict(session.x_val)
    app = ViewHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = body_lines(app)
        rows = confusion_rows(lines)
        assert sorted(rows) == [str(digit) for digit in range(10)]
        for digit, counts in rows.items():
            expected = [int(np.count_nonzero((session.y_val == int(digit)) & (predicted == guess)))
                        for guess in range(10)]
            assert counts == expected, f"row {digit}: on screen {counts}, counted {expected}"
        right = int(np.count_nonzero(predicted == session.y_val))
        total = len(session.y_val)
        assert lines[0].startswith(f"validation: {total} samples, {right} right ({right / total:.1%})")
        assert any(line.startswith(f"total {total} = the validation set") for line in lines)


async def test_keys_switch_pages_and_arrows_cycle():
    app = ViewHost(digits_session())
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DigitsView)
        await pilot.press("m")
        assert view.page == "mistakes"
        assert "wrong, most confident first" in body_lines(app)[0]
        await pilot.press("f")
        assert view.page == "weights"
        assert body_lines(app)[0].startswith("layer 0, 64→32")
        await pilot.press("c")
        assert view.page == "confusion"
        await pilot.press("right", "right")
        assert view.page == "weights"
        await pilot.press("right")
        assert view.page == "confusion"
        await pilot.press("left")
        assert view.page == "weights"


async def test_footer_lists_the_page_keys():
    app = ViewHost(digits_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = {key: active.binding.description for key, active in app.screen.active_bindings.items()
                 if active.binding.show}
        assert shown["c"] == "Confusion" and shown["m"] == "Mistakes" and shown["f"] == "1st-layer W"


async def test_mistakes_page_captions_true_and_predicted_labels():
    session = digits_session()
    predicted = session.predict(session.x_val)
    wrong = int(np.count_nonzero(predicted != session.y_val))
    app = ViewHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        lines = body_lines(app)
        assert lines[0].startswith(f"{wrong} of {len(session.y_val)} wrong")
        captions = [cell for line in lines[1:] if "→" in line for cell in line.split("  ") if "→" in cell]
        assert len(captions) == min(wrong, 8 * 4)  # 8 images across, 4 rows of them in 21 rows
        pairs = {(int(c.split("→")[0]), int(c.split("→")[1].split()[0])) for c in captions}
        possible = set(zip(session.y_val[predicted != session.y_val].tolist(),
                           predicted[predicted != session.y_val].tolist()))
        assert pairs <= possible
        assert sum("▀" in line for line in lines) == 4 * 4  # each 8x8 image is 4 rows of half blocks


async def test_redraws_only_when_the_model_stepped():
    session = digits_session()
    app = ViewHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DigitsView)
        await pilot.pause()
        draws = view.draw_count
        view.update_view(session, session.snapshot())
        view.update_view(session, session.snapshot())
        assert view.draw_count == draws
        session.set_epochs(3)
        session.step()
        view.update_view(session, session.snapshot())
        assert view.draw_count == draws + 1
        await pilot.press("m")  # a new page is drawn at once
        assert view.draw_count == draws + 2


async def test_spiral_says_why_the_view_does_not_apply():
    session = TrainingSession(default_config("spiral"))
    app = ViewHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        view = app.query_one(DigitsView)
        assert view.not_applicable(session) == "needs image data such as the digits; spiral has 2 features"
        assert body_lines(app)[0].startswith("The Digits view needs image data such as the digits")


async def test_diverged_weights_and_small_terminals_do_not_crash():
    session = digits_session()
    for layer in session.model.layers:
        if isinstance(layer, Linear):
            layer.params["W"][...] = np.nan
    app = ViewHost(session)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("c", "m", "f"):
            await pilot.press(key)
            assert body_lines(app)
        for size in ((40, 10), (20, 5), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert app.query_one(DigitsView).draw_count > 0


async def test_a_wider_terminal_shows_more_mistakes():
    app = ViewHost(digits_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        captions = sum(line.count("→") for line in body_lines(app))
        assert captions > 8 * 4


# -- screenshots ---------------------------------------------------------------------------------------------


def test_confusion_page_snapshot(snap_compare):
    assert snap_compare(ViewHost(digits_session()), terminal_size=(80, 24))


def test_mistakes_page_snapshot(snap_compare):
    assert snap_compare(ViewHost(digits_session()), press=["m"], terminal_size=(80, 24))


def test_weights_page_snapshot(snap_compare):
    assert snap_compare(ViewHost(digits_session()), press=["f"], terminal_size=(80, 24))


def test_not_applicable_snapshot(snap_compare):
    assert snap_compare(ViewHost(TrainingSession(default_config("spiral"))), terminal_size=(80, 24))


def test_confusion_column_totals_never_run_into_each_other():
    from nntui.train.insight import digits as insight
    from nntui.tui.views.digits import confusion_page

    session = TrainingSession(default_config("digits"))  # untrained: lopsided columns, some totals > 100
    totals = insight.confusion_matrix(session).sum(axis=0)
    line = next(row for row in confusion_page(session, width=120).plain.splitlines() if row.startswith("predicted"))

    numbers = [int(v) for v in line.split()[1:-1]]
    assert numbers == [int(t) for t in totals]
