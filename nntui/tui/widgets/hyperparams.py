"""The hyperparameter form: the settings a person tunes between runs, one compact row each.

Every text field is checked as it is typed by the same rule the config file uses (`parse_field`), so the app,
the CLI and a TOML file all accept and refuse the same values with the same message. A field that fails is
marked with "!" and a red background, and the message shows under the form. A bad value never leaves the
form: only a valid value, submitted with Enter or left behind when the field loses focus, is posted up as
`HyperParamsForm.Changed(field, value)`. Picking from a list posts at once.

Up and Down move between fields, Enter opens a list, Escape leaves the form so the app's single-letter keys
work again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static

from nntui.train.config import (
    DATA_FILE_SUFFIXES,
    INITS,
    OPTIMIZERS,
    ConfigError,
    RunConfig,
    as_logged,
    parse_field,
)
from nntui.train.data import BUILTIN_DATASETS
from nntui.tui.widgets.fields import OrderedInput

FILE_FIELD = "data.file"  # the "or file" input; it sets data.dataset to a path
INVALID_MARK = "!"

# (dotted field, label) for each text input, in the order they appear under the two lists.
NUMBER_FIELDS = (
    ("optimizer.lr", "lr"),
    ("training.batch_size", "batch size"),
    ("training.epochs", "epochs"),
    ("optimizer.momentum", "momentum"),
    ("optimizer.weight_decay", "weight decay"),
    ("training.seed", "seed"),
)
# The data and regularisation controls TensorFlow Playground gives a learner, after the training fields.
DATA_FIELDS = (
    ("data.noise", "noise"),
    ("data.n_samples", "samples"),
    ("data.n_classes", "classes"),
    ("data.val_fraction", "val share"),
    ("model.dropout", "dropout"),
)
TEXT_FIELDS = NUMBER_FIELDS + DATA_FIELDS

SELECT_FIELDS = ("data.dataset", "optimizer.name", "model.init")
#: Every field's label, as the form shows it and as messages name it ("Changing the batch size needs ...").
LABELS = {"data.dataset": "dataset", FILE_FIELD: "or file", "optimizer.name": "optimizer", "model.init": "init",
          **dict(TEXT_FIELDS)}
#: How a sentence names a field whose label alone would read oddly ("Changing the samples needs ...").
SPOKEN = {"optimizer.lr": "the learning rate", "data.n_samples": "the number of samples",
          "data.n_classes": "the number of classes", "data.val_fraction": "the validation share",
          "model.init": "the initialisation", "training.seed": "the seed (new data and weights)"}
#: What each data control means, shown under the form while it has focus ("" for the plain ones).
HINTS = {"data.noise": "noise of the generated points; -1: the dataset's own",
         "data.n_samples": "points generated; 0: the dataset's own number",
         "data.n_classes": "classes of the spiral or blobs",
         "data.val_fraction": "share held out to validate, 0.05 to 0.5",
         "model.dropout": "chance a hidden unit is dropped in training; 0: none",
         "model.init": "auto: He for relu, Xavier for tanh/sigmoid",
         "training.seed": "same seed, same run: the data and the first weights come from it",
         "regenerate": "enter: a new seed, so new data (and new first weights)"}
ALL_FIELDS = ("data.dataset", FILE_FIELD, "optimizer.name", *(dotted for dotted, _ in TEXT_FIELDS), "model.init")


def spoken_name(dotted: str) -> str:
    """A field as a sentence names it: "the batch size", "the optimizer" (not "training.batch_size")."""
    label = LABELS.get(dotted, dotted.rpartition(".")[2].replace("_", " "))
    return SPOKEN.get(dotted, f"the {label}")


def _widget_id(dotted: str) -> str:
    """The widget id for a dotted field name (ids cannot hold dots): optimizer.lr -> optimizer-lr."""
    return dotted.replace(".", "-")


def _dotted(widget: Widget) -> str | None:
    """The dotted field a form widget edits, from its id; None for any other widget."""
    return _FIELD_BY_ID.get(widget.id or "")


_FIELD_BY_ID = {_widget_id(dotted): dotted for dotted in ALL_FIELDS}


def shown_values(config: RunConfig) -> dict[str, Any]:
    """What each field shows for a config: text for the inputs, the chosen value (or Select.NULL) for lists.

    An input shows its number as the run's log writes it (``as_logged``: 0.01, 1e-05, 32), which is also text
    ``parse_field`` reads back.
    """
    dataset = config.data.dataset
    builtin = dataset in BUILTIN_DATASETS
    shown: dict[str, Any] = {
        "data.dataset": dataset if builtin else Select.NULL,
        FILE_FIELD: "" if builtin else dataset,
        "optimizer.name": config.optimizer.name,
        "model.init": config.model.init,
    }
    for dotted, _ in TEXT_FIELDS:
        section, name = dotted.split(".")
        shown[dotted] = as_logged(getattr(getattr(config, section), name))
    return shown


class FieldValidator(Validator):
    """Valid when the config accepts the text for this field; the failure is the config's own message."""

    def __init__(self, dotted: str) -> None:
        super().__init__()
        self.dotted = dotted

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_field(self.dotted, value)
        except ConfigError as error:
            return self.failure(str(error))
        return self.success()


def data_file_problem(text: str) -> str | None:
    """Why a typed data file path cannot be used, or None when it names an existing .csv or .npz file."""
    path = Path(text.strip()).expanduser()
    if not path.name.lower().endswith(DATA_FILE_SUFFIXES):
        return f"data file must end in .csv or .npz, got {text.strip()!r}"
    try:
        if not path.is_file():
            return f"no such file: {text.strip()}"
    except OSError as error:  # a name too long for the file system, say
        return f"cannot use {text.strip()[:40]!r}...: {error.strerror or error}"
    return None


class DataFileValidator(Validator):
    """Valid when the text names an existing .csv or .npz file."""

    def validate(self, value: str) -> ValidationResult:
        problem = data_file_problem(value)
        return self.failure(problem) if problem else self.success()


class FieldInput(OrderedInput):
    """A text field of the form: Enter applies its value (Input's own submit, declared again with its explanation)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Apply", show=False, key_display="enter",
                tooltip="in a hyperparameter field: apply it (the learning rate at once; others on reset)"),
    ]


class FieldSelect(Select, inherit_bindings=False):
    """A Select that opens with Enter only: Up/Down move between fields and Space stays the app's key."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "show_overlay", "Open list", show=False)]


class FieldList(VerticalScroll, can_focus=False, inherit_bindings=False):
    """The scrolling column of rows; it leaves Up/Down to the form (fields, not lines)."""


class HyperParamsForm(Widget):
    """Dataset, optimizer and training settings; posts `Changed(field, value)` for each valid edit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "focus_field(1)", "Next field", show=False),
        Binding("up", "focus_field(-1)", "Previous field", show=False),
        Binding("escape", "leave", "Leave form", show=False),
    ]

    DEFAULT_CSS = """
    HyperParamsForm {
        width: 1fr;
        height: 1fr;
        layout: vertical;
    }
    HyperParamsForm > FieldList {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    HyperParamsForm .field-row {
        height: 1;
    }
    HyperParamsForm .field-row > Label {
        width: 13;
        padding: 0 1 0 0;
        color: $text-muted;
    }
    HyperParamsForm .field-row:focus-within {
        background: $boost;  /* also makes Textual restyle the row's children when focus moves */
    }
    HyperParamsForm .field-row:focus-within > Label {
        color: $text;
        text-style: bold reverse;
    }
    HyperParamsForm .field-row > Input, HyperParamsForm .field-row > Select {
        width: 1fr;
    }
    HyperParamsForm .field-row > Input.-invalid, HyperParamsForm .field-row > Input.-invalid:focus {
        background: $error;
        color: $text;
    }
    HyperParamsForm .field-row > .mark {
        width: 1;
        color: $text-error;
        text-style: bold;
    }
    HyperParamsForm > #form-error {
        height: auto;
        color: $text-error;
    }
    HyperParamsForm > #form-hint {
        height: auto;
        color: $text-muted;
    }
    HyperParamsForm .field-row > Button {
        width: 1fr;
        min-width: 0;
    }
    """

    @dataclass
    class Changed(Message):
        """A setting a person changed: the dotted config name and its parsed, validated value."""

        field: str
        value: Any

    def __init__(self, config: RunConfig, id: str | None = None, *, blink: bool = True) -> None:
        super().__init__(id=id)
        self._config = copy.deepcopy(config)  # set_value edits our copy, never the caller's
        self._blink = blink
        self._shown: dict[str, Any] = {}  # per field, the text (inputs) or value (lists) last shown or posted
        self._problems: dict[str, str] = {}  # per field, the message of its invalid text
        self._rejected: tuple[str, str] | None = None  # (file path, why) the app could not load
        self._problem = ""  # the message shown under the form

    # --- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The widgets start with the config's values, so mounting posts nothing a person did not do.
        self._shown = shown_values(self._config)
        with FieldList():
            yield self._row(
                LABELS["data.dataset"],
                FieldSelect(
                    [(name, name) for name in BUILTIN_DATASETS],
                    prompt="(a file)",
                    value=self._shown["data.dataset"],
                    compact=True,
                    id=_widget_id("data.dataset"),
                ),
            )
            yield self._row(
                LABELS[FILE_FIELD],
                FieldInput(
                    self._shown[FILE_FIELD],
                    placeholder="a .csv or .npz file",
                    compact=True,
                    valid_empty=True,
                    validators=[DataFileValidator()],
                    id=_widget_id(FILE_FIELD),
                ),
            )
            yield self._row(
                LABELS["optimizer.name"],
                FieldSelect(
                    [(name, name) for name in OPTIMIZERS],
                    value=self._shown["optimizer.name"],
                    allow_blank=False,
                    compact=True,
                    id=_widget_id("optimizer.name"),
                ),
            )
            for dotted, label in TEXT_FIELDS:
                field = FieldInput(
                    self._shown[dotted],
                    compact=True,
                    validators=[FieldValidator(dotted)],
                    id=_widget_id(dotted),
                )
                yield self._row(label, field)
            yield self._row(
                LABELS["model.init"],
                FieldSelect(
                    [(name, name) for name in INITS],
                    value=self._shown["model.init"],
                    allow_blank=False,
                    compact=True,
                    id=_widget_id("model.init"),
                ),
            )
            yield self._row("new data", Button("regenerate", compact=True, id="regenerate"))
        yield Static(id="form-error", markup=False)
        yield Static(id="form-hint", markup=False)

    def _row(self, label: str, field: Input | Select) -> Horizontal:
        if isinstance(field, Input) and not self._blink:
            field.cursor_blink = False
        return Horizontal(
            Label(label, markup=False),
            field,
            Static(" ", classes="mark", id=f"{field.id}-mark", markup=False),
            classes="field-row",
        )

    # --- values down -------------------------------------------------------------------------------------

    def set_values(self, config: RunConfig) -> None:
        """Show every field of `config`; posts no Changed."""
        self._config = copy.deepcopy(config)
        if not self.is_mounted:
            return  # compose will show it
        for dotted, shown in shown_values(config).items():
            self._show(dotted, shown)
        if self._rejected and config.data.dataset == self._rejected[0]:  # it loaded after all
            self._rejected = None
            self._problems.pop(FILE_FIELD, None)
            self._mark(FILE_FIELD, self.query_one(f"#{_widget_id(FILE_FIELD)}", Input))
            self._show_problem(FILE_FIELD)

    def set_value(self, dotted: str, value: Any) -> None:
        """Show one field's value (a built-in name or a file path for data.dataset); posts no Changed."""
        if dotted not in ALL_FIELDS or dotted == FILE_FIELD:
            raise KeyError(f"the form has no field {dotted!r}")
        section, name = dotted.split(".")
        setattr(getattr(self._config, section), name, value)  # so a later compose shows it too
        if not self.is_mounted:
            return
        shown = shown_values(self._config)
        self._show(dotted, shown[dotted])
        if dotted == "data.dataset":
            self._show(FILE_FIELD, shown[FILE_FIELD])

    def _show(self, dotted: str, shown: Any) -> None:
        if dotted in SELECT_FIELDS:
            self._show_select(dotted, shown)
        else:
            self._show_text(dotted, shown)

    def _show_select(self, dotted: str, value: Any) -> None:
        self._shown[dotted] = value
        select = self.query_one(f"#{_widget_id(dotted)}", Select)
        with self.prevent(Select.Changed):
            select.value = value

    def _show_text(self, dotted: str, text: str) -> None:
        self._shown[dotted] = text
        self.query_one(f"#{_widget_id(dotted)}", Input).value = text  # validated again: its mark follows

    # --- values up ---------------------------------------------------------------------------------------

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        dotted = _dotted(event.select)
        if dotted is None or event.value == self._shown.get(dotted):
            return  # not ours, or the value we just showed
        self._shown[dotted] = event.value
        if event.value is Select.NULL:
            if dotted == "data.dataset":  # "(a file)": the path is typed in the field beside it
                self.query_one(f"#{_widget_id(FILE_FIELD)}", Input).focus()
            return
        if dotted == "data.dataset":
            self._rejected = None
            self._show_text(FILE_FIELD, "")  # a built-in replaces the file
        self.post_message(self.Changed(dotted, event.value))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        """Validate as typed: mark the field and say what is wrong under the form."""
        event.stop()
        dotted = _dotted(event.input)
        if dotted is None:
            return
        result = event.validation_result
        if dotted == FILE_FIELD and self._rejected and event.value == self._rejected[0]:
            self._problems[dotted] = self._rejected[1]  # the file exists, but it could not be loaded
        elif result is None or result.is_valid:
            self._problems.pop(dotted, None)
        else:
            self._problems[dotted] = result.failure_descriptions[0]
        self._mark(dotted, event.input)
        self._show_problem(dotted)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._commit(event.input, event.validation_result, submitted=True)

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        event.stop()
        self._commit(event.input, event.validation_result)

    def _commit(self, field: Input, result: ValidationResult | None, submitted: bool = False) -> None:
        """Post the field's value if it is valid and differs from what was last shown."""
        dotted = _dotted(field)
        if dotted is None or (result is not None and not result.is_valid):
            return
        if dotted == FILE_FIELD and not field.value.strip() and self._shown.get("data.dataset") is Select.NULL:
            running = shown_values(self._config)  # "(a file)" picked, then no file typed: back to what runs
            self._show_select("data.dataset", running["data.dataset"])
            self._show_text(FILE_FIELD, running[FILE_FIELD])
            return
        retry = submitted and dotted == FILE_FIELD and self._rejected is not None \
            and field.value == self._rejected[0]
        if field.value == self._shown.get(dotted) and not retry:
            return  # unchanged (but enter tries a rejected file again: it may have been fixed meanwhile)
        self._shown[dotted] = field.value
        if dotted == FILE_FIELD:
            if not field.value.strip():
                return  # an emptied file field: the dataset list decides
            path = str(Path(field.value.strip()).expanduser())
            if self._rejected and path != self._rejected[0]:
                self._rejected = None
            self._show_select("data.dataset", Select.NULL)
            self.post_message(self.Changed("data.dataset", path))
        else:
            self.post_message(self.Changed(dotted, parse_field(dotted, field.value)))

    @on(Button.Pressed, "#regenerate")
    def _regenerate(self, event: Button.Pressed) -> None:
        """New data: the next seed (the seed also draws the first weights, so those are new too)."""
        event.stop()
        self.post_message(self.Changed("training.seed", self._config.training.seed + 1))

    def on_descendant_focus(self, event) -> None:
        """What the focused control means, under the form (the data controls' units are not obvious)."""
        widget = event.widget
        key = "regenerate" if widget.id == "regenerate" else _dotted(widget)
        self.query_one("#form-hint", Static).update(HINTS.get(key or "", ""))

    def reject_data_file(self, path: str, message: str) -> None:
        """Keep a data file the app could not load in its field, marked with why, to be corrected there."""
        self._rejected = (path, message)
        self._show_text(FILE_FIELD, path)  # validated again; `_typed` keeps the message while the text stays
        field = self.query_one(f"#{_widget_id(FILE_FIELD)}", Input)
        field.cursor_position = len(path)  # typing goes on at the end
        self._problems[FILE_FIELD] = message
        self._mark(FILE_FIELD, field)
        self._show_problem(FILE_FIELD)

    def _mark(self, dotted: str, field: Input) -> None:
        mark = self.query_one(f"#{_widget_id(dotted)}-mark", Static)
        mark.update(INVALID_MARK if dotted in self._problems else " ", layout=False)  # one fixed cell
        field.set_class(dotted in self._problems, "-invalid")

    def _show_problem(self, latest: str) -> None:
        """The latest field's problem if it has one, else any other field's, else nothing."""
        message = self._problems.get(latest) or next(iter(self._problems.values()), "")
        if message == self._problem:
            return  # unchanged: no repaint, no re-layout
        self._problem = message
        self.query_one("#form-error", Static).update(message)

    @property
    def problem(self) -> str:
        """The message under the form ("" when every field is valid)."""
        return self._problem

    # --- keys --------------------------------------------------------------------------------------------

    def _fields(self) -> list[Widget]:
        return [row.children[1] for row in self.query(".field-row")]

    def action_focus_field(self, step: int) -> None:
        fields = self._fields()
        focused = self.screen.focused
        if focused in fields:
            index = min(max(fields.index(focused) + step, 0), len(fields) - 1)
        else:
            index = 0
        fields[index].focus()

    def action_leave(self) -> None:
        """Drop focus, so single-letter keys reach the app again (a valid edit is committed on the way)."""
        self.screen.set_focus(None)
