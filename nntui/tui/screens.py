"""Modal screens: the help screen (built from the bindings), a yes/no question, the gradient check, saving the run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Input, Static

from nntui.tui.widgets.fields import OrderedInput


@dataclass(frozen=True)
class HelpSection:
    """One part of the help screen: a title ("" for the keys that work everywhere), a line saying where its keys
    work, and the classes whose BINDINGS it lists (e.g. the app's class, or a widget's)."""

    title: str
    note: str
    owners: tuple[type[DOMNode], ...]


def help_rows(owners: Iterable[type[DOMNode]], key_display: Callable[[Binding], str]) -> list[tuple[str, str]]:
    """(keys, explanation) rows for the bindings each class of ``owners`` declares (its BINDINGS, as written: one
    Binding for "x,delete") that a person should know about: those with a tooltip, and those the Footer shows
    (explained by their description).

    The tooltip is the long explanation; bindings that share one share a row ("+ / -"). ``key_display`` is
    ``App.get_key_display``, so keys read as the Footer shows them; a binding's own ``key_display`` wins.
    """
    rows: dict[str, list[str]] = {}  # explanation -> the keys that do it, in declaration order
    for owner in owners:
        for binding in owner.BINDINGS:
            binding = binding if isinstance(binding, Binding) else Binding(*binding)
            if explanation := explained(binding):
                keys = rows.setdefault(explanation, [])
                shown = shown_key(binding, key_display)
                if shown not in keys:
                    keys.append(shown)
    return [(_joined(keys), explanation) for explanation, keys in rows.items()]


def explained(binding: Binding) -> str:
    """What the help says a key does: its tooltip; else, for a key the Footer shows, its description; else "" (a
    key not worth listing)."""
    return binding.tooltip or (binding.description if binding.show else "")


def shown_key(binding: Binding, key_display: Callable[[Binding], str]) -> str:
    """``binding``'s key as the Footer shows it: its own ``key_display`` ("+"), else each key it binds as Textual
    shows it (``App.get_key_display``: "^s", "esc"), joined by "/"."""
    return binding.key_display or "/".join(key_display(key) for key in Binding.make_bindings([binding]))


def _joined(keys: list[str]) -> str:
    """The keys of one row: "1 ... 8" for a run of digits, "+ / -", or "←/, →/." when a key shows alternatives."""
    if len(keys) > 2 and all(key.isdigit() for key in keys) and \
            [int(key) for key in keys] == list(range(int(keys[0]), int(keys[0]) + len(keys))):
        return f"{keys[0]} ... {keys[-1]}"
    return (" " if any("/" in key for key in keys) else " / ").join(keys)


class BoxedScreen(ModalScreen[ScreenResultType]):
    """A modal screen showing one box (class ``modal-box``) in the middle of the dimmed app.

    The box's size, and any other border or padding, are each screen's own (by its id); these rules travel with
    the screens, so they look the same in any app that shows them.
    """

    DEFAULT_CSS = """
    BoxedScreen { align: center middle; }
    BoxedScreen > .modal-box {
        max-width: 100%; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    """


class HelpScreen(BoxedScreen[None]):
    """Every key, in one table built from the bindings of ``sections``; escape, ? or q closes it; up/down/page keys
    scroll. Sections without a key worth listing are left out."""

    AUTO_FOCUS = "#help-box"  # so the keyboard scrolls it at 80x24
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, sections: Iterable[HelpSection]) -> None:
        super().__init__()
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column()  # wraps with its own indent
        for section in self.sections:
            rows = help_rows(section.owners, self.app.get_key_display)
            if not rows:
                continue
            if section.title:
                table.add_row("", "")
                table.add_row(Text(section.title), Text(section.note))
            for keys, explanation in rows:
                table.add_row(Text(keys), Text(explanation))
        with VerticalScroll(id="help-box", classes="modal-box"):
            yield Static("nntui: build, train and watch a neural network written from scratch in NumPy\n",
                         markup=False)
            yield Static(table, id="help-keys")
            yield Static("\nThe learning rate changes on the very next batch. Changes to the model, data or "
                         "optimizer take effect on reset.\n^ means ctrl (^s: ctrl+s). escape closes this screen; "
                         "up/down scroll it.", markup=False)


class ConfirmScreen(BoxedScreen[bool]):
    """A yes/no question: y or enter says yes; n, escape or q says no (q closes a dialog, as it closes help)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("y,enter", "answer(True)", "Yes"),
                                             Binding("n,escape,q", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="modal-box"):
            yield Static(self.question, markup=False)
            yield Static("y  yes        n  no", classes="hint", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class GradientCheckScreen(BoxedScreen[None]):
    """The result of a gradient check: the worst relative error per parameter, and the verdict."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,g,q,enter", "dismiss", "Close")]

    def __init__(self, result, shapes: dict[str, tuple]) -> None:
        super().__init__()
        self.result, self.shapes = result, shapes

    def compose(self) -> ComposeResult:
        from nntui.train.checks import TOLERANCE

        table = Table(box=None, padding=(0, 2))
        table.add_column("parameter")
        table.add_column("shape")
        table.add_column("worst relative error", justify="right")
        table.add_column("")
        for name, error in self.result.errors.items():
            table.add_row(name, str(self.shapes.get(name, "")), f"{error:.2e}",
                          "ok" if error < TOLERANCE else "FAIL")
        verdict = "passed" if self.result.passed else "FAILED"
        if not self.result.meaningful:
            verdict = f"not checked: {self.result.note}"
        entries = self.result.checked_entries
        sampled = f", up to {entries} entries of each parameter" if entries else ""
        with Vertical(id="gradcheck-box", classes="modal-box"):
            yield Static("Gradient check: the backward pass against central finite differences "
                         f"(float64 copy of the current weights, {self.result.n_samples} training samples"
                         f"{sampled})\n", markup=False)
            yield Static(table)
            yield Static(f"\n{verdict}: worst {self.result.max_rel_error:.2e}, tolerance {TOLERANCE:g}.\n"
                         "A fuller check from the shell (the initial weights, more entries): nntui gradcheck\n"
                         "escape closes", markup=False)


class SaveScreen(BoxedScreen[str | None]):
    """Ask for a file to save the run to; enter saves, escape cancels.

    ``check(text)`` says what is wrong with a name before anything else (None when nothing); ``existing(text)``
    names the file a save would replace (or None); ``save(text)`` does
    the saving and returns None, or a message saying why it could not. A message is shown and the screen stays,
    so the name can be corrected. Replacing an existing file takes a second enter. Dismisses with the name.
    """

    AUTO_FOCUS = "#save-path"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, suggestion: str, *, check: Callable[[str], str | None], save: Callable[[str], str | None],
                 existing: Callable[[str], str | None]) -> None:
        super().__init__()
        self.suggestion, self.check, self.save, self.existing = suggestion, check, save, existing
        self._replace: str | None = None  # an existing file the user was warned about once

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box", classes="modal-box"):
            yield Static("Save the run (weights, optimizer state, history and settings) to a checkpoint file:",
                         markup=False)
            yield OrderedInput(self.suggestion, id="save-path", select_on_focus=False)
            yield Static("", id="save-problem", markup=False)
            yield Static("enter saves · escape cancels · reopen it with: nntui --load FILE", classes="hint",
                         markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        problem = self.check(text)
        if problem:
            self._problem(problem)
            return
        existing = self.existing(text)  # the file a save would replace, if any
        if existing and self._replace != text:
            self._replace = text
            self._problem(f"{existing} exists: enter again to replace it, or type another name")
            return
        problem = self.save(text)
        if problem:
            self._problem(problem)
        else:
            self.dismiss(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._replace is not None and event.value.strip() != self._replace:
            self._replace = None
            self._problem("")

    def _problem(self, message: str) -> None:
        self.query_one("#save-problem", Static).update(message)
