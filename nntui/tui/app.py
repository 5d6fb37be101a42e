"""The nntui app: build a network, train it, and watch what it does, from the keyboard.

The app owns one ``TrainingSession`` (the same one the headless trainer uses) and runs its ``run()`` loop as an
async worker in Textual's event loop: the session trains a few milliseconds at a time and hands the loop back,
so keys stay responsive. The session publishes snapshots a few times a second; the app keeps only the latest
and two timers draw it (numbers at 4 Hz, charts at 2 Hz), and only when something new arrived, so an idle or
paused app draws nothing.
"""

from __future__ import annotations

import gc
import shlex
import time
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from nntui.train import pace as pacing
from nntui.train.checkpoint import CheckpointError
from nntui.train.config import ConfigError, RunConfig, apply_overrides, default_config
from nntui.train.data import BUILTIN_DATASETS, DataError, Dataset
from nntui.train.insight import progress
from nntui.train.insight.numbering import layer_numbers
from nntui.train.metrics import LossUnits
from nntui.train.progress import loading_progress
from nntui.train.recovery import Autosaver
from nntui.train.session import Snapshot, State, TrainingSession
from nntui.train.trainer import only_optimizer_differs
from nntui.tui.charts import EMPTY_MESSAGE, MetricChart, Series
from nntui.tui.lifeline import Lifeline
from nntui.tui.runs_screen import RunsScreen, ghost_series, rewind_marks
from nntui.tui.screens import (
    ConfirmScreen,
    GradientCheckScreen,
    HelpScreen,
    HelpSection,
    SaveScreen,
    explained,
    shown_key,
)
from nntui.tui.views.base import InsightView
from nntui.tui.views.boundary import BoundaryView
from nntui.tui.views.digits import DigitsView
from nntui.tui.views.health import HealthView
from nntui.tui.views.math import MathView
from nntui.tui.views.weights import WeightsView
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.gradients import GradientTable
from nntui.tui.widgets.hyperparams import FieldInput, HyperParamsForm, spoken_name
from nntui.tui.widgets.learning_picture import LearningPicture
from nntui.tui.widgets.status import StatusLine

LR_FACTOR = 2.0
LR_MIN, LR_MAX = 1e-6, 10.0
NUMBERS_INTERVAL = 0.25  # seconds between refreshes of the status line and tables
CHARTS_INTERVAL = 0.33  # seconds between chart ticks; one chart per tick while training (~10-20 ms a draw)
TRAIN_CHUNK = 0.005  # seconds of training between two turns of the event loop (keys wait at most this long)
CHART_BUDGET = 0.02  # while training, building charts may take this share of the time (drawing them about as much)
VIEW_INTERVAL = 1.0  # seconds between redraws of the visible explaining view while training
#: Seconds between redraws of the Train tab's picture (decision boundary, confusion matrix) while training: it
#: sits beside the charts all the time, and a redraw every second cost ~6% of training speed at full speed.
PICTURE_INTERVAL = 2.0
#: The explaining views, one tab each (keys 4 to 8), by tab id.
VIEWS: dict[str, type[InsightView]] = {
    "health": HealthView, "weights": WeightsView, "boundary": BoundaryView, "digits": DigitsView, "math": MathView,
}
WIDE = 120  # from this width the Train tab shows both side panes


PACE_KEYS = Binding.Group("pace", compact=True)  # s and f share one Footer entry: "s f pace"
#: The tabs in order, by tab id, with the titles the tab bar and the help show; keys 1 to 8 open them.
TABS: dict[str, str] = {"train": "Train", "model": "Model", "gradients": "Grads",
                        **{tab: view.TITLE for tab, view in VIEWS.items()}}
# The explanations that two or more keys share (one row of the help screen each).
LR_KEYS_HELP = "raise / lower the learning rate (x2 / /2), from the next batch on"
TAB_KEYS_HELP = "tabs: " + ", ".join(TABS.values())
PANE_KEYS_HELP = "hide or show the model (left) and gradient (right) side panes on the Train tab"
PACE_KEYS_HELP = "pace: slower / faster, from 1 step a second to full speed (shown on the status line)"
QUIT_KEYS_HELP = "quit, also while training (^q also from inside a text field)"
#: Actions with a key but no palette entry: the palette's own (it is open when its entries are read).
NOT_IN_PALETTE = frozenset({"command_palette"})


def tab_label(tab: str) -> str:
    """The tab bar's label of ``tab``: its key and its title, "3 Grads"."""
    return f"{list(TABS).index(tab) + 1} {TABS[tab]}"


def palette_title(binding: Binding) -> str:
    """The command palette's name for what ``binding`` does, which is also what the palette searches.

    A key the Footer shows has a terse label ("lr×2"), so its title adds its explanation: "lr×2: raise / lower the
    learning rate ...", or the explanation alone when it starts with the label ("Reset: new weights ..."). A key
    the Footer leaves out has its full name as its description ("Gradient check", "Show the Model tab").
    """
    if not binding.show:
        return binding.description
    explanation = explained(binding)
    if explanation.lower().startswith(binding.description.lower()):
        return explanation[:1].upper() + explanation[1:]
    return f"{binding.description}: {explanation}"


class DataLoadProgress(Message):
    """Posted by the data-loading worker: how far the load of ``name`` has got (``stage``, 0..1)."""

    def __init__(self, name: str, stage: str, fraction: float) -> None:
        super().__init__()
        self.name, self.stage, self.fraction = name, stage, fraction

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DataLoadProgress)  # only the newest matters: a fast loader never floods


class DataLoaded(Message):
    """Posted by the data-loading worker when the data of ``config`` is loaded (``dataset``) or refused
    (``error``); ``overrides`` and ``what`` are the change that asked for it (see NNTuiApp._propose)."""

    def __init__(self, config: RunConfig, overrides: dict, what: str, dataset: Dataset | None,
                 error: Exception | None, seconds: float) -> None:
        super().__init__()
        self.config, self.overrides, self.what = config, overrides, what
        self.dataset, self.error, self.seconds = dataset, error, seconds


class NNTuiApp(App):
    """nntui's terminal app. ``NNTuiApp()`` starts on the spiral with its default model.

    A built-in dataset starts at a watching pace (its default run lasts ~25 s, see ``nntui.train.pace``); a user's
    own data starts at full speed. ``s`` and ``f`` step the pace down and up, ``F`` toggles full speed.
    """

    CSS_PATH = "app.tcss"
    TITLE = "nntui"
    AUTO_FOCUS = ""  # nothing focused at start, so the single-letter keys work at once
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-too-narrow"), (60, "-narrow"), (80, "-medium"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-too-short"), (16, "-tall")]
    # The tooltip is each key's long explanation: the Footer shows it on hover and the help screen (?) lists it;
    # keys that share one explanation share a row of the help ("+ / -").
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_run", "Run", key_display="space", tooltip="start, pause or resume training"),
        Binding("n", "step_once", "Step", tooltip="train exactly one batch (then paused)"),
        Binding("r", "reset", "Reset", tooltip="reset: new weights from the seed (asks when a run has progress)"),
        Binding("plus,equals_sign", "lr_up", "lr×2", key_display="+", tooltip=LR_KEYS_HELP),
        Binding("minus", "lr_down", "lr÷2", key_display="-", tooltip=LR_KEYS_HELP),
        *(Binding(str(number), f"show_tab('{tab}')", f"Show the {title} tab" + ("" if tab == title.lower() else
                  f" ({tab})"), show=False, tooltip=TAB_KEYS_HELP)  # ("Grads (gradients)": found by either)
          for number, (tab, title) in enumerate(TABS.items(), start=1)),
        Binding("left_square_bracket", "toggle_pane('left')", "Hide / show the model pane", show=False, key_display="[",
                tooltip=PANE_KEYS_HELP),
        Binding("right_square_bracket", "toggle_pane('right')", "Hide / show the gradient pane", show=False,
                key_display="]",
                tooltip=PANE_KEYS_HELP),
        Binding("escape", "leave_field", "Leave field", show=False,
                tooltip="leave a field; tab moves between panes and fields"),
        Binding("s", "pace('slower')", "Slower", group=PACE_KEYS, tooltip=PACE_KEYS_HELP),
        Binding("f", "pace('faster')", "Faster", group=PACE_KEYS, tooltip=PACE_KEYS_HELP),
        Binding("F,shift+f", "pace('full')", "Full speed on / off", key_display="F", show=False,
                tooltip="full speed on/off (built-in data starts at a pace you can watch, your own data at full speed)"),
        Binding("g", "gradient_check", "Gradient check", show=False,
                tooltip="gradient check: the backward pass against finite differences"),
        Binding("l", "find_lr", "Find a learning rate", show=False,
                tooltip="learning-rate finder: the range test on a copy of the model; enter adopts its suggestion"),
        Binding("b", "runs", "Runs and rewind", show=False,
                tooltip="runs: earlier runs as ghost curves (space shows/hides), kept epochs to go back to (enter), "
                        "the log"),
        Binding("ctrl+s", "save", "Save the run", show=False,
                tooltip="save the run to a file; nntui --load FILE reopens it"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="help: every key and where it works"),
        # Textual's own palette and ctrl+q bindings, declared here to carry our explanations (Textual then adds none).
        Binding("ctrl+p", "command_palette", "palette", show=False, priority=True,
                tooltip="command palette: every action by name"),
        Binding("q", "quit", "Quit", tooltip=QUIT_KEYS_HELP),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, tooltip=QUIT_KEYS_HELP),
        Binding("ctrl+z", "suspend_process", "Suspend to the shell", show=False,
                tooltip="suspend to the shell; fg brings the app back"),
    ]

    def __init__(self, config: RunConfig | None = None, *, session: TrainingSession | None = None,
                 blink: bool = True, recovery: Autosaver | None = None) -> None:
        """Start from ``config`` (default: the spiral), or go on with ``session`` (e.g. one from a checkpoint).

        ``recovery``: keeps the run in a recovery file (``nntui`` passes one; tests and scripts usually don't).
        """
        super().__init__()
        if session is None:
            session = TrainingSession((config or default_config("spiral")).validate())
        self.session = session
        self.config = session.config
        session.on_snapshot, session.publish_interval = self._on_snapshot, NUMBERS_INTERVAL
        self.blink = blink
        self.lifeline = Lifeline(self, recovery)  # autosave, signals, ctrl+z: nothing lost, terminal sane
        self._snapshot: Snapshot = self.session.snapshot()
        self._numbers_dirty = self._charts_dirty = True
        self._notified_divergence = False
        self._chart_turn = 0
        self._wide: bool | None = None  # whether the side panes were last fitted to a wide terminal
        self._charts_empty = True  # no chart has drawn data since the last (re)build
        self._shown_notes: dict[tuple, float] = {}  # notifications on screen: (message, title, severity) -> until
        self._next_chart_time = 0.0
        self._proposal: tuple[RunConfig, Dataset | None, str] | None = None  # the change the open question asks about
        self._chance_for: Dataset | None = None  # the dataset whose chance-level accuracy is in _chance_level
        self._chance_level = float("nan")
        self.not_learning: str | None = None  # the "not learning: ..." callout shown, if any
        self.hidden_runs: set[int] = set()  # earlier runs (timeline.abandoned) not drawn as ghost curves
        self._picture_due = 0.0  # when the Train tab's picture may be redrawn again while training
        self._warned_for: Dataset | None = None  # the dataset whose warnings were last shown
        self._save_may_replace: tuple[str, bool] | None = None  # (name, whether the dialog saw a file there)
        self._watching_pace = pacing.watching_pace(self._default_steps())  # where F returns from full speed
        session.max_steps_per_second = self._starting_pace()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Textual's notify, except: the text is shown as written (a file name or a CSV cell may hold "[...]",
        which as markup could vanish or fail to render), and a message already on screen is not stacked again
        (ten presses of + at the top of the range give one warning, not ten)."""
        now = time.monotonic()
        key = (message, title, severity)
        self._shown_notes = {k: until for k, until in self._shown_notes.items() if until > now}
        if key in self._shown_notes:
            return
        self._shown_notes[key] = now + (self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- layout ------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Container(id="main"):
            yield StatusLine(id="status")
            with TabbedContent(initial="train", id="tabs"):
                with TabPane(tab_label("train"), id="train"), Horizontal(id="train-row"):
                    yield Static("", id="model-summary", markup=False)
                    with Vertical(id="charts"):
                        with Container(id="loss-box", classes="chart-box"):
                            yield MetricChart(id="loss-chart")
                        with Container(id="accuracy-box", classes="chart-box"):
                            yield MetricChart(id="accuracy-chart")
                    with Vertical(id="right-pane"):
                        yield GradientTable(id="side-gradients", compact=True)
                        yield LearningPicture(id="learning-picture")
                with TabPane(tab_label("model"), id="model"):
                    yield Static("", id="pending-change", markup=False)
                    with Horizontal(id="model-row"):
                        yield self._architecture_editor()
                        yield HyperParamsForm(self.config, id="hyperparams", blink=self.blink)
                with TabPane(tab_label("gradients"), id="gradients"):
                    yield Static(
                        "How big is each layer's gradient, and how much does a step change its weights? "
                        "Healthy: upd/W near 1e-3; a |dW| shrinking layer by layer toward the input means "
                        "vanishing gradients, a growing one exploding gradients.",
                        id="gradients-help", markup=False)
                    yield GradientTable(id="gradients-table")
                    with Container(id="grad-box", classes="chart-box"):
                        yield MetricChart(id="grad-chart")
                for tab, view_class in VIEWS.items():
                    with TabPane(tab_label(tab), id=tab):
                        yield view_class(id=f"{tab}-view")
        yield Static("nntui needs a terminal of at least 60x16: please enlarge the window.",
                     id="too-small", markup=False)
        yield Footer()

    def _architecture_editor(self) -> ArchitectureEditor:
        m, s = self.config.model, self.session
        return ArchitectureEditor(hidden=list(m.hidden), activations=list(m.activations),
                                  loss=self.config.resolved_loss(), n_inputs=s.dataset.n_features,
                                  n_outputs=s.output_width(), task=s.dataset.task,
                                  n_classes=s.dataset.n_classes, id="architecture", blink=self.blink)

    def on_mount(self) -> None:
        self.query_one("#loss-box").border_title = "loss by step"
        self.query_one("#accuracy-box").border_title = "accuracy"
        self.query_one("#grad-box").border_title = "|dW| per layer, log scale"
        self._fit_side_panes(self.size.width)
        self.query_one(StatusLine).pace = pacing.label(self.session.max_steps_per_second)
        self._update_model_views()
        self._numbers_timer = self.set_interval(NUMBERS_INTERVAL, self._refresh_numbers)
        self._view_timer = self.set_interval(VIEW_INTERVAL, self._refresh_view)
        self._view_drawn: tuple | None = None
        self._charts_timer = self.set_interval(CHARTS_INTERVAL, self._refresh_charts)
        self._refresh_numbers()
        self._refresh_charts()
        self._start_training_loop()
        self.lifeline.start()
        self._warn_about(self.session.dataset)
        self.call_after_refresh(self._freeze_startup_objects)

    def _freeze_startup_objects(self) -> None:
        """Leave the objects the app is built of out of the garbage collector's full passes.

        Every widget, style and cached strip is a tracked object, and a full pass visits each: ~30 ms on these
        machines, now and then, in the middle of a load or a run (a key then waits that long). What the app
        is built of lives as long as the app, so it is moved aside once (gc.freeze); unmounting puts it back.
        """
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # (several apps in one process, as in the tests: each one's objects can go)

    def _start_training_loop(self) -> None:
        self.run_worker(self.session.run(chunk_seconds=TRAIN_CHUNK), name="training", group="training", exclusive=True,
                        exit_on_error=False)

    # -- snapshots in, drawing out -----------------------------------------------------------------------------

    def _on_snapshot(self, snap: Snapshot) -> None:
        """Called by the session (in this event loop); keeps the newest snapshot and wakes the timers."""
        self._snapshot = snap
        self._numbers_dirty = self._charts_dirty = True
        if hasattr(self, "_numbers_timer"):
            self._numbers_timer.resume()
            self._charts_timer.resume()
            self._view_timer.resume()

    def _refresh_numbers(self) -> None:
        if not self.is_running:  # a tick during shutdown: the widgets may be gone
            return
        if not self._numbers_dirty:
            if self.session.state is not State.RUNNING:
                self._numbers_timer.pause()  # idle: no wake-ups until the next snapshot
            return
        self._numbers_dirty = False
        snap = self._snapshot
        self.query_one(StatusLine).show(snap)
        tab = self.query_one(TabbedContent).active
        if tab == "gradients":
            self.query_one("#gradients-table", GradientTable).show(snap.layers)
        elif tab == "train" and self.query_one("#right-pane").display:
            self.query_one("#side-gradients", GradientTable).show(snap.layers)
        if snap.state is State.DIVERGED and not self._notified_divergence:
            self._notified_divergence = True
            self.notify(snap.message + " Press - to lower the learning rate, then r to reset.",
                        title="training diverged", severity="error", timeout=10)

    def _refresh_view(self, force: bool = False) -> None:
        """Redraw the visible explaining view (at most ~1 Hz, and only when the session moved on)."""
        if not self.is_running:
            return
        tab = self.query_one(TabbedContent).active
        picture = tab == "train" and self.query_one("#right-pane").display  # the Train tab's picture (wide)
        if tab not in VIEWS and not picture:
            return
        snap = self._snapshot
        key = (tab, snap.step, snap.state, id(self.session.model))
        if key == self._view_drawn and not force:
            if self.session.state is not State.RUNNING:
                self._view_timer.pause()
            return
        if picture and self.session.state is State.RUNNING and not force and \
                time.perf_counter() < self._picture_due:
            return  # while training, the picture beside the charts is redrawn every PICTURE_INTERVAL only
        self._view_drawn = key
        if picture:
            self._picture_due = time.perf_counter() + PICTURE_INTERVAL
            self.query_one(LearningPicture).update_picture(self.session, snap)
            return
        view = self.query_one(f"#{tab}-view", InsightView)
        try:
            view.update_view(self.session, snap)
        except Exception as error:  # noqa: BLE001 - a view must never take the app down
            self.notify(f"the {view.TITLE} view could not draw: {error}", severity="error")

    def _refresh_charts(self, all_charts: bool = False) -> None:
        """Draw the charts from the newest snapshot: one chart per tick while training, all when it stops."""
        if not self.is_running:
            return
        if not self._charts_dirty:
            if self.session.state is not State.RUNNING:
                self._charts_timer.pause()
            return
        running = self.session.state is State.RUNNING
        if self._charts_empty and len(self._snapshot.history.step_loss):
            all_charts, self._charts_empty = True, False  # the first data: every chart at once, none says "no data"
        if running and not all_charts and time.perf_counter() < self._next_chart_time:
            return  # within the drawing budget: charts may take CHART_BUDGET of the time while training
        self._chart_turn += 1
        # While training, each chart redraws every other tick (1 Hz): drawing is what costs training speed.
        turn = self._chart_turn % 3 if running and not all_charts else None
        self._charts_dirty = running
        history = self._snapshot.history
        markers = [*(step for step, _lr in history.lr_changes[1:]), *rewind_marks(self.session.timeline)]
        tab = self.query_one(TabbedContent).active
        if tab == "train" and turn in (None, 0, 1):  # both at once: they share one x range
            self._draw_train_charts(history, markers)
        if tab == "gradients" and turn in (None, 2):
            numbers = layer_numbers(self.session.model.layers)
            grad_series = [Series(f"layer {numbers[int(index)]}", *series.arrays())
                           for index, series in history.grad_norms.items()]
            grad_chart = self.query_one("#grad-chart", MetricChart)
            grad_chart.set_series(grad_series, xlabel="step", ylog=True, legend=False)  # the legend: in the title
            self.query_one("#grad-box").border_title = f"|dW| per layer, log scale  {grad_chart.legend_markup()}"
        # The charts draw at the next repaint; space the next draw by what the last one cost.
        cost = max(chart.last_draw_seconds for chart in self.query(MetricChart))
        self._next_chart_time = time.perf_counter() + cost / CHART_BUDGET

    def _draw_train_charts(self, history, markers: list[int]) -> None:
        """Loss above accuracy, one x range for both (the lr marks line up), legends in the titles, not the data.

        Only the lower chart labels its x axis (steps); a run at chance level gets its "not learning" callout in
        the accuracy chart's title, where the eye is.
        """
        epochs = history.epochs
        epoch_steps = [r.step for r in epochs]
        steps, losses = history.step_loss.arrays()
        classification = self.session.dataset.task == "classification"
        timeline = self.session.timeline
        units = self._snapshot.loss_units  # regression: the MSE in the data's units when it has one target
        ghosts = ghost_series(timeline, self.hidden_runs, "loss", units)  # earlier runs, faint, behind this one
        last_step = max([*steps[-1:], *epoch_steps[-1:], *(g.xs[-1] for g in ghosts if len(g.xs)), 0])
        xlim = (0, last_step) if last_step > 0 else None
        loss_chart = self.query_one("#loss-chart", MetricChart)
        loss_chart.set_series(
            [*ghosts, Series("train", steps, units.shown(losses)),
             Series("val", epoch_steps, [units.shown(r.val_loss) for r in epochs], kind="scatter")],
            markers=markers, xlim=xlim, xticks=False, legend=False)
        self.query_one("#loss-box").border_title = \
            f"{loss_title(units)}  {loss_chart.legend_markup()}  │ lr change, rewind"
        if not classification:
            self._draw_r2_chart(epochs, epoch_steps, markers, xlim)
            return
        steps, accuracies = history.step_accuracy.arrays()
        accuracy_chart = self.query_one("#accuracy-chart", MetricChart)
        accuracy_chart.set_series(
            [*ghost_series(timeline, self.hidden_runs, "accuracy"), Series("train", steps, accuracies),
             Series("val", epoch_steps, [r.val_accuracy for r in epochs], kind="scatter")],
            markers=markers, xlim=xlim, legend=False)
        callout = progress.not_learning([r.val_accuracy for r in epochs], self._chance(), self.session.lr,
                                        self.session.config.optimizer.name)
        box = self.query_one("#accuracy-box")
        box.border_title = (f"[$warning]{callout}[/]" if callout else f"accuracy  {accuracy_chart.legend_markup()}")
        box.set_class(callout is not None, "-not-learning")
        if callout and not self.not_learning:  # said once in full too: a narrow chart cuts its title
            self.notify(callout.removeprefix("not learning: "), title="not learning", severity="warning",
                        timeout=8)
        self.not_learning = callout

    def _draw_r2_chart(self, epochs, epoch_steps, markers: list[int], xlim) -> None:
        """Regression: validation R^2 at each epoch end where classification shows accuracy (1 is a perfect fit,
        0 no better than predicting the mean; the loss above is the MSE, in the data's units for one target)."""
        r2_chart = self.query_one("#accuracy-chart", MetricChart)
        if not epochs:
            r2_chart.set_series([])
            return
        r2_chart.set_series([Series("val R²", epoch_steps, [r.val_r2 for r in epochs], kind="scatter")],
                            markers=markers, xlim=xlim, legend=False)
        self.query_one("#accuracy-box").border_title = f"R² (1 = perfect fit)  {r2_chart.legend_markup()}"

    def _chance(self) -> float:
        """Chance-level accuracy of the current data (computed once per dataset)."""
        data = self.session.dataset
        if self._chance_for is not data:
            self._chance_for, self._chance_level = data, progress.chance_accuracy(data.y_train)
        return self._chance_level

    def _update_model_views(self) -> None:
        """After a (re)build: the model summary, the editor's view of the data's widths."""
        s = self.session
        data = s.dataset
        self.query_one("#model-summary", Static).update(
            f"{data.name}: {len(s.x_train)} train / {len(s.x_val)} val, {data.n_features} features, "
            f"{data.n_classes} {'classes' if data.task == 'classification' else 'targets'}\n\n"
            + _compact_summary(s) + f"\n\nloss {s.loss_name}, {self.config.optimizer.name}")
        m = self.config.model
        self.query_one(ArchitectureEditor).set_model(
            list(m.hidden), list(m.activations), self.config.resolved_loss(), data.n_features,
            s.output_width(), data.task, data.n_classes)
        self.query_one(HyperParamsForm).set_values(self.config)
        self._show_pending()
        self._notified_divergence = False
        self._numbers_dirty = self._charts_dirty = True
        self._charts_empty = True
        self.query_one("#loss-box").border_title = loss_title(s.loss_units)
        accuracy = self.query_one("#accuracy-chart", MetricChart)
        accuracy.empty_message = EMPTY_MESSAGE if data.task == "classification" else \
            "regression: validation R² appears here at the end of each epoch"
        if data.task != "classification":
            accuracy.set_series([])  # a classification run's curves do not stay
            self.query_one("#accuracy-box").border_title = "R² (1 = perfect fit)"
        else:
            self.query_one("#accuracy-box").border_title = "accuracy"
        accuracy.refresh()
    # -- actions -----------------------------------------------------------------------------------------------

    #: Actions on printable keys: while a text field has focus those keys type, so the Footer does not offer them.
    #: (Quit stays: ctrl+q quits from anywhere.)
    TYPED_KEY_ACTIONS = frozenset({"toggle_run", "step_once", "reset", "lr_up", "lr_down", "pace",
                                   "gradient_check", "find_lr", "runs", "help"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.TYPED_KEY_ACTIONS and isinstance(self.focused, Input))

    def action_toggle_run(self) -> None:
        if self.session.state is State.FINISHED:
            self.notify("Training finished. Raise the epochs on the Model tab, or reset (r) to train again.")
        elif self.session.state is State.DIVERGED:
            self.notify("The run diverged: lower the learning rate (-) and reset (r).", severity="warning")
        self.session.toggle()
        self._numbers_dirty = True
        self._refresh_numbers()  # "running" at once, not at the next tick

    def action_step_once(self) -> None:
        if self.session.state in (State.FINISHED, State.DIVERGED):
            self.notify(f"Cannot step a {self.session.state} run; reset (r) first.", severity="warning")
            return
        self.session.step_once()

    def action_lr_up(self) -> None:
        self._change_lr(self.session.lr * LR_FACTOR)

    def action_lr_down(self) -> None:
        self._change_lr(self.session.lr / LR_FACTOR)

    def _change_lr(self, lr: float) -> None:
        lr = float(f"{lr:.6g}")
        if not LR_MIN <= lr <= LR_MAX:
            self.notify(f"The learning rate stays between {LR_MIN:g} and {LR_MAX:g}.", severity="warning")
            return
        self._set_lr(lr)

    def _set_lr(self, lr: float) -> None:
        try:
            applied = self.session.set_lr(lr)
        except ConfigError as error:
            self.notify(str(error), severity="error")
            return
        self.config = apply_overrides(self.config, {"optimizer.lr": applied})
        self.query_one(HyperParamsForm).set_value("optimizer.lr", applied)
        self._numbers_dirty = True
        self._refresh_numbers()  # shown at once, not at the next tick

    def action_reset(self) -> None:
        if self.session.step_count == 0:
            self._reset(self.config)
            return
        steps = self.session.step_count
        self.push_screen(ConfirmScreen(f"Reset? The run's {steps} step{'s' if steps != 1 else ''} of training will be "
                                       "lost and the weights drawn anew from the seed."),
                         lambda yes: self._reset(self.config) if yes else None)

    def _reset(self, config: RunConfig, dataset: Dataset | None = None) -> bool:
        data_before = self.session.config.data.dataset
        try:
            self.session.reset(config, dataset=dataset)
        except (ConfigError, DataError) as error:
            self.config = self.session.config
            self._update_model_views()
            self._refuse(config, error)
            return False
        self.config = self.session.config
        if self.config.data.dataset != data_before:  # other data: its own starting pace (built-in or a file)
            self._set_pace(self._starting_pace())
        self._update_model_views()
        self._snapshot = self.session.snapshot()
        self._on_snapshot(self._snapshot)
        return True

    def _refuse(self, config: RunConfig, error: Exception) -> None:
        """Say why ``config`` cannot be used; a data file that would not load stays in its field, marked."""
        self.notify(str(error), title="cannot use this configuration", severity="error", timeout=8)
        rejected = config.data.dataset
        if rejected != self.session.config.data.dataset and rejected not in BUILTIN_DATASETS:  # a user's file
            form = self.query_one(HyperParamsForm)
            form.set_value("data.dataset", self.session.config.data.dataset)  # the list shows what runs
            form.reject_data_file(rejected, str(error))

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def tab_activated(self) -> None:
        """Draw what the new tab shows now, from the newest snapshot (hidden tabs are not kept up to date)."""
        self._on_snapshot(self._snapshot)
        self._refresh_numbers()
        self._refresh_charts(all_charts=True)
        self._refresh_view(force=True)
        tab = self.query_one(TabbedContent).active
        if tab == "model":  # the editor's keys (a, x, ...) work at once
            self.query_one(ArchitectureEditor).focus()
        elif tab in VIEWS:  # the view's own keys (layer, page, step, scrolling) work at once
            view = self.query_one(f"#{tab}-view", InsightView)
            target = view if view.can_focus else next((w for w in view.query("*") if w.focusable), None)
            if target is not None:
                target.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_side_panes(event.size.width)

    def _fit_side_panes(self, width: int) -> None:
        """Both side panes from WIDE columns on, none below; decided again whenever the width crosses WIDE."""
        wide = width >= WIDE
        if wide == self._wide or not self.query("#right-pane"):
            return  # the user's [ and ] choices stand until the width crosses the line (or not composed yet)
        self._wide = wide
        self.query_one("#model-summary").display = wide
        self.query_one("#right-pane").display = wide
        if wide:
            self._numbers_dirty = True

    def action_toggle_pane(self, side: str) -> None:
        pane = self.query_one("#model-summary" if side == "left" else "#right-pane")
        other = self.query_one("#right-pane" if side == "left" else "#model-summary")
        self.action_show_tab("train")
        pane.display = not pane.display
        if pane.display and self.size.width < WIDE:
            other.display = False  # below WIDE columns the charts keep the room of at least one pane
        if pane.display:
            self._numbers_dirty = True
            self._refresh_numbers()

    def action_leave_field(self) -> None:
        if self.focused is not None:  # refocusing re-checks every binding and redraws the Footer: only if needed
            self.set_focus(None)

    def _default_steps(self) -> int:
        """Steps in the whole configured run (what the watching pace spreads over ~25 s); an open-ended run
        (0 epochs) is watched at the pace of its dataset's default run."""
        config = self.session.config
        epochs = config.training.epochs or default_config(config.data.dataset).training.epochs
        return epochs * self.session.batches_per_epoch

    def _starting_pace(self) -> float | None:
        """A built-in dataset's run starts at the watching pace; a user's own data at full speed."""
        if self.session.config.data.dataset not in BUILTIN_DATASETS:
            return None
        self._watching_pace = pacing.watching_pace(self._default_steps())
        return self._watching_pace

    def action_pace(self, change: str) -> None:
        """Slower, faster, or full speed (again F: back to the last watching pace)."""
        current = self.session.max_steps_per_second
        if change == "slower":
            self._set_pace(pacing.slower(current))
        elif change == "faster":
            self._set_pace(pacing.faster(current))
        else:
            self._set_pace(None if current is not None else self._watching_pace)

    def _set_pace(self, pace: float | None) -> None:
        if pace is not None:
            self._watching_pace = pace
        self.session.max_steps_per_second = pace
        self.query_one(StatusLine).pace = pacing.label(pace)
        self._numbers_dirty = True
        self._refresh_numbers()

    def action_gradient_check(self) -> None:
        """Compare the current model's gradients with finite differences (a float64 copy; training goes on)."""
        from nntui.train.checks import gradient_check

        if self.session.state is State.DIVERGED:
            self.notify("The run diverged: a gradient check says nothing about these weights. Reset first (r).",
                        severity="warning")
            return
        try:
            result = gradient_check(self.session, max_checks=60)  # a quick look: 60 entries per parameter
        except (ValueError, FloatingPointError) as error:
            self.notify(f"gradient check failed to run: {error}", severity="error")
            return
        shapes = {name: param.shape for name, param, _g in self.session.model.parameters()}
        self.push_screen(GradientCheckScreen(result, shapes))

    def action_find_lr(self) -> None:
        """The learning-rate range test on a copy of the model; enter in it adopts the suggested rate."""
        from nntui.tui.lrfind_screen import LRFindScreen

        if self.session.state is State.DIVERGED:
            self.notify("The run diverged: reset (r) before looking for a learning rate.", severity="warning")
            return

        def adopt(lr: float | None) -> None:
            if lr is not None:
                self._set_lr(lr)
                self.notify(f"Learning rate {lr:g}, from the next batch.")

        self.push_screen(LRFindScreen(self.session.trainer, current_lr=self.session.lr,
                                      seed=self.session.config.training.seed), adopt)

    def action_runs(self) -> None:
        """Earlier runs (ghost curves to show or hide), kept epochs to go back to, and the intervention log."""

        def go_back(epoch: int | None) -> None:
            self._charts_dirty = True
            if epoch is None:
                return
            try:
                self.session.rewind(epoch)
            except (KeyError, ValueError) as error:
                self.notify(str(error).strip("'\""), severity="error")
                return
            self.notify(f"Back at the end of epoch {epoch}; the future you left is a ghost curve. Change the rate "
                        "(+/-) to branch, or train on to replay it exactly.", timeout=8)

        self.push_screen(RunsScreen(self.session.timeline, self.hidden_runs), go_back)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[HelpSection]:
        """What the help screen lists: the app's keys, the Model tab's, then each explaining view's own."""
        return [HelpSection("", "", (type(self),)),
                HelpSection("Model tab", "architecture editor (when focused):", (ArchitectureEditor, FieldInput)),
                *(HelpSection(f"{view.TITLE} tab", "", (view,)) for view in VIEWS.values())]

    def action_save(self) -> None:
        s = self.session
        name = s.dataset.name.removesuffix(".csv").removesuffix(".npz")
        suggestion = f"{name}-epoch{s.epoch}-step{s.step_count}.npz"
        self.push_screen(SaveScreen(suggestion, check=self._save_problem, save=self._save_to,
                                    existing=self._existing_checkpoint))

    @staticmethod
    def _save_problem(text: str) -> str | None:
        """What is wrong with ``text`` as the name of a checkpoint file, or None."""
        if not text:
            return "type a file name, e.g. run.npz"
        try:
            path = checkpoint_path(text)
            if path.is_dir():
                return f"{text} is a folder; type a file name"
            if path.suffix.lower() != ".npz":
                return f"checkpoint files end in .npz, got {text!r}"
            if path.name.lower() == ".npz":
                return "type a name before .npz"
            if not path.parent.is_dir():
                return f"cannot save checkpoint: folder {str(path.parent)!r} does not exist"
            path.exists()  # a name the file system refuses (too long, say) fails here, not while saving
        except OSError as error:
            return f"cannot use this name: {error.strerror or error}"
        return None

    def _existing_checkpoint(self, text: str) -> str | None:
        """The file a save to ``text`` would replace, or None (remembered: the save replaces only that file)."""
        try:
            path = checkpoint_path(text)
            existing = str(path) if path.exists() else None
        except OSError:
            existing = None
        self._save_may_replace = (text, existing is not None)
        return existing

    def _save_to(self, text: str) -> str | None:
        """Save the run to the file ``text`` names; None when saved, else why not (shown in the save screen).

        A file the dialog did not see when it checked the name (another program saved there meanwhile) is not
        replaced: the save is refused and says so, so two instances never both report "saved" for one file.
        """
        replace = self._save_may_replace == (text, True)
        try:
            path = checkpoint_path(text)
            self.session.save_checkpoint(path, replace=replace)
        except FileExistsError:
            return (f"{text} was created by another program while saving: nothing was replaced. Type another "
                    "name, or press enter twice to replace it")
        except CheckpointError as error:
            return str(error)
        except OSError as error:
            return f"cannot write {text}: {error.strerror or error}"
        s = self.session
        self.lifeline.mark_saved()
        self.notify(f"Saved epoch {s.epoch}, step {s.step_count} to {path}. Open it again with: "
                    f"nntui --load {shlex.quote(str(path))}", title="run saved", timeout=8)
        return None

    def action_help_quit(self) -> None:
        """ctrl+c (Textual's copy key) does not quit: say which key does, as plain text (our notify shows no markup)."""
        self.notify("Press q to quit (ctrl+q from inside a text field).", title="Do you want to quit?")

    async def action_quit(self) -> None:
        self.lifeline.on_quit()
        self.session.stop()
        self.exit()

    # -- messages from the widgets -----------------------------------------------------------------------------

    @on(ArchitectureEditor.Changed)
    def architecture_changed(self, event: ArchitectureEditor.Changed) -> None:
        self._propose({"model.hidden": event.hidden, "model.activations": event.activations,
                       "model.loss": event.loss}, "the architecture")

    @on(HyperParamsForm.Changed)
    def hyperparameter_changed(self, event: HyperParamsForm.Changed) -> None:
        if event.field == "optimizer.lr":
            self._set_lr(float(event.value))
        elif event.field == "training.epochs":
            try:
                self.config = apply_overrides(self.config, {"training.epochs": event.value})
                self.session.set_epochs(int(event.value))
            except ConfigError as error:
                self.notify(str(error), severity="error")
        else:
            self._propose({event.field: event.value}, spoken_name(event.field))

    def _propose(self, overrides: dict, what: str) -> None:
        """A change that needs new weights: apply it now if nothing was trained, else ask first.

        Only one question is open at a time: an edit made while it is open (keys typed ahead, say `a a`) joins
        the pending change, and the answer applies (or keeps pending) everything edited so far.
        """
        try:
            config = apply_overrides(self.config, overrides)
        except ConfigError as error:
            self.notify(str(error), title="not applied", severity="error", timeout=8)
            return
        if any(key.startswith("data.") for key in overrides):
            # Loaded in a worker thread (a big file takes seconds; the app keeps answering keys) and refused
            # then, not after asking to reset for it; `data_loaded` goes on from here.
            self._load_data(config, overrides, what)
            return
        self._apply_or_ask(config, None, what)

    def _apply_or_ask(self, config: RunConfig, dataset: Dataset | None, what: str) -> None:
        """The rest of `_propose`, once the data (if it changed) is loaded."""
        if self.session.step_count == 0:
            self._reset(config, dataset)
            return
        self.config = config
        if self._proposal is not None:  # a question is open: it now covers this edit too
            _config, earlier_dataset, earlier_what = self._proposal
            if dataset is None and earlier_dataset is not None and earlier_dataset.name == config.data.dataset:
                dataset = earlier_dataset
            self._proposal = (config, dataset, earlier_what if earlier_what == what else "the settings")
            return
        self._proposal = (config, dataset, what)
        branch = dataset is None and self._optimizer_only(config)  # the weights can stay: a branch from here

        def answer(yes: bool | None) -> None:
            proposed, proposed_dataset, said = self._proposal
            self._proposal = None
            if yes and branch and self._optimizer_only(proposed):
                self.session.switch_optimizer(proposed)
                self._show_pending()
                self._charts_dirty = True
                self.notify(f"Switched {said} at step {self.session.step_count}, same weights (a branch: b lists "
                            "it).")
            elif yes:
                self._reset(proposed, proposed_dataset)
            else:
                self.notify(f"The change to {said} will apply at the next reset (r).")
                self._show_pending()

        if branch:
            question = (f"Switch {what} from here, keeping the weights (a branch)? (n: the change waits for the "
                        "next reset, r)")
        else:
            question = (f"Changing {what} needs new weights. Reset the run now? (n keeps training the current "
                        "model; the change waits for the next reset)")
        self.push_screen(ConfirmScreen(question), answer)

    def _optimizer_only(self, config: RunConfig) -> bool:
        """Whether ``config`` differs from the running one only in the optimizer's settings."""
        return only_optimizer_differs(self.session.config, config)

    def _load_data(self, config: RunConfig, overrides: dict, what: str) -> None:
        name = Path(config.data.dataset).name
        status = self.query_one(StatusLine)
        status.loading = f"loading {name}…"
        status.show(self._snapshot)
        self._data_worker(config, overrides, what)

    @work(thread=True, exclusive=True, group="data-load", exit_on_error=False)
    def _data_worker(self, config: RunConfig, overrides: dict, what: str) -> None:
        """Load the data of ``config`` off the event loop; touches no widget, posts DataLoadProgress and
        DataLoaded. A newer load cancels this one (exclusive): its result is then dropped."""
        worker = get_current_worker()
        name = Path(config.data.dataset).name

        shown = ("", -1)

        def progress(stage: str, fraction: float) -> None:
            nonlocal shown
            # Each message costs the event loop a redraw of the status line: send only what changes it.
            if not worker.is_cancelled and (stage, round(fraction * 100)) != shown:
                shown = (stage, round(fraction * 100))
                self.post_message(DataLoadProgress(name, stage, fraction))

        started = time.perf_counter()
        dataset, error = None, None
        try:
            with loading_progress(progress):
                dataset = TrainingSession.load_data(config)
        except DataError as refused:
            error = refused
        except MemoryError:
            error = DataError(f"not enough memory to load {name}")
        if not worker.is_cancelled:
            self.post_message(DataLoaded(config, overrides, what, dataset, error, time.perf_counter() - started))

    @on(DataLoadProgress)
    def data_load_progress(self, event: DataLoadProgress) -> None:
        status = self.query_one(StatusLine)
        if status.loading:  # (a late report of a load already answered says nothing)
            stage = event.stage if event.name in event.stage else f"loading {event.name}: {event.stage}"
            status.loading = f"{stage} {event.fraction:.0%}"
            status.show(self._snapshot)

    @on(DataLoaded)
    def data_loaded(self, event: DataLoaded) -> None:
        status = self.query_one(StatusLine)
        status.loading = ""
        status.show(self._snapshot)
        if event.error is not None:
            self._refuse(event.config, event.error)
            return
        try:  # edits made while it loaded (the model, say) stay; the data is what was loaded
            config = apply_overrides(self.config, event.overrides)
        except ConfigError as error:
            self.notify(str(error), title="not applied", severity="error", timeout=8)
            return
        same_data = config.data == event.config.data and config.training.seed == event.config.training.seed
        if event.seconds >= 1:
            self.notify(f"{event.dataset.name}: {len(event.dataset.x_train) + len(event.dataset.x_val):,} rows "
                        f"loaded in {event.seconds:.1f} s")
        self._warn_about(event.dataset)
        self._apply_or_ask(config, event.dataset if same_data else None, event.what)

    def _warn_about(self, dataset: Dataset) -> None:
        """Say once per dataset what the loader noticed (a constant column, an ID-like column): worth knowing,
        not a reason to refuse the data."""
        if dataset.warnings and dataset is not self._warned_for:
            self._warned_for = dataset
            self.notify("\n".join(dataset.warnings), title="about this data", severity="warning", timeout=12)

    def _show_pending(self) -> None:
        """Say on the Model tab when what it shows is not what trains (a change answered "no", waiting for r)."""
        s = self.session
        live = {"optimizer.lr": s.lr, "training.epochs": s.config.training.epochs}  # these apply without a reset
        pending = apply_overrides(self.config, live) != apply_overrides(s.config, live)
        notice = self.query_one("#pending-change", Static)
        notice.display = pending
        if pending:
            widths = " → ".join(map(str, [s.dataset.n_features, *s.config.model.hidden, s.output_width()]))
            notice.update(f"Shown here, not applied yet: the run still trains its own model ({widths}, "
                          f"{s.config.optimizer.name}). r resets and applies these settings.")

    # -- robustness --------------------------------------------------------------------------------------------

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "training" and event.state is WorkerState.ERROR:
            self.notify(f"training stopped: {event.worker.error}", severity="error", timeout=10)
            self.session.pause()
            self._start_training_loop()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own entries (Theme, Keys, Screenshot, ...), then one for each action of the app's keys (except
        Textual's Quit, which ours replaces: it names q and ^q)."""
        ours = list(self.binding_commands())
        replaced = {command.callback for command in ours}
        yield from (command for command in super().get_system_commands(screen) if command.callback not in replaced)
        yield from ours

    def binding_commands(self) -> Iterator[SystemCommand]:
        """A palette entry for each action of the app's keys that the help lists, built from its bindings: titled
        by ``palette_title``, its help text the keys as the Footer shows them and, unless the title holds it, the
        key's explanation ("g: gradient check: the backward pass ...")."""
        by_action: dict[str, list[Binding]] = {}
        for binding in self.BINDINGS:
            binding = binding if isinstance(binding, Binding) else Binding(*binding)
            if explained(binding) and binding.action not in NOT_IN_PALETTE:
                by_action.setdefault(binding.action, []).append(binding)
        for action, bindings in by_action.items():
            title = palette_title(bindings[0])
            keys = " / ".join(shown_key(binding, self.get_key_display) for binding in bindings)
            explanation = explained(bindings[0])
            help_text = keys if explanation.lower() in title.lower() else f"{keys}: {explanation}"
            _namespace, name, parameters = parse_action(action)
            method = getattr(self, f"action_{name}")
            yield SystemCommand(title, help_text, partial(method, *parameters) if parameters else method)


def loss_title(units: LossUnits) -> str:
    """The loss chart's title: "loss by step", or for regression "loss (MSE, data units) by step"."""
    return f"{units.label} by step"


def _compact_summary(session: TrainingSession) -> str:
    """The model as short lines for the side pane: ' 1 2->64  192 p' and '   relu' (numbered as on every tab)."""
    lines = []
    for number, layer in zip(layer_numbers(session.model.layers), session.model.layers):
        if layer.params:
            lines.append(f"{number:>2} {layer.in_features}->{layer.out_features}  {layer.n_params:,} p")
        else:
            lines.append(f"   {type(layer).__name__.lower()}")
    lines.append(f"total {session.model.n_params:,} parameters")
    return "\n".join(lines)


def checkpoint_path(text: str) -> Path:
    """The file a typed checkpoint name means: ``~`` expanded, ``.npz`` added when it has no suffix."""
    path = Path(text.strip()).expanduser()
    if path.suffix or not path.name or path.is_dir():  # is_dir may raise OSError (a name too long)
        return path
    return path.with_name(path.name + ".npz")
