"""The decision boundary view: the plane of a 2-D dataset coloured by the class the network predicts there.

Each text cell shows two grid cells with the upper half block ``▀``: its foreground is the upper cell's class
colour, its background the lower cell's, so a terminal of ``width x height`` cells draws a grid of
``width x 2 * height``. Where the network is less than ``SURE_ABOVE`` sure of its class the colour is darker.
The training points sit on top, a ``•`` in the colour of their true class, or a ``×`` where the network gets the
point wrong right now. All numbers come from ``nntui.train.insight.boundary`` (the session's own model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from nntui.train.insight.boundary import Grid, TrainingPoints, applies, decision_grid, training_points
from nntui.train.session import Snapshot, TrainingSession
from nntui.tui.views.base import InsightView


@dataclass(frozen=True)
class ClassColours:
    """How one class is drawn: its region where the network is sure, where it is unsure, and its points.

    Each colour is close enough to a standard terminal colour that a 16-colour terminal still shows the
    class's hue (the sure/unsure difference fades there), and the points are the bright version of it.
    """

    sure: str
    unsure: str
    point: str


#: Six hues that stay apart in 16, 256 and true colour; classes beyond six reuse them in order.
PALETTE: tuple[ClassColours, ...] = (
    ClassColours(sure="#b01818", unsure="#7e1111", point="#ff5f5f"),  # red
    ClassColours(sure="#2038b8", unsure="#172884", point="#6f8fff"),  # blue
    ClassColours(sure="#189618", unsure="#116c11", point="#5feb5f"),  # green
    ClassColours(sure="#a08c00", unsure="#736400", point="#ffeb5f"),  # yellow
    ClassColours(sure="#a018a0", unsure="#731173", point="#ff6eff"),  # magenta
    ClassColours(sure="#00a0a0", unsure="#007878", point="#5ff0f0"),  # cyan
)
#: Below this probability of its chosen class, a grid cell is drawn in the darker "unsure" colour.
SURE_ABOVE = 0.75
HALF_BLOCK = "▀"
POINT = "•"
WRONG_POINT = "×"
NAME_WIDTH = 12  # class names longer than this are cut in the legend


def class_colours(class_index: int) -> ClassColours:
    return PALETTE[class_index % len(PALETTE)]


class BoundaryPlot(Widget):
    """Draws a ``Grid`` and the training points with half blocks, one grid cell per half of a text cell.

    The plot only draws: the view computes the grid at ``size.width x 2 * size.height`` and hands it over with
    ``show``. On a resize it posts ``BoundaryPlot.Resized`` so the view can compute a grid of the new size.
    """

    DEFAULT_CSS = """
    BoundaryPlot {
        width: 1fr;
        height: 1fr;
    }
    """

    @dataclass
    class Resized(Message):
        plot: BoundaryPlot

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Strip] = []
        self._styles: dict[tuple[str, str], Style] = {}

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized(self))

    def clear(self) -> None:
        self._lines = []
        self.refresh()

    def show(self, grid: Grid, points: TrainingPoints) -> None:
        """Turn the grid and the points into one strip per text row (grid rows 2r and 2r + 1)."""
        upper_code, lower_code = _region_codes(grid)
        glyphs = _point_glyphs(grid, points)
        self._lines = [self._line(upper_code[r], lower_code[r], glyphs.get(r, {}))
                       for r in range(len(upper_code))]
        self.refresh()

    def _line(self, upper: np.ndarray, lower: np.ndarray, glyphs: dict[int, tuple[str, str, str]]) -> Strip:
        segments: list[Segment] = []
        run_text, run_style = "", None
        for column, (top, bottom) in enumerate(zip(upper.tolist(), lower.tolist())):
            if column in glyphs:
                char, colour, background = glyphs[column]
            else:
                char, colour, background = HALF_BLOCK, _region_colour(top), _region_colour(bottom)
            style = self._style(colour, background)
            if style is run_style:
                run_text += char
                continue
            if run_text:
                segments.append(Segment(run_text, run_style))
            run_text, run_style = char, style
        if run_text:
            segments.append(Segment(run_text, run_style))
        return Strip(segments, len(upper))

    def _style(self, colour: str, background: str) -> Style:
        key = (colour, background)
        if key not in self._styles:
            self._styles[key] = Style(color=colour, bgcolor=background)
        return self._styles[key]

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width)
        return self._lines[y].crop_extend(0, width, None)

    @property
    def text(self) -> str:
        """The characters drawn, one line per text row (for tests and debugging)."""
        return "\n".join(strip.text for strip in self._lines)


def _region_codes(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Per grid cell an int code = 2 * class + (1 if sure), split into the upper and lower rows of each text row."""
    code = 2 * grid.classes + (grid.confidence >= SURE_ABOVE)
    if len(code) % 2:  # an odd number of grid rows: repeat the last one under itself
        code = np.vstack([code, code[-1:]])
    return code[0::2], code[1::2]


def _region_colour(code: int) -> str:
    colours = class_colours(code // 2)
    return colours.sure if code % 2 else colours.unsure


def _point_glyphs(grid: Grid, points: TrainingPoints) -> dict[int, dict[int, tuple[str, str, str]]]:
    """{text row: {column: (glyph, colour, background)}}, one point per text cell.

    Where several points share a text cell, a wrongly classified one wins (it is what a learner looks for);
    among equals the one listed last in the data.
    """
    on_grid = np.flatnonzero(points.rows >= 0)
    wrong = points.wrong[on_grid]
    order = on_grid[np.lexsort((on_grid, wrong))]  # right ones first, wrong ones last: later ones win
    code = 2 * grid.classes + (grid.confidence >= SURE_ABOVE)
    glyphs: dict[int, dict[int, tuple[str, str, str]]] = {}
    for i in order.tolist():
        row, column = int(points.rows[i]), int(points.columns[i])
        is_wrong = bool(points.true_classes[i] != points.predicted[i])
        glyphs.setdefault(row // 2, {})[column] = (
            WRONG_POINT if is_wrong else POINT,
            class_colours(int(points.true_classes[i])).point,
            _region_colour(int(code[row, column])),
        )
    return glyphs


class BoundaryView(InsightView):
    """Which class the network predicts over the plane of a 2-D dataset, with the training points on top."""

    TITLE = "Boundary"
    EXPLANATION = "Which class the network predicts where; dots: training points, by true class."

    DEFAULT_CSS = """
    BoundaryView {
        height: 1fr;
    }
    BoundaryView > #boundary-explanation {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    BoundaryView > #boundary-legend {
        height: auto;
        max-height: 3;
        padding: 0 1;
    }
    BoundaryView > #boundary-reason {
        display: none;
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        text-align: center;
        padding: 0 2;
    }
    BoundaryView.-not-applicable > #boundary-reason {
        display: block;
    }
    BoundaryView.-not-applicable > BoundaryPlot,
    BoundaryView.-not-applicable > #boundary-legend {
        display: none;
    }
    """

    def __init__(self, *, show_explanation: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_explanation = show_explanation
        self._session: TrainingSession | None = None
        self._snapshot: Snapshot | None = None
        self._drawn_key: tuple | None = None
        self._drawn_for: tuple = ()  # the model and data drawn last, kept so their ids stay unique
        #: The grid and the training points drawn last (None before the first drawing or when not applicable).
        self.grid: Grid | None = None
        self._points: TrainingPoints | None = None
        #: How many grids were computed (the skip-when-unchanged rule is tested with it).
        self.compute_count = 0

    def compose(self) -> ComposeResult:
        explanation = Static(self.EXPLANATION, id="boundary-explanation", markup=False)
        explanation.display = self.show_explanation
        yield explanation
        yield BoundaryPlot(id="boundary-plot")
        yield Static(" \n ", id="boundary-legend", markup=False)  # its usual two lines, so the plot keeps its size
        yield Static("", id="boundary-reason", markup=False)

    def not_applicable(self, session: TrainingSession) -> str | None:
        return applies(session)

    def update_view(self, session: TrainingSession, snapshot: Snapshot) -> None:
        """Draw the session's current decision grid, unless nothing changed since the last drawing."""
        self._session, self._snapshot = session, snapshot
        self._redraw()

    @on(BoundaryPlot.Resized)
    def _plot_resized(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        session = self._session
        if session is None or not self.is_mounted:
            return
        try:
            reason = self.not_applicable(session)
            if reason is not None:
                self._show_reason(reason)
                return
            self.remove_class("-not-applicable")
            plot = self.query_one(BoundaryPlot)
            width, height = plot.size.width, plot.size.height
            if width < 1 or height < 1:
                return  # not laid out yet (or hidden): the next resize draws
            key = (id(session.model), id(session.dataset), session.step_count, session.state, width, height)
            if key != self._drawn_key:
                self.grid = decision_grid(session, columns=width, rows=2 * height)
                self._points = training_points(session, self.grid)
                self.compute_count += 1
                plot.show(self.grid, self._points)
                self._drawn_key, self._drawn_for = key, (session.model, session.dataset)
            self._show_legend(session)
        except Exception as error:  # noqa: BLE001 - a view must never take the app down: say what went wrong
            self._drawn_key = None
            self._show_reason(f"could not draw the decision boundary: {error}")

    def _show_reason(self, reason: str) -> None:
        self.add_class("-not-applicable")
        self.query_one(BoundaryPlot).clear()
        self._drawn_key, self.grid, self._points = None, None, None
        sentence = reason[:1].upper() + reason[1:]
        self.query_one("#boundary-reason", Static).update(sentence if sentence.endswith(".") else sentence + ".")

    def _show_legend(self, session: TrainingSession) -> None:
        legend = Text()
        for index, name in enumerate(session.dataset.class_names):
            colours = class_colours(index)
            short = name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 1] + "…"
            legend.append("██", Style(color=colours.sure))
            legend.append(f" {short}  ")
        legend.append(f"darker: under {SURE_ABOVE:.0%} sure\n")
        legend.append(POINT, Style(bold=True))
        legend.append(" training point  ")
        legend.append(WRONG_POINT, Style(bold=True))
        points = self._points
        if points is not None:
            legend.append(f" wrong now: {int(points.wrong.sum())} of {len(points.wrong)}  ")
        legend.append(_validation_text(self._snapshot))
        self.query_one("#boundary-legend", Static).update(legend)


def _validation_text(snapshot: Snapshot | None) -> str:
    record = snapshot.last_epoch if snapshot is not None else None
    if record is None:
        return "val acc: after the first epoch"
    if not np.isfinite(record.val_accuracy):
        return f"val acc: none (no validation set), epoch {record.epoch}"
    return f"val acc {record.val_accuracy:.1%} (epoch {record.epoch})"


__all__ = ["PALETTE", "SURE_ABOVE", "BoundaryPlot", "BoundaryView", "ClassColours", "class_colours"]
