"""A text field that applies the keys it receives in the order they were typed.

Textual hands a printable key to the focused Input, which inserts it at once; a control key (backspace, delete,
left, enter, ...) travels on: it is re-posted to every ancestor's message queue in turn, up to the App, which
only then runs the binding. In nntui an Input sits about ten widgets deep (tab pane, form, row, ...), so a
control key needs about ten turns of the event loop and the printable key after it needs one: over SSH, where
keys typed within a few milliseconds arrive together, backspace then 5 in "0.01" gave "0.01" (the 5 was inserted,
then deleted) instead of "0.05". While training shares the loop, each turn can take a few milliseconds more.

`OrderedInput` runs the binding a key would reach (its own, the form's, the app's, whichever Textual would pick)
as soon as the key arrives at the field, so every key is handled in its own turn, in order. A control key that
no binding takes bubbles on as before.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """An Input whose control keys are handled where they arrive, in order with the typed characters."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable and await self.app._check_bindings(event.key):
            # Textual's own binding lookup (focused widget first, then up to the app; an action that skips, as
            # the Input's scroll keys do, lets the next one try), run now instead of after the key has bubbled.
            # A private method of Textual 8 (pinned): the public active_bindings lists only the first binding
            # of each key, not the one that takes it.
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)
