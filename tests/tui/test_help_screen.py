"""The help screen (?) is built from the bindings: every key worth knowing is listed, and no key that is not bound.

The keys a section must list are read from the running app the way a person meets them: open the tab, and ask
Textual which bindings are active for the focused widget (or, for the global keys, with nothing focused). A key
worth knowing is one the Footer shows or one that carries a tooltip (its long explanation).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pilot_helpers import make_app, running
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from nntui.tui.screens import HelpScreen, help_rows
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.hyperparams import FieldInput

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
#: Help section title -> the key that opens its tab ("" : the keys that work everywhere).
SECTIONS = {"": None, "Model tab": "2", "Weights tab": "5", "Digits tab": "7", "Math tab": "8"}


def worth_knowing(binding: Binding) -> bool:
    return binding.show or bool(binding.tooltip)


def bound_keys(app, node) -> set[str]:
    """The key displays of the active bindings that ``node`` declares and a person should know about."""
    return {app.get_key_display(active.binding) for active in app.screen.active_bindings.values()
            if active.node is node and worth_knowing(active.binding)}


def keys_in(cell: str) -> set[str]:
    """The keys one row of the help names: "+ / -", "K / J", "←/, →/." (a key with its alternative is one
    binding), "1 ... 8" (1 to 8)."""
    run = re.fullmatch(r"(\d) \.\.\. (\d)", cell)
    if run:
        return {str(n) for n in range(int(run[1]), int(run[2]) + 1)}
    return {token for token in cell.split() if token != "/"}


def help_keys(lines: list[str]) -> dict[str, set[str]]:
    """Section title -> the keys its rows name, read from the rendered table."""
    sections: dict[str, set[str]] = {"": set()}
    section = ""
    for line in lines:
        cell = "" if line.startswith(" ") else re.split(r"\s{2,}", line)[0]
        if not cell:
            continue  # a blank line, or an explanation wrapped onto the next line
        if cell in SECTIONS:
            section = cell
            sections[section] = set()
        else:
            sections[section] |= keys_in(cell)
    return sections


def rendered_help(app) -> list[str]:
    """The help table's lines as drawn (all of them, also those scrolled out of view at 80x24)."""
    table = app.screen.query_one("#help-keys", Static)
    return [strip.text.rstrip() for strip in table.render_lines(Region(0, 0, *table.size))]


async def test_the_help_lists_every_bound_key_worth_knowing_and_no_other():
    app = make_app()
    bound: dict[str, set[str]] = {}
    async with running(app) as pilot:
        bound[""] = bound_keys(app, app)  # nothing focused: the app's own keys
        for title, tab_key in SECTIONS.items():
            if tab_key is None:
                continue
            await pilot.press(tab_key)  # the tab's widget takes focus, so its keys work at once
            await pilot.pause()
            bound[title] = bound_keys(app, app.focused)
            if title == "Model tab":  # the editor has focus; the hyperparameter fields' Enter applies a value
                assert isinstance(app.focused, ArchitectureEditor)
                app.set_focus(app.query(FieldInput).first())
                await pilot.pause()
                bound[title] |= bound_keys(app, app.focused)
                await pilot.press("escape")  # leave the field, so the next tab key is not typed into it

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = help_keys(rendered_help(app))

    assert set(listed) == set(SECTIONS)
    for title in SECTIONS:
        missing, extra = bound[title] - listed[title], listed[title] - bound[title]
        assert not missing, f"{title or 'global'}: bound but not in the help: {sorted(missing)}"
        assert not extra, f"{title or 'global'}: in the help but not bound: {sorted(extra)}"
    # A few keys by name, so that a help and an app that both lost their keys could not pass:
    assert {"space", "+", "-", "1", "8", "[", "]", "s", "f", "^s", "^p", "q", "^q"} <= listed[""]
    assert {"a", "x", "K", "J", ">", "<", "w", "t", "o", "enter"} <= listed["Model tab"]


async def test_the_help_screen_scrolls_at_80x24_and_keeps_its_notes():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("question_mark")
        box = app.screen.query_one("#help-box")
        assert box.max_scroll_y > 0  # taller than the screen: it scrolls
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        text = " ".join(str(static.render()) for static in app.screen.query(Static) if static.id != "help-keys")
    assert "The learning rate changes on the very next batch" in text
    assert "take effect on reset" in text
    assert "^ means ctrl" in text


async def test_the_palette_key_declared_with_its_explanation_still_opens_the_palette_from_a_field():
    app = make_app()
    async with running(app) as pilot:
        await pilot.press("2")
        app.set_focus(app.query(FieldInput).first())
        await pilot.pause()
        footer = [str(key.render()) for key in app.query("FooterKey")]
        assert any("^p" in key and "palette" in key for key in footer)  # the Footer's corner, as before
        await pilot.press("ctrl+p")  # a priority binding, as Textual's own: it works inside a text field too
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)


class Keys(Widget):
    """A widget whose bindings show each rule of the help table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "up", "Up", key_display="+", tooltip="raise / lower it"),
        Binding("minus", "down", "Down", tooltip="raise / lower it"),
        *(Binding(str(n), f"go({n})", f"Go {n}", show=False, tooltip="go to a tab") for n in range(1, 5)),
        Binding("right,full_stop", "next", "Next", key_display="→/.", tooltip="next / previous"),
        Binding("left,comma", "prev", "Prev", key_display="←/,", tooltip="next / previous"),
        Binding("c", "count", "Count"),  # shown in the Footer, no tooltip: its description explains it
        Binding("z", "secret", "Secret", show=False),  # neither shown nor explained: not in the help
        Binding("ctrl+s", "save", "Save", show=False, tooltip="save"),
    ]


def test_help_rows_merge_keys_that_share_an_explanation():
    from textual.app import App

    rows = help_rows([Keys], App().get_key_display)
    assert rows == [("+ / -", "raise / lower it"), ("1 ... 4", "go to a tab"), ("→/. ←/,", "next / previous"),
                    ("c", "Count"), ("^s", "save")]


def readme_keys(app) -> set[str]:
    """The keys named in the first column of the README's key table, shown as the help shows them."""
    table = re.search(r"^\| key \| action \|\n\|---\|---\|\n((?:\|.*\n)+)", README, re.MULTILINE).group(1)
    keys: set[str] = set()
    for row in table.splitlines():
        cell = row.split("|")[1]
        for first, last in re.findall(r"`(\d)` \.\.\. `(\d)`", cell):
            keys |= {str(n) for n in range(int(first), int(last) + 1)}
        for token in re.findall(r"`([^`]+)`", cell):  # as typed ("ctrl+s", "escape"): as Textual shows it
            keys |= {app.get_key_display(binding) for binding in Binding.make_bindings([Binding(token, "")])}
    return keys


def test_the_readme_key_table_names_the_keys_the_help_lists():
    app = make_app()
    listed = {section.title: set().union(*(keys_in(keys) for keys, _ in help_rows(section.owners, app.get_key_display)))
              for section in app.help_sections()}
    in_readme = readme_keys(app)
    assert listed[""] <= in_readme, f"keys the README's table leaves out: {sorted(listed[''] - in_readme)}"
    anywhere = set().union(*listed.values()) | {"tab"}  # tab: Textual's own focus key, also in the table
    assert in_readme <= anywhere, f"keys in the README's table with no binding: {sorted(in_readme - anywhere)}"
