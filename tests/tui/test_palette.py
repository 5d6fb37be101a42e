"""The command palette (^p) is built from the app's bindings: an entry for each action whose key the help lists,
titled by what it does, its help text naming the key as the Footer shows it, and found by the words a person
would type."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import ClassVar

from pilot_helpers import make_app, running, until
from textual.binding import BindingType
from textual.command import CommandInput, CommandList, CommandPalette
from textual.screen import Screen

from nntui.tui.app import NNTuiApp
from nntui.tui.screens import GradientCheckScreen


def runs_action(callback) -> str:
    """The action a palette entry's callback runs, written as in a Binding: "save", "show_tab('model')"."""
    if isinstance(callback, partial):
        return f"{callback.func.__name__.removeprefix('action_')}({', '.join(map(repr, callback.args))})"
    return getattr(callback, "__name__", "").removeprefix("action_")


def named_keys(help_text: str) -> set[str]:
    """The keys an entry's help text starts with: "q / ^q" of "q / ^q", "g" of "g: gradient check: ..."."""
    return set(help_text.split(": ", 1)[0].split(" / "))


async def test_each_app_key_the_help_lists_has_one_palette_entry_that_names_its_keys():
    app = make_app()
    async with running(app) as pilot:
        await pilot.pause()
        assert app.focused is None  # the app's own keys, as at start
        keys_of: dict[str, set[str]] = {}  # action -> its keys as the Footer shows them
        for active in app.screen.active_bindings.values():
            binding = active.binding
            if active.node is app and (binding.show or binding.tooltip) and binding.action != "command_palette":
                keys_of.setdefault(binding.action, set()).add(app.get_key_display(binding))
        commands = list(app.get_system_commands(app.screen))
    by_action = {runs_action(command.callback): command for command in commands}
    assert len(by_action) == len(commands)  # one entry per action: Textual's own Quit gave way to ours
    assert set(keys_of) <= set(by_action), f"keys without a palette entry: {sorted(set(keys_of) - set(by_action))}"
    for action, keys in keys_of.items():
        assert named_keys(by_action[action].help) == keys, action
    assert named_keys(by_action["quit"].help) == {"q", "^q"}
    assert {"Theme", "Keys", "Screenshot"} <= {command.title for command in commands}  # Textual's own stay


def test_a_palette_entry_follows_its_binding_to_another_key():
    class Rebound(NNTuiApp):
        BINDINGS: ClassVar[list[BindingType]] = [dataclasses.replace(binding, key="k") if binding.action == "gradient_check" else binding
                    for binding in NNTuiApp.BINDINGS]

    [entry] = [command for command in Rebound().get_system_commands(Screen()) if command.title == "Gradient check"]
    assert entry.help == "k: gradient check: the backward pass against finite differences"


async def palette_titles(app, pilot, query: str) -> list[str]:
    """The titles the open palette lists for ``query``, best first."""
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    palette.query_one(CommandInput).value = query
    results = palette.query_one(CommandList)
    await until(pilot, lambda: results.option_count > 0)
    await pilot.pause(0.3)  # the search is gathered in batches: let it settle
    return [str(results.get_option_at_index(i).prompt).split("\n")[0] for i in range(results.option_count)]


async def test_the_palette_finds_entries_by_the_words_people_type_and_runs_them():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        found = {query: await palette_titles(app, pilot, query)
                 for query in ("learning rate", "save", "gradient check", "runs", "grads", "gradients", "weights",
                               "pause")}
        best = {title.split(":")[0] for title in found["learning rate"][:3]}
        assert best == {"lr×2", "lr÷2", "Find a learning rate"}, found["learning rate"]
        assert found["save"][0] == "Save the run"
        assert found["gradient check"][0] == "Gradient check"
        assert found["runs"][0] == "Runs and rewind"
        assert found["grads"][0] == found["gradients"][0] == "Show the Grads tab (gradients)"
        assert "Show the Weights tab" in found["weights"][:2]  # (after "Reset: new weights ...")
        assert found["pause"][0] == "Run: start, pause or resume training"
        await palette_titles(app, pilot, "gradient check")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GradientCheckScreen))
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        lr = app.session.lr
        assert (await palette_titles(app, pilot, "lr×2"))[0].startswith("lr×2")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.lr == 2 * lr)
