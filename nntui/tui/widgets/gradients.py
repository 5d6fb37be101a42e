"""Per-layer gradient health: a table of the latest numbers and, on the Gradients tab, a log-scale chart."""

from __future__ import annotations

import math

from textual.widgets import DataTable

from nntui.train.session import LayerStats

COLUMNS = [("layer", "layer"), ("|dW|", "grad"), ("|W|", "weight"), ("upd/W", "ratio"), ("dead", "dead"),
           ("sat", "sat")]


def _sci(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1e}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def layer_row(stats: LayerStats) -> tuple[str, ...]:
    return (stats.name, _sci(stats.grad_norm_w), _sci(stats.weight_norm), _sci(stats.update_ratio),
            _share(stats.dead_fraction), _share(stats.saturation))


class GradientTable(DataTable):
    """One row per Linear layer: gradient norm, weight norm, update-to-weight ratio, dead and saturated units."""

    DEFAULT_CSS = """
    GradientTable { height: auto; max-height: 100%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="none", zebra_stripes=False, show_cursor=False, **kwargs)
        self._layer_keys: tuple[str, ...] = ()

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, layers: tuple[LayerStats, ...]) -> None:
        keys = tuple(stats.name for stats in layers)
        if keys != self._layer_keys:  # the model changed: rebuild the rows
            self.clear()
            for stats in layers:
                self.add_row(*layer_row(stats), key=stats.name)
            self._layer_keys = keys
            return
        for stats in layers:
            for (_label, column), value in zip(COLUMNS, layer_row(stats)):
                self.update_cell(stats.name, column, value, update_width=True)
