"""The learning-rate finder as a screen: the range test's curve, its suggestion marked, ``enter`` adopts it.

The test runs in a worker thread on copies made when the screen opens (``lrfind.setup_from``), so the run itself is
untouched and the app stays responsive while it works. The screen returns the adopted rate (or None).
"""

from __future__ import annotations

import math
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from nntui.train.lrfind import LR_END, LR_START, RangeTest, run_range_test, setup_from
from nntui.tui.charts import MetricChart, Series
from nntui.tui.screens import BoxedScreen


class RateChart(MetricChart):
    """The range test's chart: x is log10(rate), labelled as rates (1e-06, 0.001, 1) at whole decades."""

    def _draw(self) -> None:
        super()._draw()
        xs = [x for series in self._chart.series for x in series.xs]
        if xs:
            decades = range(math.floor(min(xs)), math.ceil(max(xs)) + 1, 2)
            self.plt.xticks(list(decades), [f"{10.0**d:g}" for d in decades])


class LRFindScreen(BoxedScreen[float | None]):
    """The range test of the current model; enter uses the suggested rate, escape keeps the current one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "adopt", "Use it"),
        Binding("escape,q,l", "close", "Close"),
    ]

    DEFAULT_CSS = """
    LRFindScreen > #lrfind-box { width: 90%; max-width: 100; height: 90%; max-height: 30; min-height: 12; }
    LRFindScreen #lrfind-chart { height: 1fr; min-height: 6; }
    LRFindScreen .lrfind-text { height: auto; }
    """

    def __init__(self, trainer, *, current_lr: float, seed: int = 0) -> None:
        super().__init__()
        self._setup = setup_from(trainer)  # copied now, between two steps of the run
        self._current_lr = current_lr
        self._seed = seed
        self.result: RangeTest | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="lrfind-box", classes="modal-box"):
            yield Static(f"Learning-rate range test: one batch per rate, {LR_START:g} to {LR_END:g}, on a copy of "
                         "the model (the run is untouched)", classes="lrfind-text", markup=False)
            chart = RateChart(id="lrfind-chart")
            chart.empty_message = "measuring..."
            yield chart
            yield Static("", id="lrfind-verdict", classes="lrfind-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.measure()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def measure(self) -> None:
        result = run_range_test(self._setup, seed=self._seed)
        self.app.call_from_thread(self.show_result, result)

    def show_result(self, result: RangeTest) -> None:
        """Draw the smoothed loss against log10(rate) and say what to do with the suggestion."""
        self.result = result
        chart = self.query_one("#lrfind-chart", MetricChart)
        if not result.lrs:
            chart.empty_message = "the loss was not finite even at the smallest rate"
            chart.clear()
        else:
            xs = [math.log10(lr) for lr in result.lrs]
            markers = [math.log10(result.suggested_lr)] if result.suggested_lr else []
            chart.set_series([Series("smoothed loss", xs, result.losses)], markers=markers,
                             marker_label="suggested", xlabel="learning rate (log scale)")
        verdict = self.query_one("#lrfind-verdict", Static)
        if result.suggested_lr is None:
            verdict.update(f"No suggestion: {result.note}. Escape keeps lr {self._current_lr:g}.")
        else:
            verdict.update(f"Suggested learning rate {result.suggested_lr:.2g}, where the loss falls fastest "
                           f"(now {self._current_lr:g}). Enter uses it from the next batch; escape keeps yours.")

    def action_adopt(self) -> None:
        if self.result is not None and self.result.suggested_lr is not None:
            self.dismiss(float(f"{self.result.suggested_lr:.2g}"))

    def action_close(self) -> None:
        self.dismiss(None)
