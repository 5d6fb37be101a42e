"""Runs and the timeline: earlier runs to compare with, kept epochs to go back to, and every intervention.

The trainer's timeline (``nntui.train.timeline``) keeps the curves of every future that was left (by a reset, an
edit, a rewind or a branch), the states of the epochs it can go back to, and the log. This screen shows the three;
the app draws the runs that are shown as faint *ghost* curves behind the current one (``ghost_series``), and does
the rewind the screen asks for (the screen returns the chosen epoch).
"""

from __future__ import annotations

import math
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from nntui.train.metrics import LOSS_AS_MINIMISED, EpochRecord, LossUnits
from nntui.train.timeline import AbandonedRun, Intervention, Timeline
from nntui.tui.charts import Series
from nntui.tui.screens import BoxedScreen

#: Ghost curves drawn at most (the newest runs that are shown); more only clutter the chart.
MAX_GHOSTS = 3
GHOST_COLOR = "gray"
#: What ends a run, so that its curves become a ghost.
ENDINGS = ("reset", "edit", "rewind", "branch")


def run_name(index: int) -> str:
    return f"run {index + 1}"


def ending(timeline: Timeline, run: AbandonedRun) -> Intervention | None:
    """The intervention that left ``run`` (logged at the step it was left)."""
    for entry in reversed(timeline.log):
        if entry.kind in ENDINGS and entry.step == run.left_at_step:
            return entry
    return None


def describe_run(timeline: Timeline, index: int) -> str:
    """'run 2  900 steps  val 0.312 / 87.5%  then edit: optimizer.name' (what differed next)."""
    run = timeline.abandoned[index]
    last = run.history.epochs[-1] if run.history.epochs else None
    numbers = "no epoch finished" if last is None else _validation(last)
    entry = ending(timeline, run)
    then = "" if entry is None else f"  then {entry.kind}" + (f": {entry.detail}" if entry.detail else "")
    return f"{run_name(index)}  {run.left_at_step} steps  {numbers}{then}"


def _validation(last: EpochRecord) -> str:
    """A run's last validation: its loss and accuracy; for regression R² (its loss, of standardised targets,
    would need the units of the data it ran on, and R² compares runs on any data)."""
    if not math.isnan(last.val_r2):
        return f"val R² {last.val_r2:.3f}"
    return f"val {last.val_loss:.3g}" + ("" if math.isnan(last.val_accuracy) else f" / {last.val_accuracy:.1%}")


def ghost_series(timeline: Timeline, hidden: set[int], metric: str,
                 loss_units: LossUnits = LOSS_AS_MINIMISED) -> list[Series]:
    """Faint curves of the newest shown earlier runs (``metric``: "loss" or "accuracy"), oldest first.

    Losses are shown in ``loss_units``, the current run's: earlier runs trained on the same data, unless it was
    changed since (then their curves compare with nothing in any units)."""
    shown = [i for i in range(len(timeline.abandoned)) if i not in hidden][-MAX_GHOSTS:]
    series = []
    for index in shown:
        history = timeline.abandoned[index].history
        if metric == "loss":
            steps, values = history.step_loss.arrays()
            values = loss_units.shown(values)
        else:
            steps, values = history.step_accuracy.arrays()
        series.append(Series(run_name(index), steps, values, color=GHOST_COLOR))
    return series


def rewind_marks(timeline: Timeline) -> list[int]:
    """Steps where the current run went back or branched (the log's rewinds and branches since its last reset)."""
    marks = []
    for entry in timeline.log:
        if entry.kind in ("reset", "edit"):
            marks = []  # a new run began there
        elif entry.kind in ("rewind", "branch"):
            marks.append(entry.step)
    return marks


class RunsScreen(BoxedScreen[int | None]):
    """Earlier runs (space shows or hides a ghost), kept epochs (enter goes back there), the log."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,b", "close", "Close"),
        Binding("space", "toggle_run", "Show/hide run"),
    ]

    DEFAULT_CSS = """
    RunsScreen > #runs-box { width: 90%; max-width: 100; height: 90%; }
    RunsScreen OptionList { height: auto; max-height: 8; }
    RunsScreen #epochs { height: 1fr; max-height: 10; }
    RunsScreen #log { height: auto; max-height: 6; }
    RunsScreen .runs-title { text-style: bold; height: 1; margin-top: 1; }
    """

    def __init__(self, timeline: Timeline, hidden: set[int]) -> None:
        super().__init__()
        self.timeline = timeline
        self.hidden = hidden  # the app's set: which earlier runs are not drawn

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-box", classes="modal-box"):
            yield Static("Earlier runs: space shows or hides one as a ghost curve", classes="runs-title")
            yield OptionList(*self._run_options(), id="runs")
            yield Static("Kept epochs: enter goes back there (then change the rate to branch)",
                         classes="runs-title")
            yield OptionList(*[Option(f"epoch {epoch}", id=str(epoch)) for epoch in reversed(self.timeline.epochs)],
                             id="epochs")
            yield Static("Interventions (newest first)", classes="runs-title")
            yield Static(self._log_text(), id="log", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        target = "#runs" if self.timeline.abandoned else "#epochs"
        self.query_one(target, OptionList).focus()

    def _run_options(self) -> list[Option]:
        if not self.timeline.abandoned:
            return [Option("none yet: a reset, an edit or going back keeps the run left here", disabled=True)]
        return [Option(("  " if i in self.hidden else "✓ ") + describe_run(self.timeline, i), id=str(i))
                for i in range(len(self.timeline.abandoned))]

    def _log_text(self) -> str:
        if not self.timeline.log:
            return "none yet"
        lines = [f"step {e.step:>7}  epoch {e.epoch:>5}  {e.kind}" + (f": {e.detail}" if e.detail else "")
                 for e in reversed(self.timeline.log[-50:])]
        return "\n".join(lines)

    def action_toggle_run(self) -> None:
        runs = self.query_one("#runs", OptionList)
        if not self.timeline.abandoned or runs.highlighted is None:
            return
        index = int(runs.get_option_at_index(runs.highlighted).id)
        self.hidden.symmetric_difference_update({index})
        highlighted = runs.highlighted
        runs.clear_options()
        runs.add_options(self._run_options())
        runs.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "epochs":
            self.dismiss(int(event.option.id))
        elif event.option_list.id == "runs":
            self.action_toggle_run()

    def action_close(self) -> None:
        self.dismiss(None)
