"""The architecture editor: the layer stack of the network, edited with single keys.

The network is a stack of Linear layers: one per hidden layer, each followed by its activation, then an
output layer whose width follows from the data and the loss. The editor shows one row per Linear layer with
its parameter count (a Linear(in -> out) layer holds an (in, out) weight matrix and an (out,) bias, so
in * out + out numbers) and the total below.

The editor holds only the description of the network (widths, activations, loss). Every edit that leaves a
valid network posts `ArchitectureEditor.Changed`; the app decides what to do with it (rebuild the model,
ask first, ...). An edit that cannot be made changes nothing and says why in one line under the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from nntui.train.config import (
    ACTIVATIONS,
    MAX_HIDDEN_LAYERS,
    MAX_LAYER_WIDTH,
    ConfigError,
    parse_number,
    resolve_loss,
    validate_field,
)
from nntui.train.insight.numbering import linear_number
from nntui.tui.widgets.fields import OrderedInput

DEFAULT_WIDTH = 16
DEFAULT_ACTIVATION = "relu"
# (header, column key) of the layer table
COLUMNS = (("#", "index"), ("layer", "kind"), ("in→out", "shape"), ("act", "act"), ("params", "params"))


def linear_parameter_count(n_in: int, n_out: int) -> int:
    """Numbers in a Linear(n_in -> n_out) layer: the (n_in, n_out) weights plus the (n_out,) bias."""
    return n_in * n_out + n_out


def _cell(text: str, right: bool = False) -> Text:
    """One table cell: plain text (never markup) after a one-space gap; numbers right-aligned."""
    return Text(f" {text}", justify="right" if right else "left")


class WidthValidator(Validator):
    """Accepts a whole number of units from 1 to MAX_LAYER_WIDTH, with the config's own messages."""

    def validate(self, value: str) -> ValidationResult:
        try:
            validate_field("model.hidden", [parse_number("width", value, int)])
        except ConfigError as error:
            return self.failure(str(error).replace("model.hidden[0]", "width"))
        return self.success()


class WidthInput(OrderedInput):
    """The one-line input that opens under the table when `w` is pressed; Escape closes it unchanged."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    @dataclass
    class Cancelled(Message):
        """The person pressed Escape: close the input and keep the width."""

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class ArchitectureEditor(Widget, can_focus=True):
    """Edit the hidden layers (widths and activations) and the output loss of the network."""

    # Footer groups: K/J show as one "move" entry, >/< as one "width" entry, so the keys fit in 80 columns.
    MOVE = Binding.Group("move", compact=True)
    RESIZE = Binding.Group("width", compact=True)
    # The tooltips explain the keys in the Footer (on hover) and in the help screen, where keys sharing one
    # explanation share a row ("K / J").
    ADD_REMOVE_HELP = "add a hidden layer after the selected one / remove it"
    MOVE_HELP = "move the selected layer up / down"
    WIDTH_HELP = "double / halve / type the selected width"
    CYCLE_HELP = "cycle the activation / the output loss"
    SELECT_HELP = "select the previous / next layer"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_layer", "add", tooltip=ADD_REMOVE_HELP),
        Binding("x,delete", "remove_layer", "remove", key_display="x", tooltip=ADD_REMOVE_HELP),
        Binding("K,shift+k", "move_layer(-1)", "Move layer up", key_display="K", group=MOVE, tooltip=MOVE_HELP),
        Binding("J,shift+j", "move_layer(1)", "Move layer down", key_display="J", group=MOVE, tooltip=MOVE_HELP),
        Binding("greater_than_sign", "scale_width(2)", "Double width", key_display=">", group=RESIZE,
                tooltip=WIDTH_HELP),
        Binding("less_than_sign", "scale_width(0.5)", "Halve width", key_display="<", group=RESIZE,
                tooltip=WIDTH_HELP),
        Binding("w", "edit_width", "type", tooltip=WIDTH_HELP),
        Binding("t", "cycle_activation", "activation", tooltip=CYCLE_HELP),
        Binding("o", "cycle_loss", "loss", tooltip=CYCLE_HELP),
        Binding("up,k", "move_cursor(-1)", "Previous layer", show=False, key_display="↑/k", tooltip=SELECT_HELP),
        Binding("down,j", "move_cursor(1)", "Next layer", show=False, key_display="↓/j", tooltip=SELECT_HELP),
    ]

    DEFAULT_CSS = """
    ArchitectureEditor {
        width: 1fr;
        height: 1fr;
        layout: vertical;
    }
    ArchitectureEditor > DataTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    ArchitectureEditor > DataTable > .datatable--cursor {
        background: $panel;
        text-style: none;
    }
    ArchitectureEditor:focus > DataTable > .datatable--cursor {
        background: $accent;
        color: $text;
        text-style: bold;
    }
    ArchitectureEditor > #total {
        height: 1;
        color: $text-muted;
    }
    ArchitectureEditor > #problem {
        height: auto;
        color: $text-error;
        text-style: bold;
        display: none;
    }
    ArchitectureEditor > #problem.-shown {
        display: block;
    }
    ArchitectureEditor > WidthInput {
        display: none;
    }
    ArchitectureEditor > WidthInput.-open {
        display: block;
    }
    ArchitectureEditor > WidthInput.-invalid {
        background: $error;
    }
    """

    @dataclass
    class Changed(Message):
        """The network description after a valid edit; the lists are the editor's copies, yours to keep."""

        hidden: list[int]
        activations: list[str]
        loss: str

    def __init__(
        self,
        *,
        hidden: list[int],
        activations: list[str],
        loss: str,
        n_inputs: int,
        n_outputs: int,
        task: str = "classification",
        n_classes: int = 0,
        id: str | None = None,
        blink: bool = True,
    ) -> None:
        super().__init__(id=id)
        self._blink = blink
        self._selected = 0  # index of the selected hidden layer (0 when there is none)
        self._editing: int | None = None  # the hidden layer whose width the open WidthInput sets
        self._store(hidden, activations, loss, n_inputs, n_outputs, task, n_classes)

    # --- what the app reads and sets ---------------------------------------------------------------------

    @property
    def hidden(self) -> list[int]:
        return list(self._hidden)

    @property
    def activations(self) -> list[str]:
        return list(self._activations)

    @property
    def loss(self) -> str:
        return self._loss

    @property
    def selected(self) -> int:
        """Index of the selected hidden layer (0 when there is none)."""
        return self._selected

    @property
    def problem(self) -> str:
        """The message shown about the last refused edit, or "" after a valid one."""
        return self._problem

    def set_model(
        self,
        hidden: list[int],
        activations: list[str],
        loss: str,
        n_inputs: int,
        n_outputs: int,
        task: str = "classification",
        n_classes: int = 0,
    ) -> None:
        """Show another network (say after a dataset change); posts nothing."""
        self._store(hidden, activations, loss, n_inputs, n_outputs, task, n_classes)
        self._selected = min(self._selected, max(len(self._hidden) - 1, 0))
        if self.is_mounted:
            self._close_width_input()
            self._show_problem("")
            self._redraw()

    def _store(self, hidden, activations, loss, n_inputs, n_outputs, task, n_classes) -> None:
        if len(hidden) != len(activations):
            raise ValueError(f"{len(hidden)} hidden widths but {len(activations)} activations")
        self._hidden = [int(width) for width in hidden]
        self._activations = list(activations)
        self._loss = loss
        self._n_inputs, self._n_outputs = n_inputs, n_outputs
        self._kind, self._n_classes = task, n_classes
        self._problem = ""

    # --- layout and drawing ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # No cell padding: each cell carries one leading space, so five columns fit in 36 cells.
        table: DataTable = DataTable(cursor_type="row", cell_padding=0)
        table.can_focus = False  # the editor takes the keys; the table only draws
        yield table
        yield Static(id="total", markup=False)
        yield Static(id="problem", markup=False)
        width_input = WidthInput(
            placeholder=f"width 1..{MAX_LAYER_WIDTH}, Enter applies, Esc cancels",
            type="integer",
            compact=True,
            validators=[WidthValidator()],
        )
        if not self._blink:
            width_input.cursor_blink = False
        yield width_input

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in COLUMNS:
            table.add_column(_cell(label, right=key == "params"), key=key)
        self._redraw()

    def output_width(self) -> int:
        """Units in the output layer: 1 for bce, one per class for softmax_ce, the targets for mse."""
        loss = resolve_loss(self._loss, self._kind)
        if self._kind == "classification":
            if loss == "bce":
                return 1
            if self._n_classes:
                return self._n_classes
        return self._n_outputs

    def parameter_counts(self) -> list[int]:
        """Parameters in each Linear layer, hidden layers first, the output layer last."""
        widths = [self._n_inputs, *self._hidden, self.output_width()]
        return [linear_parameter_count(n_in, n_out) for n_in, n_out in pairwise(widths)]

    def _redraw(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        widths = [self._n_inputs, *self._hidden, self.output_width()]
        counts = self.parameter_counts()
        names = [*self._activations, resolve_loss(self._loss, self._kind)]
        for i, count in enumerate(counts):
            kind = "Linear" if i < len(self._hidden) else "output"  # the output layer is a Linear one too
            cells = (str(linear_number(i)), kind, f"{widths[i]}→{widths[i + 1]}", names[i])
            table.add_row(*map(_cell, cells), _cell(f"{count:,}", right=True), key=str(i))
        table.move_cursor(row=self._selected, animate=False)
        self.query_one("#total", Static).update(f"total {sum(counts):,} parameters")

    def _show_problem(self, message: str) -> None:
        self._problem = message
        problem = self.query_one("#problem", Static)
        problem.update(message)
        problem.set_class(bool(message), "-shown")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Keep the selection on a hidden layer when the table moves its cursor (say on a mouse click)."""
        event.stop()
        table = event.data_table
        if event.cursor_row != table.cursor_row:
            return  # a stale message from a redraw; the cursor has moved on since
        if table.cursor_row < len(self._hidden):
            self._selected = table.cursor_row
        elif self._hidden:  # the output row: its loss is changed with o, so step back to a hidden layer
            table.move_cursor(row=self._selected, animate=False)

    @on(DataTable.RowSelected)
    @on(DataTable.CellHighlighted)
    @on(DataTable.CellSelected)
    def _table_internal(self, event: Message) -> None:
        event.stop()

    # --- edits -------------------------------------------------------------------------------------------

    def _apply(self, hidden: list[int], activations: list[str], loss: str, selected: int) -> None:
        """Take a candidate network: refuse it with the config's message, or show it and post Changed."""
        try:
            hidden = validate_field("model.hidden", hidden)
            activations = validate_field("model.activations", activations)
        except ConfigError as error:
            self._show_problem(str(error))
            return
        self._hidden, self._activations, self._loss = hidden, activations, loss
        self._selected = selected
        self._show_problem("")
        self._redraw()
        self.post_message(self.Changed(list(hidden), list(activations), loss))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a width is being typed, the layer keys wait; the keys then reach the app unchanged.
        return self._editing is None

    def action_move_cursor(self, step: int) -> None:
        if self._hidden:
            self._selected = min(max(self._selected + step, 0), len(self._hidden) - 1)
            self.query_one(DataTable).move_cursor(row=self._selected, animate=False)

    def action_add_layer(self) -> None:
        if len(self._hidden) >= MAX_HIDDEN_LAYERS:
            self._show_problem(f"cannot add: at most {MAX_HIDDEN_LAYERS} hidden layers")
            return
        if self._hidden:
            at = self._selected + 1
            width, activation = self._hidden[self._selected], self._activations[self._selected]
        else:
            at, width, activation = 0, DEFAULT_WIDTH, DEFAULT_ACTIVATION
        hidden, activations = list(self._hidden), list(self._activations)
        hidden.insert(at, width)
        activations.insert(at, activation)
        self._apply(hidden, activations, self._loss, at)

    def action_remove_layer(self) -> None:
        if not self._hidden:
            self._show_problem("no hidden layer to remove")
            return
        hidden, activations = list(self._hidden), list(self._activations)
        del hidden[self._selected], activations[self._selected]
        self._apply(hidden, activations, self._loss, min(self._selected, max(len(hidden) - 1, 0)))

    def action_move_layer(self, step: int) -> None:
        if not self._hidden:
            self._show_problem("no hidden layer to move")
            return
        i, j = self._selected, self._selected + step
        if not 0 <= j < len(self._hidden):
            end = "first" if step < 0 else "last"
            self._show_problem(f"layer {linear_number(i)} is already the {end} hidden one")
            return
        hidden, activations = list(self._hidden), list(self._activations)
        hidden[i], hidden[j] = hidden[j], hidden[i]
        activations[i], activations[j] = activations[j], activations[i]
        self._apply(hidden, activations, self._loss, j)

    def action_scale_width(self, factor: float) -> None:
        if not self._hidden:
            self._show_problem("no hidden layer to resize; a adds one")
            return
        width = self._hidden[self._selected]
        new_width = int(width * factor)
        if new_width < 1:
            self._show_problem(f"cannot halve: layer {linear_number(self._selected)} is 1 unit wide")
            return
        if new_width > MAX_LAYER_WIDTH:
            self._show_problem(f"cannot double: {MAX_LAYER_WIDTH:,} units at most")
            return
        self._set_width(self._selected, new_width)

    def _set_width(self, index: int, width: int) -> None:
        hidden = list(self._hidden)
        hidden[index] = width
        self._apply(hidden, list(self._activations), self._loss, index)

    def action_cycle_activation(self) -> None:
        if not self._hidden:
            self._show_problem("no hidden layer; a adds one")
            return
        activations = list(self._activations)
        current = activations[self._selected]
        following = (ACTIVATIONS.index(current) + 1) % len(ACTIVATIONS) if current in ACTIVATIONS else 0
        activations[self._selected] = ACTIVATIONS[following]
        self._apply(list(self._hidden), activations, self._loss, self._selected)

    def action_cycle_loss(self) -> None:
        if self._kind != "classification":
            self._show_problem("regression uses mse, the only loss for it")
            return
        new_loss = "bce" if resolve_loss(self._loss, self._kind) != "bce" else "softmax_ce"
        if new_loss == "bce" and self._n_classes != 2:
            self._show_problem(f"bce needs 2 classes; this data has {self._n_classes}")
            return
        self._apply(list(self._hidden), list(self._activations), new_loss, self._selected)

    # --- typing a width ----------------------------------------------------------------------------------

    def action_edit_width(self) -> None:
        if not self._hidden:
            self._show_problem("no hidden layer to resize; a adds one")
            return
        width_input = self.query_one(WidthInput)
        self._editing = self._selected
        width_input.value = str(self._hidden[self._selected])
        width_input.add_class("-open")
        width_input.focus()
        self.query_one("#total", Static).update(f"layer {linear_number(self._selected)} width (esc cancels):")

    def _close_width_input(self) -> None:
        if self._editing is None:
            return
        self._editing = None
        width_input = self.query_one(WidthInput)
        width_input.remove_class("-open")
        if width_input.has_focus:
            self.focus()
        self._redraw()

    @on(Input.Changed)
    def _width_typed(self, event: Input.Changed) -> None:
        event.stop()
        result = event.validation_result
        if self._editing is not None:
            self._show_problem("" if result is None or result.is_valid else result.failure_descriptions[0])

    @on(Input.Submitted)
    def _width_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if self._editing is None:
            return
        if result is not None and not result.is_valid:
            self._show_problem(result.failure_descriptions[0])
            return
        index = self._editing
        self._close_width_input()
        new_width = int(parse_number("width", event.value, int))
        if new_width != self._hidden[index]:
            self._set_width(index, new_width)

    @on(WidthInput.Cancelled)
    def _width_cancelled(self, event: WidthInput.Cancelled) -> None:
        event.stop()
        self._close_width_input()
        self._show_problem("")

    @on(Input.Blurred)
    def _width_left(self, event: Input.Blurred) -> None:
        """Leaving the input any other way (Tab, a click elsewhere) cancels the edit."""
        event.stop()
        if self._editing is not None:
            self._close_width_input()
            self._show_problem("")
