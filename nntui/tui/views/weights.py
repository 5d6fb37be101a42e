"""The Weights tab: one Linear layer's W, its gradient dL/dW and its last update, drawn as heatmaps.

Each number becomes a colour on a diverging scale: blue below 0, white at 0, red above, symmetric around 0 and
scaled to the largest |value| shown (printed under the map). A text cell holds two matrix rows: the upper half
block ``▀`` takes the top number's colour as its foreground and the bottom number's as its background. Matrices
too big for the space are averaged in blocks (``downsample``), and the view says so.

Colours are RGB; the terminal driver turns them into the nearest of 256 or 16 colours where needed, and the
ordering blue - white - red survives that.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.content import Content

from nntui.train.insight.numbering import linear_number, stats_label
from nntui.train.insight.weights import downsample, layer_matrices, linear_layers
from nntui.train.session import Snapshot, TrainingSession
from nntui.tui.views.base import InsightView

#: Colour steps on each side of 0 (so 2 * LEVELS + 1 colours in all).
LEVELS = 5
NEGATIVE = (30, 60, 200)  # blue
ZERO = (247, 247, 247)  # near white
POSITIVE = (200, 30, 50)  # red
NOT_A_NUMBER = (128, 128, 128)  # grey: NaN or infinity
GAP = 2  # columns between two heatmaps side by side
MIN_PANEL_WIDTH = 18  # narrower than 3 of these (below 58 columns): the heatmaps are stacked instead
VIEW_HEADER_LINES = 3  # the explanation, the layer line and the down-sampling line
PANEL_HEADER_LINES = 3  # side by side: title, formula, a note; then the map, then the scale line
MAX_STRETCH = 4  # a small matrix's numbers are drawn as blocks of at most this many cells a side


def _tint(colour: tuple[int, int, int], level: int) -> Color:
    """Level k of LEVELS: white mixed with ``colour`` in the share sqrt(k / LEVELS).

    The square root leaves white only to the numbers nearest 0, so small weights still show their sign, also when
    the terminal has only 16 colours (there, levels 2 to 5 stay blue or red; a linear mix turned them grey).
    """
    share = math.sqrt(level / LEVELS)
    return Color.from_rgb(*(round(z + (c - z) * share) for z, c in zip(ZERO, colour)))


#: PALETTE[LEVELS + k] is the colour of level k, for k in -LEVELS..LEVELS; PALETTE[-1] is for NaN.
PALETTE: list[Color] = [
    *(_tint(NEGATIVE, -k) for k in range(-LEVELS, 0)),
    *(_tint(POSITIVE, k) for k in range(LEVELS + 1)),
    Color.from_rgb(*NOT_A_NUMBER),
]


def colour_levels(matrix: np.ndarray, scale: float) -> np.ndarray:
    """Index into PALETTE for each number: value / scale rounded to one of 2 * LEVELS + 1 steps; NaN -> grey."""
    finite = np.isfinite(matrix)
    ratio = np.divide(matrix, scale, out=np.zeros(matrix.shape), where=finite) if scale > 0 else np.zeros(matrix.shape)
    levels = np.clip(np.rint(ratio * LEVELS), -LEVELS, LEVELS).astype(int) + LEVELS
    levels[~finite] = len(PALETTE) - 1
    return levels


def max_abs(matrix: np.ndarray) -> float:
    """The largest finite |value| (0 when there is none): the colour scale's end."""
    finite = np.abs(matrix[np.isfinite(matrix)])
    return float(finite.max()) if finite.size else 0.0


def heatmap_lines(matrix: np.ndarray, scale: float) -> list[Text]:
    """The matrix as half-block text, two matrix rows per line, one column per matrix column."""
    levels = colour_levels(matrix, scale)
    styles: dict[tuple[int, int | None], Style] = {}
    lines = []
    for top in range(0, levels.shape[0], 2):
        uppers = levels[top].tolist()
        # An odd last row has no lower half: the background shows there.
        lowers = levels[top + 1].tolist() if top + 1 < levels.shape[0] else [None] * len(uppers)
        line = Text()
        run, count = None, 0
        for pair in zip(uppers, lowers):  # neighbours of one colour pair go out as one run: fewer spans to draw
            if pair != run and count:
                line.append("▀" * count, style=_half_block_style(styles, run))
                count = 0
            run, count = pair, count + 1
        if count:
            line.append("▀" * count, style=_half_block_style(styles, run))
        lines.append(line)
    return lines


def _half_block_style(styles: dict, pair: tuple[int, int | None]) -> Style:
    style = styles.get(pair)
    if style is None:
        upper, lower = pair
        style = styles[pair] = Style(color=PALETTE[upper], bgcolor=None if lower is None else PALETTE[lower])
    return style


def scale_line(scale: float, width: int = 80) -> Text:
    """The colour bar from -scale (blue) to +scale (red), then the scale: '-███████████+ ±1.2e-01'.

    Under 22 columns every other colour is left out of the bar, so that the number always fits.
    """
    colours = PALETTE[:-1] if width >= len(PALETTE) + 11 else PALETTE[:-1:2]
    line = Text("-")
    for colour in colours:
        line.append("█", style=Style(color=colour))
    line.append(f"+ ±{scale:.1e}" if scale > 0 else "+ all 0")
    return line


def update_formula(optimizer) -> str:
    """How the optimizer turned the gradient into the update: its own rule's step on W (``W ← W − lr · v``)."""
    return optimizer.update_rule().splitlines()[-1]


class WeightsView(InsightView, can_focus=True):
    """Heatmaps of one Linear layer's W, dL/dW and last update; ``left``/``right`` or ``,``/``.`` pick the layer."""

    TITLE = "Weights"
    EXPLANATION = "Weights, gradient and last update of one layer: blue < 0, white = 0, red > 0."

    LAYER_KEYS_HELP = "previous / next layer"  # the keys' explanation in the Footer and the help screen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,comma", "change_layer(-1)", "Prev layer", key_display="←/,", tooltip=LAYER_KEYS_HELP),
        Binding("right,full_stop", "change_layer(1)", "Next layer", key_display="→/.", tooltip=LAYER_KEYS_HELP),
    ]

    DEFAULT_CSS = """
    WeightsView { height: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    WeightsView:focus { background-tint: $foreground 4%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.position = 0  # which Linear layer, counted from the input (0 = the first)
        self._session: TrainingSession | None = None
        self._snapshot: Snapshot | None = None
        self._matrices: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._version = 0
        self._cache_key: tuple | None = None
        self._cache: Content = Content("")
        #: What the last drawing said about down-sampling (for tests and screen readers of the code).
        self.downsample_note = ""

    # -- data in -----------------------------------------------------------------------------------------------

    def update_view(self, session: TrainingSession, snapshot: Snapshot) -> None:
        self._session, self._snapshot = session, snapshot
        self._read_matrices()

    def _read_matrices(self) -> None:
        """Copy the chosen layer's matrices now, so the picture is of one moment even if training goes on."""
        if self._session is None:
            return
        indices = linear_layers(self._session)
        if not indices:
            self._matrices = None
        else:
            self.position = min(max(self.position, 0), len(indices) - 1)
            weights, gradient, update = layer_matrices(self._session, indices[self.position])
            self._matrices = (weights.copy(), gradient.copy(), None if update is None else update.copy())
        self._version += 1
        self.refresh()

    def action_change_layer(self, step: int) -> None:
        if self._session is None:
            return
        count = len(linear_layers(self._session))
        if count:
            self.position = (self.position + step) % count
            self._read_matrices()

    @property
    def layer_index(self) -> int | None:
        """Position in ``model.layers`` of the layer shown, or None before the first update."""
        if self._session is None:
            return None
        indices = linear_layers(self._session)
        return indices[min(self.position, len(indices) - 1)] if indices else None

    # -- drawing -----------------------------------------------------------------------------------------------

    def render(self) -> Content:
        key = (self._version, self.size.width, self.size.height)
        if key != self._cache_key:
            self._cache_key = key
            try:
                lines = self._lines(self.size.width, self.size.height)
            except Exception as error:  # noqa: BLE001 - a drawing bug must not take the app down: say it
                lines = [Text(f"cannot draw this layer: {error}")]
            self._cache = Content.from_rich_text(Text("\n").join(lines))
        return self._cache

    def _layer_name(self, index: int) -> str:
        """The shown layer as the other tabs name it: its shape and activation (its number is in the header)."""
        for stats in self._snapshot.layers if self._snapshot else ():
            if stats.index == index:
                return stats_label(self.position, stats).partition(" ")[2]
        layer = self._session.model.layers[index]
        return f"{layer.in_features}->{layer.out_features}"

    def _lines(self, width: int, height: int) -> list[Text]:
        if self._session is None or self._matrices is None:
            return [Text("Waiting for the model...")]
        weights, gradient, update = self._matrices
        rows, cols = weights.shape
        count = len(linear_layers(self._session))
        index = self.layer_index
        header = Text(f"layer {linear_number(self.position)} of {count}: {self._layer_name(index)} · W {rows}x{cols} "
                      "(inputs x units) · ←/→ or ,/. to switch")
        side_by_side = width >= 3 * MIN_PANEL_WIDTH + 2 * GAP
        if side_by_side:
            panel_width = (width - 2 * GAP) // 3
            map_lines = height - VIEW_HEADER_LINES - PANEL_HEADER_LINES - 1
        else:
            panel_width = width
            map_lines = (height - VIEW_HEADER_LINES) // 3 - 2  # each panel: one title line, the map, the scale
        map_lines = max(1, map_lines)
        max_rows, max_cols = 2 * map_lines, panel_width
        shown = [None if m is None else downsample(m, max_rows, max_cols)[0] for m in (weights, gradient, update)]
        small_rows, small_cols = shown[0].shape
        if (small_rows, small_cols) != (rows, cols):
            self.downsample_note = f"down-sampled from {rows}x{cols} to {small_rows}x{small_cols} (block means)"
        else:
            self.downsample_note = "full size: every weight shown"
        note = Text(self.downsample_note + " · colour scale ±max |value|", style="dim")
        # A thin matrix (64x3) would be a sliver: draw each number as a block of up to MAX_STRETCH cells a side.
        stretch = (min(MAX_STRETCH, max_rows // small_rows), min(MAX_STRETCH, max_cols // small_cols))
        titles = (
            ("W  weights", "y = x · W + b", "rows in, columns out"),
            ("dL/dW  gradient", "= x^T · dL/dy", "x: the layer's input"),
            ("update  last step", "= W_after - W_before", update_formula(self._session.optimizer)),
        )
        panels = [_panel(title, small, stretch, side_by_side, panel_width) for title, small in zip(titles, shown)]
        explanation = Text(self.EXPLANATION, style="dim")
        if not side_by_side:
            return [explanation, header, note, *(line for panel in panels for line in panel)]
        return [explanation, header, note, *_side_by_side(panels, panel_width)]


def _panel(titles: tuple[str, str, str], small: np.ndarray | None, stretch: tuple[int, int],
           side_by_side: bool, width: int) -> list[Text]:
    """One heatmap with its title, formula and remark above and its colour scale below."""
    title, formula, remark = titles
    if side_by_side:
        lines = [Text(title, style="bold"), Text(formula), Text(remark, style="dim")]
    else:
        lines = [Text.assemble((title, "bold"), "  ", formula, "  ", (remark, "dim"))]
    if small is None:
        return [*lines, Text("no update measured:"), Text("train a step (n),"), Text("or reset (r) if diverged")]
    scale = max_abs(small)
    if not np.isfinite(small).any():
        return [*lines, Text("every number is NaN or"), Text("infinite: training diverged")]
    big = np.repeat(np.repeat(small, max(1, stretch[0]), axis=0), max(1, stretch[1]), axis=1)
    return [*lines, *heatmap_lines(big, scale), scale_line(scale, width)]


def _side_by_side(panels: list[list[Text]], panel_width: int) -> list[Text]:
    """Panels next to each other, each padded to ``panel_width``, GAP columns apart."""
    height = max(len(panel) for panel in panels)
    lines = []
    for row in range(height):
        line = Text()
        for number, panel in enumerate(panels):
            cell = panel[row].copy() if row < len(panel) else Text()
            cell.truncate(panel_width, pad=number < len(panels) - 1)
            if number:
                line.append(" " * GAP)
            line.append_text(cell)
        lines.append(line)
    return lines


__all__ = ["WeightsView", "colour_levels", "heatmap_lines", "max_abs", "scale_line", "update_formula"]
