"""The Math view: one sample through the network and back, step by step, with the actual numbers.

The numbers come from ``nntui.train.insight.trace``, which runs the session's own engine on a copy of its
model; this widget only lays them out: each step's title and formula, then its vectors (wide ones truncated to
the width at hand) and matrices (shape, norm and their first rows). Keys move through the steps and samples.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from nntui.nn.layers import Linear
from nntui.train.insight.numbering import layer_numbers
from nntui.train.insight.trace import TraceStep, format_number, format_vector, sample_label, trace_sample
from nntui.train.session import Snapshot, TrainingSession
from nntui.tui.views.base import InsightView

MATRIX_ROWS = 2  # rows of a matrix shown under its shape and norm
MAX_ITEMS = 16  # numbers shown of a vector when the width allows
SCALAR_DIGITS = 6  # the loss is one number: show more of it


class MathView(InsightView, can_focus=True):
    """Step through one forward and backward pass of a chosen sample, layer by layer."""

    TITLE: ClassVar[str] = "Math"
    EXPLANATION: ClassVar[str] = "One sample through the network and back: every number both passes compute."

    # The keys' explanations in the Footer (on hover) and the help screen, one row per explanation.
    STEP_HELP = "next / previous step of the forward and backward pass"
    SAMPLE_HELP = "next / previous sample"
    ENDS_HELP = "first / last step"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,full_stop", "move_step(1)", "Next step", key_display="→/.", tooltip=STEP_HELP),
        Binding("left,comma", "move_step(-1)", "Prev step", key_display="←/,", tooltip=STEP_HELP),
        Binding("down,greater_than_sign", "move_sample(1)", "Next sample", key_display="↓/>", tooltip=SAMPLE_HELP),
        Binding("up,less_than_sign", "move_sample(-1)", "Prev sample", key_display="↑/<", tooltip=SAMPLE_HELP),
        Binding("home", "first_step", "First step", show=False, tooltip=ENDS_HELP),
        Binding("end", "last_step", "Last step", show=False, tooltip=ENDS_HELP),
        Binding("v", "toggle_split", "Train/val", show=False, tooltip="samples from the training / validation set"),
        Binding("pageup", "scroll_page_up", "Scroll up", show=False),
        Binding("pagedown", "scroll_page_down", "Scroll down", show=False),
    ]

    DEFAULT_CSS = """
    MathView {
        height: 1fr;
        padding: 0 1;
        overflow-y: auto;
    }
    MathView:focus {
        background-tint: $foreground 3%;
    }
    MathView #math-explanation {
        color: $text-muted;
    }
    MathView #math-step {
        margin-top: 1;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.session: TrainingSession | None = None
        self.steps: list[TraceStep] = []
        self.step_index = 0  # which step is shown; kept when the model trains on
        self.sample_index = 0
        self.split = "train"
        self.error: str | None = None
        self._traced: tuple | None = None  # (model, data, step count, split, sample) the steps describe
        self._width = 0  # the width the current text was fitted to

    def compose(self) -> ComposeResult:
        yield Static(self.EXPLANATION, id="math-explanation", markup=False)
        yield Static("Waiting for the model…", id="math-sample", markup=False)
        yield Static("", id="math-step", markup=False)

    def on_mount(self) -> None:
        self._show()  # steps traced before the view was mounted

    # -- the app's side ----------------------------------------------------------------------------------------

    def not_applicable(self, session: TrainingSession) -> str | None:
        if len(session.x_train) == 0:
            return "There is no training sample to trace."
        return None

    def update_view(self, session: TrainingSession, snapshot: Snapshot | None = None) -> None:
        """Re-trace when the model changed (a step, a reset), keeping the step shown; otherwise draw nothing."""
        self.session = session
        if not self._is_traced(session):
            self._retrace()

    # -- keys --------------------------------------------------------------------------------------------------

    def action_move_step(self, delta: int) -> None:
        if self.steps:
            self.step_index = min(max(self.step_index + delta, 0), len(self.steps) - 1)
            self._show()

    def action_first_step(self) -> None:
        self.step_index = 0
        self._show()

    def action_last_step(self) -> None:
        self.step_index = max(len(self.steps) - 1, 0)
        self._show()

    def action_move_sample(self, delta: int) -> None:
        if self.session is None:
            return
        n = self._n_samples()
        if n:
            self.sample_index = (self.sample_index + delta) % n
            self._retrace()

    def action_toggle_split(self) -> None:
        if self.session is None:
            return
        self.split = "val" if self.split == "train" else "train"
        self._retrace()

    def on_resize(self, event: events.Resize) -> None:
        if self._fit_width() != self._width:
            self._show()

    # -- tracing and drawing -----------------------------------------------------------------------------------

    def _trace_key(self, session: TrainingSession) -> tuple:
        # The model and data objects themselves: a reset builds new ones even when the step count is the same.
        return (session.model, session.x_train, session.step_count, self.split, self.sample_index)

    def _is_traced(self, session: TrainingSession) -> bool:
        """True when the steps shown describe the session's model as it is now."""
        if self._traced is None:
            return False
        model, x_train, step_count, split, sample = self._traced
        return (model is session.model and x_train is session.x_train and step_count == session.step_count
                and split == self.split and sample == self.sample_index)

    def _n_samples(self) -> int:
        session = self.session
        return 0 if session is None else len(session.x_train if self.split == "train" else session.x_val)

    def _retrace(self) -> None:
        session = self.session
        if session is None:
            return
        n = self._n_samples()
        self.sample_index = min(self.sample_index, max(n - 1, 0))
        try:
            self.steps = trace_sample(session, self.sample_index, self.split)
            self.error = None
        except Exception as error:  # noqa: BLE001 - a view never takes the app down: say what went wrong
            self.steps, self.error = [], f"Cannot trace sample {self.sample_index}: {error}"
        self._traced = self._trace_key(session)
        self.step_index = min(self.step_index, max(len(self.steps) - 1, 0))
        self._show()

    def _fit_width(self) -> int:
        # The outer width less the padding and room for a vertical scrollbar, so lines never wrap.
        width = self.region.width - 4
        return width if width >= 20 else 76

    def _show(self) -> None:
        if not self.is_mounted:
            return
        self._width = width = self._fit_width()
        try:
            header, body = self._describe(width)
        except Exception as error:  # noqa: BLE001 - nor may a formatting bug
            header, body = "", Text(f"Cannot show this step: {error}")
        self.query_one("#math-sample", Static).update(header)
        self.query_one("#math-step", Static).update(body)

    def _describe(self, width: int) -> tuple[str | Text, Text]:
        session = self.session
        if session is None:
            return "Waiting for the model…", Text()
        n = self._n_samples()
        if self.error is not None or not self.steps:
            return f"sample #{self.sample_index} of {n} ({self.split})", Text(self.error or "Nothing to trace.")
        header = Text(f"sample #{self.sample_index} of {n} ({self.split}) · "
                      f"{sample_label(session, self.sample_index, self.split)} · "
                      f"weights after step {session.step_count}\n")
        header.append_text(self.position_line())
        step = self.steps[self.step_index]
        return header, render_step(step, width, title=self.numbered_title(step))

    def position_line(self) -> Text:
        """"step 3 of 12  forward 0 1 2 3 4 │ loss │ backward dL 4 3 2 1 0", the current step highlighted."""
        line = Text(f"step {self.step_index + 1} of {len(self.steps)} ", style="bold")
        phase = None
        for i, step in enumerate(self.steps):
            if step.phase != phase:
                line.append(" │ " if phase is not None else " ", style="dim")
                if step.phase != "loss":
                    line.append(step.phase + " ", style="dim")
                phase = step.phase
            else:
                line.append(" ")
            token = step.phase if step.phase == "loss" else ("dL" if step.layer is None else self._token(step))
            line.append(token, style="reverse bold" if i == self.step_index else "")
        return line

    def _number(self, step: TraceStep) -> str:
        """The layer of a step as every tab numbers it (the trace counts positions in ``model.layers``)."""
        numbers = layer_numbers(self.session.model.layers) if self.session is not None else []
        return str(numbers[step.layer]) if step.layer is not None and step.layer < len(numbers) else "?"

    def _token(self, step: TraceStep) -> str:
        """A step in the position line: a Linear layer by its number, the layer after it by its kind ("relu")."""
        layer = self.session.model.layers[step.layer] if self.session is not None else None
        if layer is None or isinstance(layer, Linear):
            return self._number(step)
        return type(layer).__name__.lower()[:4]

    def numbered_title(self, step: TraceStep) -> str:
        """The step's title with its layer numbered as on the other tabs ("Layer 1 · ReLU: activation")."""
        prefix = f"Layer {step.layer} · "
        if step.layer is None or not step.title.startswith(prefix):
            return step.title
        return f"Layer {self._number(step)} · " + step.title[len(prefix):]

    @property
    def current(self) -> TraceStep | None:
        return self.steps[self.step_index] if self.steps else None


# -- laying out one step ---------------------------------------------------------------------------------------


def render_step(step: TraceStep, width: int, title: str | None = None) -> Text:
    """The step as text lines no wider than ``width``: title, formula, then one block per array.

    Probabilities (``p`` of the loss step) that do not fit in full show their largest entries, by class.
    """
    text = Text()
    text.append(step.title if title is None else title, style="bold")
    for line in step.formula.splitlines():
        text.append("\n")
        text.append(line, style="italic")
    shapes = {name: _shape(array) for name, array in step.arrays.items()}
    name_width = max((len(name) for name in step.arrays), default=0)
    shape_width = max((len(shape) for shape in shapes.values()), default=0)
    value_width = max(width - name_width - shape_width - 4, 16)
    for name, array in step.arrays.items():
        text.append("\n")
        text.append(f"{name:<{name_width}}  ", style="bold")
        text.append(f"{shapes[name]:<{shape_width}}  ", style="dim")
        if name == "p" and step.phase == "loss":
            text.append(top_probabilities(array, value_width))
        else:
            text.append(_values(array, value_width, indent=name_width + shape_width + 4))
    if step.note:
        text.append("\n")
        text.append(step.note, style="dim")
    return text


def _shape(array: np.ndarray) -> str:
    """A vector's width ("64", also for a batch of one, (1, 64)), a matrix's rows×cols, "" for a number."""
    if array.ndim == 0:
        return ""
    if array.ndim == 1 or (array.ndim == 2 and array.shape[0] == 1):
        return str(array.shape[-1])
    return "×".join(str(n) for n in array.shape)


def _values(array: np.ndarray, width: int, indent: int) -> str:
    if array.ndim == 0:
        return format_number(array, SCALAR_DIGITS)
    if array.ndim == 2 and array.shape[0] > 1:
        return _matrix(array, width, indent)
    return fit_vector(array, width)


def _matrix(m: np.ndarray, width: int, indent: int) -> str:
    """"norm 11.8 · rows 0-1 of 64" and the first rows, each row under the values column."""
    rows = m.shape[0]
    shown = min(rows, MATRIX_ROWS)
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(m.astype(np.float64)))
    lines = [f"norm {format_number(norm)}" + (f" · rows 0-{shown - 1} of {rows}" if rows > shown else "")]
    for r in range(shown):
        label = f"[{r}] "
        lines.append(" " * indent + label + fit_vector(m[r], width - len(label)))
    return "\n".join(lines)


def top_probabilities(p: np.ndarray, width: int) -> str:
    """Probabilities in class order when they fit; else the largest first, each with its class, the rest counted.

    "[0.001, 0.998, 0.001]" or "class 3 0.998 · 8 0.0012 · … 8 more ≤ 0.0004" (class, then p). A probability
    vector is read for its largest entries (the prediction and its rivals), so these are never the ones cut.
    """
    flat = np.asarray(p, dtype=np.float64).ravel()
    whole = format_vector(flat, max_items=flat.size)
    if len(whole) <= width or flat.size <= 2:
        return whole
    order = np.argsort(-np.nan_to_num(flat, nan=-1.0), kind="stable")
    best = ""
    for shown in range(1, flat.size):
        entries = " · ".join(f"{c} {format_number(flat[c])}" for c in order[:shown])
        line = f"class {entries} · … {flat.size - shown} more ≤ {format_number(flat[order[shown]])}"
        if len(line) > width and best:
            break
        best = line
    return best


def fit_vector(v: np.ndarray, width: int) -> str:
    """``format_vector`` with as many numbers as fit in ``width`` characters (at least two)."""
    for max_items in range(MAX_ITEMS, 2, -1):
        text = format_vector(v, max_items=max_items)
        if len(text) <= width:
            return text
    return format_vector(v, max_items=2)
