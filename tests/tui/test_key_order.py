"""Keys that arrive together (over SSH, typed within a few milliseconds) are applied in the order typed.

A Pilot waits for the app to be idle after each key, which hides any reordering; here the keys are posted to the
app in one burst, as a terminal delivers them when they come in the same read.
"""

from __future__ import annotations

from pilot_helpers import make_app, open_editor, running, until
from textual import events
from textual.widgets import Input

from nntui.train.session import State
from nntui.tui.widgets.architecture import WidthInput


def burst(app, keys: list[str]) -> None:
    """Post ``keys`` to the app all at once, the way a terminal read holding several keys delivers them."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def lr_field(app, pilot, text: str) -> Input:
    await pilot.press("2")
    field = app.query_one("#optimizer-lr", Input)
    field.focus()
    await pilot.pause()
    field.value, field.cursor_position = text, len(text)
    await pilot.pause()
    return field


async def test_backspace_then_a_digit_in_the_lr_field_edits_in_the_order_typed():
    app = make_app()
    async with running(app) as pilot:
        field = await lr_field(app, pilot, "0.01")
        burst(app, ["backspace", "5"])
        await pilot.pause(0.3)
        assert field.value == "0.05"  # before the fix: "0.01" (the 5 was inserted first, then deleted)


async def test_keys_stay_in_order_while_training(quick_keys):
    app = make_app()
    async with running(app) as pilot:
        field = await lr_field(app, pilot, "0.01")
        app.session.start()
        await until(pilot, lambda: app.session.step_count > 10)
        burst(app, ["backspace", "backspace", "3", "left", "0", "end", "7"])
        await until(pilot, lambda: field.value.endswith("7"))
        await pilot.pause(0.2)
        assert field.value == "0.037"  # "0.01", "0.0", "0.", "0.3", a 0 before the 3: "0.03", a 7 at the end
        assert app.session.state is State.RUNNING


async def test_a_width_typed_in_the_editor_keeps_its_order():
    app = make_app()
    async with running(app) as pilot:
        await open_editor(app, pilot)
        await pilot.press("w")
        width = app.query_one(WidthInput)
        assert width.has_focus and width.value == "64"
        width.cursor_position = 2  # not the whole text selected, as on focus
        await pilot.pause()
        burst(app, ["backspace", "8"])
        await pilot.pause(0.3)
        assert width.value == "68"
