"""Modal screens: the help screen, a yes/no question, the gradient check and saving the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from nntui.tui.widgets.fields import OrderedInput

#: (key, what it does) for the help screen and the README; the app's BINDINGS carry the same descriptions.
KEYS = [
    ("space", "start, pause or resume training"),
    ("n", "train exactly one batch (then paused)"),
    ("r", "reset: new weights from the seed (asks when a run has progress)"),
    ("+ / -", "raise / lower the learning rate (x2 / /2), from the next batch on"),
    ("1 ... 8", "tabs: Train, Model, Grads, Health, Weights, Boundary, Digits, Math"),
    ("[ / ]", "hide or show the model (left) and gradient (right) side panes on the Train tab"),
    ("tab", "move between panes and fields; escape leaves a field"),
    ("s / f", "pace: slower / faster, from 1 step a second to full speed (shown on the status line)"),
    ("F", "full speed on/off (built-in data starts at a pace you can watch, your own data at full speed)"),
    ("g", "gradient check: the backward pass against finite differences"),
    ("l", "learning-rate finder: the range test on a copy of the model; enter adopts its suggestion"),
    ("b", "runs: earlier runs as ghost curves (space shows/hides), kept epochs to go back to (enter), the log"),
    ("ctrl+s", "save the run to a file; nntui --load FILE reopens it"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
    ("q", "quit (also while training)"),
    ("", ""),
    ("Model tab", "architecture editor (when focused):"),
    ("a / x", "add a hidden layer after the selected one / remove it"),
    ("K / J", "move the selected layer up / down"),
    ("> / < / w", "double / halve / type the selected width"),
    ("t / o", "cycle the activation / the output loss"),
    ("enter", "in a hyperparameter field: apply it (the learning rate at once; others on reset)"),
    ("", ""),
    ("Weights tab", "left / right (or , / .): previous / next layer"),
    ("Digits tab", "c confusion matrix, m mistakes, f first-layer weights, left / right: page"),
    ("Math tab", "left / right: previous / next step; up / down: another sample; v: train / validation"),
]


class HelpScreen(ModalScreen[None]):
    """Every key, in one table; escape, ? or q closes it; up/down/page keys scroll."""

    AUTO_FOCUS = "#help-box"  # so the keyboard scrolls it at 80x24
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column()  # wraps with its own indent
        for key, text in KEYS:
            table.add_row(key, text)
        with VerticalScroll(id="help-box"):
            yield Static("nntui: build, train and watch a neural network written from scratch in NumPy\n",
                         markup=False)
            yield Static(table)
            yield Static("\nThe learning rate changes on the very next batch. Changes to the model, data or "
                         "optimizer take effect on reset.\nescape closes this screen; up/down scroll it.",
                         markup=False)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or enter says yes; n, escape or q says no (q closes a dialog, as it closes help)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("y,enter", "answer(True)", "Yes"),
                                             Binding("n,escape,q", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, markup=False)
            yield Static("y  yes        n  no", classes="hint", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class GradientCheckScreen(ModalScreen[None]):
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
        with Vertical(id="gradcheck-box"):
            yield Static("Gradient check: the backward pass against central finite differences "
                         f"(float64 copy of the current weights, {self.result.n_samples} training samples"
                         f"{sampled})\n", markup=False)
            yield Static(table)
            yield Static(f"\n{verdict}: worst {self.result.max_rel_error:.2e}, tolerance {TOLERANCE:g}.\n"
                         "A fuller check from the shell (the initial weights, more entries): nntui gradcheck\n"
                         "escape closes", markup=False)


class SaveScreen(ModalScreen[str | None]):
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
        with Vertical(id="save-box"):
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
