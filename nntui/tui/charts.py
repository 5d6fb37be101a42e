"""Line charts of training metrics, drawn with plotext inside Textual.

Drawing a plot is the most expensive thing the app does, so this module keeps it cheap:

- `bucket_mean` averages a long history into at most a couple of points per terminal column
  (braille and half-block markers show two dots per column, so more points only cost time);
- `MetricChart` redraws only when its data, its size or its theme changed since the last draw.
  Calling `set_series` again with the same numbers costs a comparison, not a redraw.

Every chart in the app goes through `MetricChart`, so they all look and behave alike.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

SeriesKind = Literal["line", "scatter"]

# Named ANSI colours: the terminal's own palette, so they read well in 16, 256 and true colour.
SERIES_COLORS = ("cyan+", "orange+", "magenta+", "green+", "red+", "blue+")
MARKER_COLOR = "gray"
EMPTY_MESSAGE = "no data yet"

try:  # plotext's own tick labels, so ordinary axes look as plotext draws them (a private helper of plotext 5)
    from plotext._utility import get_labels as plotext_labels
except ImportError:  # pragma: no cover - another plotext: labels of our own, as short
    def plotext_labels(values):
        return [f"{v:.4g}" for v in values]

Y_TICKS = 7
"""Tick labels on the y axis: plotext's own default number."""
X_TICKS = 5
"""Tick labels on the x axis, evenly spaced over the x range (plotext's own default number)."""
Y_LABEL_WIDTH = 5
"""The y tick labels are padded to at least this width, so charts stacked with one x range line up."""
#: ANSI colour names for plotext's colour codes 0-15 (plotext's "orange" is ANSI yellow), for legends in text.
ANSI_NAMES = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
MAX_PLAIN_LABEL = 8
"""Longest y tick label written out in full (like "1000.00"); longer ones go to scientific notation."""


@dataclass(frozen=True, eq=False)
class Series:
    """One named curve: `ys[i]` measured at `xs[i]` (real step or epoch numbers)."""

    label: str
    xs: Sequence[float] | np.ndarray
    ys: Sequence[float] | np.ndarray
    color: str | None = None
    kind: SeriesKind = "line"


def ansi_color(plotext_color: str) -> str:
    """A plotext colour name ("cyan+", "orange") as Textual names the same terminal colour ("ansi_bright_cyan")."""
    from plotext._dict import color_codes

    code = color_codes.get(plotext_color, 7)
    return f"ansi_{'bright_' if code >= 8 else ''}{ANSI_NAMES[code % 8]}"


def bucket_mean(xs, ys, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Average a series into at most `n_buckets` equal-width buckets over the range of `xs`.

    Each bucket becomes one point: the mean x and the mean y of the points that fall in it, so the
    x values stay real step numbers. Points whose x or y is NaN (or infinite) are skipped, empty buckets
    are dropped, and a series that already has no more than `n_buckets` points comes back unchanged
    (minus the skipped points).

    xs, ys: (n,) array-likes of the same length.  Returns (bx, by): float64 arrays of equal length.
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    x = np.asarray(xs, dtype=np.float64).ravel()
    y = np.asarray(ys, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"xs and ys must have the same length, got {x.size} and {y.size}")
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size <= n_buckets:
        return x, y

    lo, span = x.min(), x.max() - x.min()
    if span == 0:
        return np.array([lo]), np.array([y.mean()])
    # Bucket b holds lo + b*width <= x < lo + (b+1)*width; the largest x joins the last bucket.
    bucket = np.minimum(((x - lo) / span * n_buckets).astype(np.int64), n_buckets - 1)
    counts = np.bincount(bucket, minlength=n_buckets)
    sum_x = np.bincount(bucket, weights=x, minlength=n_buckets)
    sum_y = np.bincount(bucket, weights=y, minlength=n_buckets)
    filled = counts > 0
    return sum_x[filled] / counts[filled], sum_y[filled] / counts[filled]


def y_axis_range(values, *, ylog: bool = False) -> tuple[float, float]:
    """The y axis limits that fit `values`, always lower < upper, in axis units (exponents on a log axis).

    plotext's own choice for data without a spread, (0.5 * v, 1.5 * v), turns the axis upside down when v
    is negative, which on a log axis means any constant value below 1 (a single point, say): its exponent
    is negative. Here a constant gets half its size either side on a linear axis (as plotext does for a
    positive one; -1..1 around zero) and a decade either side on a log axis (as plotext does for 1).
    Values that differ only by rounding count as constant.

    values: a non-empty array-like of finite numbers, positive when `ylog`.
    """
    axis = np.asarray(values, dtype=np.float64)
    if ylog:
        axis = np.log10(axis)
    lower, upper = float(axis.min()), float(axis.max())
    tolerance = 1e-9 if ylog else 1e-9 * max(abs(lower), abs(upper))
    if upper - lower > tolerance:
        return lower, upper
    centre = (lower + upper) / 2
    if ylog:
        return centre - 1.0, centre + 1.0
    if centre == 0:
        return -1.0, 1.0
    return centre - abs(centre) / 2, centre + abs(centre) / 2


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Short labels for increasing tick values: plotext's own, unless they grow too long for an axis.

    Ordinary values keep the labels plotext prints itself ("0.25", "1000.0"). When those would be longer than
    MAX_PLAIN_LABEL characters (a diverged loss of 2e21, gradients of 1e-9) and scientific notation is shorter,
    the labels are like "2.1e+21": two significant digits, or more when needed to tell neighbours apart.
    A tick that misses zero only by rounding is labelled "0".
    """
    values = [float(t) for t in ticks]
    plain = plotext_labels(values)
    if not values or max(map(len, plain)) <= MAX_PLAIN_LABEL:
        return plain
    # Evenly spaced ticks across zero can miss it by a rounding error (1e+05 on an axis of 1e+21).
    near_zero = 1e-9 * (max(values) - min(values)) if min(values) < 0 < max(values) else 0.0
    for digits in range(1, 16):
        scientific = ["0" if abs(v) <= near_zero else f"{v:.{digits}e}" for v in values]
        if all(a != b for a, b in itertools.pairwise(scientific)):
            break
    return scientific if max(map(len, scientific)) < max(map(len, plain)) else plain


@dataclass(frozen=True, eq=False)
class _Chart:
    """Everything a draw depends on apart from the widget's size: what `set_series` received."""

    series: tuple[Series, ...]
    markers: tuple[float, ...]
    marker_label: str
    xlabel: str
    ylog: bool
    ylim: tuple[float, float] | None
    xlim: tuple[float, float] | None = None
    xticks: bool = True
    legend: bool = True

    def options(self) -> tuple:
        return (self.markers, self.marker_label, self.xlabel, self.ylog, self.ylim, self.xlim, self.xticks,
                self.legend)

    def same_as(self, other: _Chart) -> bool:
        if self.options() != other.options() or len(self.series) != len(other.series):
            return False
        return all(
            (a.label, a.color, a.kind) == (b.label, b.color, b.kind)
            and np.array_equal(a.xs, b.xs, equal_nan=True)
            and np.array_equal(a.ys, b.ys, equal_nan=True)
            for a, b in zip(self.series, other.series)
        )


_NO_CHART = _Chart((), (), "", "", False, None)


def _frozen_copy(values) -> np.ndarray:
    """A read-only float64 copy, so a caller appending to its list later cannot change our data."""
    array = np.array(values, dtype=np.float64).ravel()
    array.flags.writeable = False
    return array


class MetricChart(PlotextPlot):
    """A plotext chart of one or more metric series against step (or epoch).

    Give it data with `set_series`; it draws on its own `self.plt` (never the global plotext module),
    buckets every series to about two points per column and redraws only when something changed.
    `draw_count` counts the real draws, which is what tests and benchmarks look at.
    """

    POINTS_PER_COLUMN: ClassVar[float] = 2.0
    """Bucketed points per terminal column: braille shows 2 dots per column, so more only cost time.
    Drawing time grows with the length of the drawn line, so very noisy series render faster at 1."""

    DEFAULT_CSS = """
    MetricChart {
        width: 1fr;
        height: 1fr;
        min-height: 6;
    }
    MetricChart.-empty {
        content-align: center middle;
        color: $text-muted;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        # The widget's theme reactive, not self.plt.theme(): PlotextPlot.render re-applies the
        # reactive before every build. "clear" leaves canvas and axes to the terminal's colours
        # (and turns plotext's output into text ~10x faster than the true-colour "auto" theme).
        self.theme = "clear"
        self.add_class("-empty")
        self._chart = _NO_CHART
        self._empty = True
        self.empty_message = EMPTY_MESSAGE
        """What the chart says while it has nothing to draw."""
        self.data_version = 0
        """Goes up by one each time `set_series` receives data different from the last."""
        self.draw_count = 0
        """How many times the plot was actually built (not served from the cache)."""
        self.last_draw_seconds = 0.0
        """How long the last real draw took (the app spaces its redraws by it)."""
        self._drawn_key: tuple | None = None
        self._drawn: RenderResult = ""

    def set_series(
        self,
        series: Sequence[Series],
        *,
        markers: Sequence[float] = (),
        marker_label: str = "",
        xlabel: str = "",
        ylog: bool = False,
        ylim: tuple[float, float] | None = None,
        xlim: tuple[float, float] | None = None,
        xticks: bool = True,
        legend: bool = True,
    ) -> bool:
        """Show these series. Returns True when the data changed (and a redraw was scheduled).

        Call it from the UI thread (a timer, a message handler), as often as you like: identical data
        costs one comparison. The plot itself is built on the next repaint, at most once per change.

        markers: x positions of vertical lines (learning-rate changes, say), labelled `marker_label`
            under the x axis. ylog: logarithmic y axis; values <= 0 cannot be shown there and are skipped.
        ylim: (lower, upper) for the y axis in data units, or None to fit the data.
        xlim: (lower, upper) for the x axis, or None to fit the data: charts stacked above each other share one.
        xticks: False leaves the x axis without tick labels (a chart above another with the same x range).
        legend: False keeps the series names out of the plot, where they would cover data; ``legend_markup``
            gives them as text for a title instead.
        """
        chart = _Chart(
            series=tuple(
                Series(s.label, _frozen_copy(s.xs), _frozen_copy(s.ys), s.color, s.kind) for s in series
            ),
            markers=tuple(float(m) for m in markers),
            marker_label=marker_label,
            xlabel=xlabel,
            ylog=ylog,
            ylim=None if ylim is None else (float(ylim[0]), float(ylim[1])),
            xlim=None if xlim is None else (float(xlim[0]), float(xlim[1])),
            xticks=xticks,
            legend=legend,
        )
        if chart.ylim is not None and not chart.ylim[0] < chart.ylim[1]:
            raise ValueError(f"ylim must be (lower, upper) with lower < upper, got ylim={ylim}")
        if chart.xlim is not None and not chart.xlim[0] < chart.xlim[1]:
            raise ValueError(f"xlim must be (lower, upper) with lower < upper, got xlim={xlim}")
        if ylog and chart.ylim is not None and chart.ylim[0] <= 0:
            raise ValueError(f"a log axis needs positive limits, got ylim={ylim}")
        for s in chart.series:
            if s.xs.shape != s.ys.shape:
                raise ValueError(f"series {s.label!r}: {s.xs.size} x values but {s.ys.size} y values")
            if s.kind not in ("line", "scatter"):
                raise ValueError(f"series {s.label!r}: kind must be 'line' or 'scatter', got {s.kind!r}")
        if chart.same_as(self._chart):
            return False
        self._chart = chart
        self.data_version += 1
        self._empty = not any(self._visible(s)[0].size for s in chart.series)
        self.set_class(self._empty, "-empty")
        self.refresh()
        return True

    def clear(self) -> None:
        """Forget all data and show the empty message."""
        self.set_series([])

    def legend_markup(self) -> str:
        """The series as a one-line legend in Textual markup, each name in its colour: "━ train  ⠒ val"."""
        entries = []
        for index, series in enumerate(self._chart.series):
            if not series.label:
                continue
            color = series.color or SERIES_COLORS[index % len(SERIES_COLORS)]
            mark = "━" if series.kind == "line" else "⠒"
            entries.append(f"[{ansi_color(color)}]{mark} {series.label}[/]")
        return "  ".join(entries)

    def _visible(self, series: Series) -> tuple[np.ndarray, np.ndarray]:
        """The points that can be drawn: finite, and positive on a log axis."""
        keep = np.isfinite(series.xs) & np.isfinite(series.ys)
        if self._chart.ylog:
            keep &= series.ys > 0
        return series.xs[keep], series.ys[keep]

    def render(self) -> RenderResult:
        if self._empty:
            return Text(self.empty_message)
        key = (self.data_version, self.size, self.theme, self.app.theme)
        if key != self._drawn_key:
            started = time.perf_counter()
            self._draw()
            self._drawn = super().render()  # sizes the plot to the widget and builds it
            self._drawn_key = key
            self.draw_count += 1
            self.last_draw_seconds = time.perf_counter() - started
        return self._drawn

    def _draw(self) -> None:
        """Issue the plotext commands for the current data on a cleared figure.

        plotext's build() rewrites its stored data in place (it applies the log scale to it), so the
        figure must be refilled before every build, never built twice from the same commands.
        The y limits and tick labels are always set here, not left to plotext: see `y_axis_range` and
        `tick_labels` for what plotext gets wrong on its own.
        """
        chart, plt = self._chart, self.plt
        plt.clear_data()  # data, vertical lines and limits; axis settings stay, so set them all below
        plt.yscale("log" if chart.ylog else "linear")
        n_buckets = max(int(self.POINTS_PER_COLUMN * self.size.width), 2)
        x_lo, x_hi = np.inf, -np.inf
        drawn_ys = []
        for index, series in enumerate(chart.series):
            xs, ys = self._visible(series)
            if xs.size == 0:
                continue  # plotext fails on an empty series
            if chart.ylog:  # average in log space: a geometric mean suits values spanning decades
                bx, log_by = bucket_mean(xs, np.log10(ys), n_buckets)
                by = 10.0**log_by
            else:
                bx, by = bucket_mean(xs, ys, n_buckets)
            x_lo, x_hi = min(x_lo, bx.min()), max(x_hi, bx.max())
            drawn_ys.append(by)
            # Always an explicit colour: the "clear" theme's own sequence is the terminal's default colour.
            color = series.color or SERIES_COLORS[index % len(SERIES_COLORS)]
            draw = plt.plot if series.kind == "line" else plt.scatter
            label = series.label if chart.legend and series.label else None
            draw(bx.tolist(), by.tolist(), label=label, color=color, marker="braille")
        if chart.xlim is not None:
            x_lo, x_hi = chart.xlim
        # plotext widens the x axis to include every vertical line: draw only those over the data.
        markers = [x for x in chart.markers if x_lo <= x <= x_hi]
        for x in markers:
            plt.vline(x, MARKER_COLOR)
        xlabel = chart.xlabel
        if markers and chart.marker_label:  # the marker's legend entry lives under the x axis
            xlabel = f"{xlabel}   │ {chart.marker_label}"
        xlabel = xlabel.strip() or None
        plt.xlabel(xlabel)
        # Axes on the left and below only: the frame's top and right lines would cost a row and a column.
        plt.xaxes(True, False)
        plt.yaxes(True, False)
        self._set_x_axis(x_lo, x_hi)
        # plotext's canvas: the widget's height less the x axis line, its tick labels and the xlabel.
        canvas_rows = self.size.height - 1 - chart.xticks - (xlabel is not None)
        self._set_y_axis(np.concatenate(drawn_ys), canvas_rows)

    def _set_x_axis(self, lower: float, upper: float) -> None:
        """The x range and its ticks, set here so stacked charts given one ``xlim`` get the very same ones."""
        plt = self.plt
        if not lower < upper:  # one point: plotext's own choice, half its size either side
            lower, upper = y_axis_range([lower])
        plt.xlim(lower, upper)
        if not self._chart.xticks:
            plt.xticks([])  # no labels, and no row for them
            return
        ticks = np.linspace(lower, upper, X_TICKS).tolist()
        plt.xticks(ticks, plotext_labels(ticks))

    def _set_y_axis(self, ys: np.ndarray, canvas_rows: int) -> None:
        """Set the y limits and tick labels ourselves: plotext's own can be upside down or too long.

        The ticks are the ones plotext would choose (Y_TICKS evenly spaced in axis units), and where several
        fall on one row of a short chart only the last is kept, the one plotext itself would leave visible.
        That choice cannot be left to plotext: it stores given ticks through a set, so which one it would
        draw last, on top, changes from run to run.

        ys: every y value drawn.  canvas_rows: the plot's height in rows, without its frame and x axis labels.
        """
        chart, plt = self._chart, self.plt
        if chart.ylim is not None:  # plotext takes log-axis limits as exponents
            lower, upper = (math.log10(v) for v in chart.ylim) if chart.ylog else chart.ylim
        else:
            lower, upper = y_axis_range(ys, ylog=chart.ylog)
        plt.ylim(lower, upper)
        ticks = np.linspace(lower, upper, Y_TICKS)
        if chart.ylog:
            ticks = 10.0**ticks
        ticks = ticks.tolist()
        labels = [label.rjust(Y_LABEL_WIDTH) for label in tick_labels(ticks)]
        # The row plotext puts each tick on (as its get_matrix_data does), and the last tick of each row.
        axis_ticks = [math.log10(t) for t in ticks] if chart.ylog else ticks
        scale = (max(canvas_rows, 1) - 1) / (upper - lower)
        rows = [math.floor(round(0.5 + scale * (t - lower), 8)) for t in axis_ticks]
        last = [i for i in range(Y_TICKS) if i == Y_TICKS - 1 or rows[i + 1] != rows[i]]
        plt.yticks([ticks[i] for i in last], [labels[i] for i in last])
