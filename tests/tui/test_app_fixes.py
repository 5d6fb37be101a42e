"""Small things a learner ran into (issue 11, point 8), each driven through the app as a person would.

Every test here failed before its fix.
"""

from __future__ import annotations

import numpy as np
from pilot_helpers import hidden_widths, make_app, open_editor, running, step_n, until
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import Monochrome

from nntui.nn.layers import Linear
from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession
from nntui.tui.app import NNTuiApp, _compact_summary
from nntui.tui.screens import ConfirmScreen
from nntui.tui.views import digits as digits_view
from nntui.tui.views.math import MathView, top_probabilities
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.gradients import format_table
from tests.tui.test_key_order import burst


async def test_a_typed_twice_quickly_asks_once_and_keeps_both_layers():
    app = make_app()
    async with running(app) as pilot:
        await open_editor(app, pilot)
        await step_n(pilot, 2)
        burst(app, ["a", "a"])  # typed ahead of the question, as over a slow link
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert sum(isinstance(screen, ConfirmScreen) for screen in app.screen_stack) == 1
        await pilot.press("y")
        assert len(app.screen_stack) == 1
        assert hidden_widths(app.session) == [64, 64, 64, 64]
        assert app.query_one(ArchitectureEditor).hidden == [64, 64, 64, 64]


async def test_a_change_answered_no_is_marked_as_not_applied_on_the_model_tab():
    app = make_app()
    async with running(app) as pilot:
        await open_editor(app, pilot)
        await step_n(pilot, 2)
        notice = app.query_one("#pending-change")
        assert not notice.display
        await pilot.press("a", "n")
        assert hidden_widths(app.session) == [64, 64]  # the model did not change ...
        assert notice.display  # ... and the tab says that what it shows is not what trains
        said = str(notice.render())
        assert "not applied" in said and "2 → 64 → 64 → 3" in said and "r resets" in said
        await pilot.press("escape", "r", "y")  # r applies it: the notice goes
        assert hidden_widths(app.session) == [64, 64, 64]
        assert not notice.display


async def test_the_confirm_question_names_a_setting_in_words():
    app = make_app()
    async with running(app) as pilot:
        await step_n(pilot, 2)
        await pilot.press("2")
        app.query_one("#optimizer-name").focus()
        await pilot.pause()
        await pilot.press("enter", "down", "enter")  # open the list, pick the next optimizer
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question
        assert question.startswith("Switch the optimizer from here")  # an optimizer change can keep the weights
        assert "optimizer.name" not in question


async def test_an_optimizer_changed_mid_run_is_a_branch_that_keeps_the_weights():
    app = make_app()
    async with running(app) as pilot:
        await step_n(pilot, 3)
        await until(pilot, lambda: app.session.step_count == 3)
        weights = app.session.model.state_dict()
        before = type(app.session.optimizer).__name__
        await pilot.press("2")
        app.query_one("#optimizer-name").focus()
        await pilot.pause()
        await pilot.press("enter", "down", "enter")  # another optimizer
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: type(app.session.optimizer).__name__ != before)
        assert app.session.step_count == 3  # not a reset: the run goes on from here
        assert all(np.array_equal(v, weights[k]) for k, v in app.session.model.state_dict().items())
        assert app.session.timeline.log[-1].kind == "branch"
        assert app.session.config.optimizer.name == app.config.optimizer.name != "adam"


async def test_the_model_tab_opens_with_the_editor_taking_keys():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("2")
        assert app.query_one(ArchitectureEditor).has_focus
        await pilot.press("a")  # at step 0 the change applies at once
        assert hidden_widths(app.session) == [64, 64, 64]


async def test_health_scrolls_with_the_keys_as_soon_as_its_tab_opens():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("4")
        assert app.focused is not None and app.focused.id == "health-scroll"


async def test_ctrl_c_says_how_to_quit_in_plain_words():
    app = make_app()
    async with running(app, notifications=True) as pilot:
        await pilot.press("ctrl+c")
        messages = [note.message for note in app._notifications]
        assert any("Press q to quit" in message for message in messages)
        assert not any("[b]" in message for message in messages)
        assert app.is_running


async def test_layers_are_numbered_the_same_on_every_tab():
    app = make_app(**{"model.hidden": [8, 4]})
    async with running(app, size=(120, 40)) as pilot:
        await step_n(pilot, 1)
        app._refresh_numbers()
        session = app.session
        # The Linear layers, counted from the input: 1, 2, 3 (model.layers positions 0, 2, 4).
        positions = [i for i, layer in enumerate(session.model.layers) if isinstance(layer, Linear)]
        assert positions == [0, 2, 4]
        expected = ["1", "2", "3"]
        editor_rows = app.query_one(ArchitectureEditor).query_one("DataTable")
        editor_numbers = [str(editor_rows.get_row_at(i)[0]).strip() for i in range(editor_rows.row_count)]
        grads = [line.split()[0] for line in format_table(app._snapshot.layers).splitlines()[1:]]
        side = [line.split()[0] for line in format_table(app._snapshot.layers, compact=True).splitlines()[1:]]
        summary = [line.split()[0] for line in _compact_summary(session).splitlines() if "->" in line]
        assert editor_numbers == grads == side == summary == expected
        app._refresh_charts(all_charts=True)
        await pilot.press("3")
        labels = [series.label for series in app.query_one("#grad-chart")._chart.series]
        assert labels == ["layer 1", "layer 2", "layer 3"]


def test_the_math_view_shows_the_largest_probabilities_when_not_all_fit():
    p = np.full(10, 0.001)
    p[7] = 0.991  # the prediction sits where "... N more ..." used to hide it
    p[2] = 0.0005
    shown = top_probabilities(p, width=60)
    assert shown.startswith("class 7 0.991 · ")
    assert " 2 " not in shown.split("…")[0]  # the smallest is among the counted, not the shown
    assert len(shown) <= 60
    assert top_probabilities(np.array([0.2, 0.5, 0.3]), width=60) == "[0.2, 0.5, 0.3]"  # fits: in class order


async def test_the_math_view_on_the_digits_shows_the_predicted_class_probability():
    config = apply_overrides(default_config("digits"), {"model.hidden": [16], "model.activations": ["relu"]})
    app = NNTuiApp(config, blink=False)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await step_n(pilot, 5)
        await pilot.press("8")
        view = app.query_one(MathView)
        while view.current.phase != "loss":
            await pilot.press("right")
        p = view.current.arrays["p"].ravel()
        lines = str(app.query_one("#math-step").render()).splitlines()
        p_line = next(line for line in lines if line.startswith("p ") and "=" not in line)
        best = int(np.argmax(p))
        assert f"class {best} {p[best]:.3g}" in p_line
        app.exit()


def test_digits_mistakes_stand_out_without_colour():
    session = TrainingSession(apply_overrides(default_config("digits"), {
        "model.hidden": [8], "model.activations": ["relu"], "training.epochs": 1}))
    session.train()
    page = digits_view.confusion_page(session)
    counts = digits_view.insight.confusion_matrix(session)
    assert counts.sum() - np.trace(counts) > 0  # a one-epoch network of 8 units makes mistakes
    styles = {}
    plain = page.plain
    for span in page.spans:
        text = plain[span.start:span.end].strip()
        if text.isdigit():
            styles.setdefault(str(span.style), text)
    mistake, right = Style.parse(digits_view.MISTAKE_STYLE), Style.parse("bold green")
    # What a NO_COLOR terminal gets (Textual's Monochrome filter): the mistakes still differ from the right ones.
    grey = Monochrome().apply([Segment("7", mistake), Segment("7", right)], Color(0, 0, 0))
    assert grey[0].style != grey[1].style and grey[0].style.reverse
    assert str(mistake) in styles
    assert "red" not in page.plain.splitlines()[-1]  # the legend does not speak of a colour
