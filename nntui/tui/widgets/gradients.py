"""Per-layer gradient health as a small text table: cheap to redraw a few times a second while training."""

from __future__ import annotations

import math

from textual.widgets import Static

from nntui.train.insight.numbering import linear_number, stats_label
from nntui.train.session import LayerStats

HEADERS = ("layer", "|dW|", "|W|", "upd/W", "dead", "sat")


def _sci(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1e}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def layer_row(position: int, stats: LayerStats) -> tuple[str, ...]:
    """The row of the ``position``-th Linear layer (0 = nearest the input), numbered as every tab numbers it."""
    return (stats_label(position, stats), _sci(stats.grad_norm_w), _sci(stats.weight_norm),
            _sci(stats.update_ratio), _share(stats.dead_fraction), _share(stats.saturation))


#: The columns a narrow side pane keeps: layer, |dW|, upd/W, and dead (ReLU) or saturated (Tanh/Sigmoid) units.
COMPACT_HEADERS = ("layer", "|dW|", "upd/W", "dead/sat")


def compact_row(position: int, stats: LayerStats) -> tuple[str, ...]:
    """The side pane's row: the layer as its number and activation ("2 relu", "3 out"); the shapes are beside it."""
    _name, grad, _weight, ratio, dead, saturation = layer_row(position, stats)
    short = {None: "out", "leaky_relu": "leaky"}.get(stats.activation, stats.activation)
    return (f"{linear_number(position)} {short}", grad, ratio,
            dead if stats.dead_fraction is not None else saturation)


def format_table(layers: tuple[LayerStats, ...], compact: bool = False) -> str:
    """The rows under a header, columns aligned (numbers right-aligned)."""
    headers, row = (COMPACT_HEADERS, compact_row) if compact else (HEADERS, layer_row)
    rows = [headers, *(row(position, stats) for position, stats in enumerate(layers))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
    return "\n".join(lines)


class GradientTable(Static):
    """One row per Linear layer: gradient norm, weight norm, update-to-weight ratio, dead and saturated units.

    A plain text table rather than a DataTable: it is display-only and redrawn while training, and a DataTable
    costs ~10 ms a redraw where this costs well under one.
    """

    DEFAULT_CSS = """
    GradientTable { height: auto; padding: 0 1; }
    """

    def __init__(self, *, compact: bool = False, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.compact = compact  # fewer columns, for the Train tab's side pane
        self._rows = -1
        self.text = ""

    def show(self, layers: tuple[LayerStats, ...]) -> None:
        self.text = format_table(layers, self.compact)
        self.update(self.text, layout=len(layers) != self._rows)  # re-lay out only when the row count changes
        self._rows = len(layers)
