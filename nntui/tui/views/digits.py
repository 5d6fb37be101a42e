"""The Digits view: how an image classifier does on its validation images, and what its first layer looks for.

Three pages, switched with keys while the view has focus:

* ``c`` confusion matrix: counts of true class (rows) against predicted class (columns), per-class accuracy;
* ``m`` mistakes: the misclassified validation images drawn in the terminal, captioned true→predicted;
* ``f`` first-layer weights: each first-layer unit's weights laid out as an image.

Images are drawn with the upper half block ``▀``: its foreground colour is one pixel and its background colour the
pixel below, so an 8x8 image takes 8 columns and 4 rows. The colours are few (four greys for pixels, two blues, a
near-black and two reds for weights) and each one lies nearest a different one of the 16 standard terminal colours,
so a 16-colour terminal still tells every level apart.

Every number comes from ``nntui.train.insight.digits``; this module only lays them out.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import ClassVar

import numpy as np
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from nntui.train.insight import digits as insight
from nntui.train.session import Snapshot, TrainingSession
from nntui.tui.views.base import InsightView

PAGES = ("confusion", "mistakes", "weights")
#: A confusion-matrix count off the diagonal (a mistake). Reverse video, not colour alone: with NO_COLOR (or a
#: monochrome terminal) a red number reads like every other, and the legend could not say where to look.
MISTAKE_STYLE = "bold reverse red"
PAGE_LABELS = {"confusion": "confusion", "mistakes": "mistakes", "weights": "first-layer weights"}
PAGE_KEYS = {"confusion": "c", "mistakes": "m", "weights": "f"}

HALF_BLOCK = "▀"
#: Pixel greys, dark to light: paper is black, ink is white, as the digits are stored (0 = blank, 16 = ink).
#: In 16 colours they become black, bright black, white and bright white. (Not the ANSI names themselves: Textual's
#: default palette gives blue and bright blue, red and bright red, the same colour.)
GREYS = ("rgb(20,20,20)", "rgb(100,100,100)", "rgb(180,180,180)", "rgb(250,250,250)")
#: Weight colours, most negative to most positive; the middle one is "about zero".
#: In 16 colours: bright blue, blue, black, red, bright red.
DIVERGING = ("rgb(60,120,255)", "rgb(30,50,140)", "rgb(20,20,20)", "rgb(140,30,30)", "rgb(255,60,50)")
#: |w| / largest |w| of the image: below the first bound counts as zero, above the second as strong.
WEIGHT_BOUNDS = (0.2, 0.6)
CAPTION_WIDTH = 8  # "7→1 100%" or "u127 2.3"
TILE_GAP = 2  # blank columns between two images
HEADER_ROWS = 2  # the explanation and the page bar above the page


class DigitsView(InsightView):
    """Confusion matrix, misclassified images and first-layer weights of an image classifier."""

    TITLE: ClassVar[str] = "Digits"
    EXPLANATION: ClassVar[str] = "Validation mistakes, and the pixel patterns the first layer responds to."
    # The keys' explanations in the Footer (on hover) and the help screen, one row per explanation.
    PAGES_HELP = "pages: confusion matrix / mistakes / first-layer weights"
    PAGE_STEP_HELP = "previous / next page"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "show_page('confusion')", "Confusion", tooltip=PAGES_HELP),
        Binding("m", "show_page('mistakes')", "Mistakes", tooltip=PAGES_HELP),
        Binding("f", "show_page('weights')", "1st-layer W", tooltip=PAGES_HELP),
        Binding("left", "cycle_page(-1)", "Previous page", show=False, tooltip=PAGE_STEP_HELP),
        Binding("right", "cycle_page(1)", "Next page", show=False, tooltip=PAGE_STEP_HELP),
    ]
    DEFAULT_CSS = """
    DigitsView { height: 1fr; padding: 0 1; }
    DigitsView > .digits-line { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    DigitsView > #digits-explanation { color: $text-muted; }
    DigitsView > #digits-body { height: 1fr; text-wrap: nowrap; text-overflow: clip; }
    """
    can_focus = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.page = "confusion"
        self.session: TrainingSession | None = None
        #: What the body was last drawn from; the same key means there is nothing new to draw.
        self._drawn_key: tuple | None = None
        self.draw_count = 0  # for tests: how many times the body was recomputed

    def compose(self) -> ComposeResult:
        yield Static(self.EXPLANATION, id="digits-explanation", classes="digits-line", markup=False)
        yield Static(self._page_bar(), id="digits-pages", classes="digits-line")
        yield Static("waiting for the first update", id="digits-body", markup=False)

    # -- the InsightView interface -----------------------------------------------------------------------------

    def not_applicable(self, session: TrainingSession) -> str | None:
        return insight.applies(session)

    def update_view(self, session: TrainingSession, snapshot: Snapshot) -> None:
        self.session = session
        self._draw()

    # -- keys --------------------------------------------------------------------------------------------------

    def action_show_page(self, page: str) -> None:
        if page in PAGES and page != self.page:
            self.page = page
            self.query_one("#digits-pages", Static).update(self._page_bar())
            self._draw()

    def action_cycle_page(self, direction: int) -> None:
        self.action_show_page(PAGES[(PAGES.index(self.page) + direction) % len(PAGES)])

    def on_focus(self) -> None:
        self.query_one("#digits-pages", Static).update(self._page_bar())

    def on_blur(self) -> None:
        self.query_one("#digits-pages", Static).update(self._page_bar())

    def on_resize(self, event: events.Resize) -> None:
        self._draw()  # how many images fit depends on the size

    def _page_bar(self) -> Text:
        bar = Text(no_wrap=True)
        for page in PAGES:
            style = "bold reverse" if page == self.page else ""
            bar.append(f" {PAGE_KEYS[page]} ", style="bold")
            bar.append(PAGE_LABELS[page], style=style)
            bar.append("  ")
        bar.append("←/→", style="bold")
        if not self.has_focus:
            bar.append("  (Tab here for keys)", style="dim")
        return bar

    # -- drawing -----------------------------------------------------------------------------------------------

    def _draw(self) -> None:
        """Recompute the page, but only when the model stepped (or the page, model, data or size changed)."""
        session = self.session
        if session is None or not self.is_mounted:
            return
        width, height = self.size.width, max(0, self.size.height - HEADER_ROWS)
        key = (self.page, session.step_count, session.model, session.dataset, width, height)
        if key == self._drawn_key:
            return
        self._drawn_key = key
        self.draw_count += 1
        try:
            # A diverged model has NaN weights; numpy's warnings about them would only scribble on the terminal.
            with np.errstate(all="ignore"):
                body = self._page(session, width, height)
        except (ValueError, IndexError, ArithmeticError) as error:  # say what went wrong rather than crash
            body = Text(f"could not draw this page: {type(error).__name__}: {error}", style="red")
        self.query_one("#digits-body", Static).update(body)

    def _page(self, session: TrainingSession, width: int, height: int) -> Text:
        reason = insight.applies(session)
        if reason is not None:
            return Text(f"The Digits view {reason}.", style="italic")
        if self.page == "confusion":
            return confusion_page(session, width)
        if self.page == "mistakes":
            return mistakes_page(session, width, height)
        return weights_page(session, width, height)


# ---------------------------------------------------------------------------------------------------------
# The pages, as rich Text (plain functions: easy to test and to read)
# ---------------------------------------------------------------------------------------------------------


def _step_note(session: TrainingSession) -> str:
    return f"step {session.step_count}, epoch {session.epoch}" + (" (untrained)" if session.step_count == 0 else "")


def confusion_page(session: TrainingSession, width: int = 80, compact: bool = False) -> Text:
    """Counts of true class (rows) x predicted class (columns), correct ones highlighted; accuracy per row.

    ``compact``: for a side pane (the Train tab's picture): no per-row accuracy column, shorter lines.
    """
    counts = insight.confusion_matrix(session)
    names = session.dataset.class_names
    total, right = int(counts.sum()), int(np.trace(counts))
    accuracy = right / total if total else math.nan
    # Wide enough for the largest count, the column totals under them and the class names above them.
    widest = int(counts.sum(axis=0).max(initial=0))
    cell = max(3, len(str(widest)) + 1, *(min(len(name), 6) + 1 for name in names))
    label = max(len("true\\pred"), *(min(len(name), 8) for name in names))

    text = Text(no_wrap=True)
    if compact:
        text.append(f"{right} of {total} right ({_percent(accuracy)}), {_step_note(session)}\n")
    else:
        text.append(f"validation: {total} samples, {right} right ({_percent(accuracy)}), {_step_note(session)}\n")
    text.append("true\\pred".ljust(label), style="bold")
    for name in names:
        text.append(name[:6].rjust(cell), style="bold")
    text.append("\n" if compact else "   right\n", style="bold")
    for true_class, row in enumerate(counts):
        text.append(names[true_class][:8].rjust(label), style="bold")
        for predicted, count in enumerate(row):
            if predicted == true_class:
                text.append(str(count).rjust(cell), style="bold green")
            elif count:  # reversed: a mistake stands out in any terminal, with NO_COLOR or in 16 colours too
                text.append(" " * (cell - len(str(count))))
                text.append(str(count), style=MISTAKE_STYLE)
            else:
                text.append("·".rjust(cell), style="dim")
        row_total = int(row.sum())
        text.append("\n" if compact else
                    _percent(row[true_class] / row_total if row_total else math.nan).rjust(8) + "\n")
    text.append("predicted".rjust(label), style="dim")
    for column_total in counts.sum(axis=0):
        text.append(str(int(column_total)).rjust(cell), style="dim")
    if compact:
        text.append("\ndiagonal: right; highlighted: mistakes", style="dim")
        return text
    text.append(_percent(accuracy).rjust(8) + "\n")
    text.append(f"total {total} = the validation set; diagonal: right; highlighted: mistakes (row = truth)",
                style="dim")
    if label + cell * len(names) + 8 > width:
        text.append(f"\n{len(names)} classes: widen the terminal to see every column", style="italic")
    return text


def mistakes_page(session: TrainingSession, width: int, height: int) -> Text:
    """As many misclassified validation images as fit, the most confident mistakes first."""
    data = session.dataset
    image_height, image_width = data.image_shape
    counts = insight.confusion_matrix(session)
    total, wrong = int(counts.sum()), int(counts.sum() - np.trace(counts))
    text = Text(no_wrap=True)
    if wrong == 0:
        text.append(f"no mistakes on the {total} validation images ({_step_note(session)})")
        return text
    columns, rows = _grid(width, height - 1, image_width, image_height)
    mistakes = insight.misclassified(session, limit=columns * rows)
    text.append(f"{wrong} of {total} wrong, most confident first; caption: true→predicted, confidence\n")
    if not mistakes:
        text.append(f"the images are {image_height}x{image_width} pixels: enlarge the terminal to draw them",
                    style="italic")
        return text
    low, high = _raw_range(session)
    tiles = [(_grey_image(m.image, low, high), _mistake_caption(m, data.class_names)) for m in mistakes]
    text.append_text(_tile_grid(tiles, columns, max(image_width, CAPTION_WIDTH)))
    return text


def weights_page(session: TrainingSession, width: int, height: int) -> Text:
    """The first Linear layer's weight columns as images (blue negative, red positive), strongest first."""
    data = session.dataset
    image_height, image_width = data.image_shape
    layer = insight.first_linear(session)
    text = Text(no_wrap=True)
    is_output = layer is session.model.layers[-1]
    what = "class" if is_output else "unit"
    text.append(f"layer 0, {layer.in_features}→{layer.out_features}: each {what}'s {layer.in_features} weights as "
                f"an image, largest ‖w‖ first\n")
    text.append("each scaled to its own max |w|: ")
    for colour, name in zip(DIVERGING, ("−", "−", "0", "+", "+")):
        text.append("██", style=colour)
        text.append(f"{name} ")
    text.append(f"  caption: {what}, ‖w‖\n")
    columns, rows = _grid(width, height - 2, image_width, image_height)
    units = insight.first_layer_units(session, limit=columns * rows)
    if not units:
        text.append(f"the images are {image_height}x{image_width} pixels: enlarge the terminal to draw them",
                    style="italic")
        return text
    names = data.class_names
    tiles = []
    for unit in units:
        label = names[unit.unit] if is_output and unit.unit < len(names) else f"u{unit.unit}"
        tiles.append((_diverging_image(unit.image), Text(f"{label} {_short(unit.norm)}")))
    text.append_text(_tile_grid(tiles, columns, max(image_width, CAPTION_WIDTH)))
    return text


# ---------------------------------------------------------------------------------------------------------
# Images in the terminal
# ---------------------------------------------------------------------------------------------------------


def _grid(width: int, height: int, image_width: int, image_height: int) -> tuple[int, int]:
    """How many image tiles fit: (columns, rows). A tile is the image plus a caption line, with a gap to the right."""
    tile_width = max(image_width, CAPTION_WIDTH) + TILE_GAP
    tile_height = math.ceil(image_height / 2) + 1
    return max(0, (width + TILE_GAP) // tile_width), max(0, height // tile_height)


def _half_blocks(levels: np.ndarray, palette: tuple[str, ...]) -> list[Text]:
    """An image of palette indices (h, w) as ceil(h/2) lines of ▀, two pixel rows per line."""
    height, width = levels.shape
    lines = []
    for top in range(0, height, 2):
        upper = levels[top].tolist()
        lower = levels[top + 1].tolist() if top + 1 < height else [None] * width
        spans = [Span(column, column + 1, _cell_style(palette, up, down))
                 for column, (up, down) in enumerate(zip(upper, lower))]
        lines.append(Text(HALF_BLOCK * width, no_wrap=True, spans=spans))
    return lines


@lru_cache(maxsize=256)
def _cell_style(palette: tuple[str, ...], upper: int, lower: int | None) -> Style:
    """The style of one ▀ cell: the upper pixel's colour in front, the lower one's behind (none: background)."""
    return Style(color=palette[upper], bgcolor=None if lower is None else palette[lower])


def _grey_image(image: np.ndarray, low: float, high: float) -> list[Text]:
    """Raw pixels to the four greys: the range low..high cut into four equal bands."""
    span = high - low if high > low else 1.0
    scaled = np.nan_to_num((image - low) / span, nan=0.0)
    levels = np.clip((scaled * len(GREYS)).astype(np.int64), 0, len(GREYS) - 1)
    return _half_blocks(levels, GREYS)


def _diverging_image(weights: np.ndarray) -> list[Text]:
    """Weights to five colours, symmetric around zero, scaled by the image's own largest |w|."""
    weights = np.nan_to_num(weights, nan=0.0, posinf=0.0, neginf=0.0)
    largest = float(np.abs(weights).max(initial=0.0)) or 1.0
    relative = weights / largest
    magnitude = np.digitize(np.abs(relative), WEIGHT_BOUNDS)  # 0 about zero, 1 weak, 2 strong
    levels = 2 + np.sign(relative).astype(np.int64) * magnitude
    return _half_blocks(levels, DIVERGING)


def _tile_grid(tiles: list[tuple[list[Text], Text]], columns: int, tile_width: int) -> Text:
    """Lay (image lines, caption) tiles out left to right, top to bottom, each caption under its image."""
    out = Text(no_wrap=True)
    for start in range(0, len(tiles), columns):
        row = tiles[start:start + columns]
        image_lines = len(row[0][0])
        for line in range(image_lines + 1):
            for position, (image, caption) in enumerate(row):
                piece = image[line].copy() if line < image_lines else caption.copy()
                piece.truncate(tile_width)
                piece.pad_right(tile_width - piece.cell_len)
                out.append_text(piece)
                if position < len(row) - 1:
                    out.append(" " * TILE_GAP)
            out.append("\n")
    out.rstrip()
    return out


def _mistake_caption(mistake: insight.Mistake, names: list[str]) -> Text:
    caption = Text(no_wrap=True)
    caption.append(names[mistake.true_label][:3], style="bold green")
    caption.append("→")
    caption.append(names[mistake.predicted_label][:3], style="bold red")
    caption.append(f" {mistake.confidence:.0%}" if math.isfinite(mistake.confidence) else " ?")
    return caption


def _raw_range(session: TrainingSession) -> tuple[float, float]:
    """The darkest and brightest raw pixel value of the training images (0 and 16 for the digits)."""
    data = session.dataset
    if len(data.x_train) == 0:
        return 0.0, 1.0
    raw = data.unstandardize(data.x_train)
    return float(raw.min()), float(raw.max())


def _percent(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.1%}" if value < 1 else "100%"


def _short(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"
