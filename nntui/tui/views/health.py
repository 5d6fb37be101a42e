"""The Health tab: per layer, the numbers that say whether it learns well, and plain words when one does not.

The table shows the same ``LayerStats`` as the gradients tab (same strings, from ``layer_row``), with every number
outside its healthy range marked ``!`` (warning) or ``!!`` (alarm). Under it, ``diagnose``'s findings as sentences,
each with what to try. Two Statics, rebuilt only when their text changes: cheap enough to refresh while training.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from nntui.train.insight import health
from nntui.train.insight.health import Finding, diagnose, power_of_ten
from nntui.train.session import LayerStats, Snapshot, State, TrainingSession
from nntui.tui.views.base import InsightView
from nntui.tui.widgets.gradients import HEADERS, layer_row

MARKS = {"warning": "!", "alarm": "!!"}
STYLES = {"warning": "bold yellow", "alarm": "bold red"}
# The table's columns after the name, in order, and the LayerStats field each shows.
QUANTITIES = ("grad_norm_w", "weight_norm", "update_ratio", "dead_fraction", "saturation")
HEALTHY_RANGES = (f"healthy: upd/W ~1e-3 ({power_of_ten(health.UPDATE_RATIO_WARNING_LOW)} to "
                  f"{power_of_ten(health.UPDATE_RATIO_WARNING_HIGH)}), dead and sat <= {health.DEAD_WARNING:.0%}"
                  " · ! warning  !! alarm")
HEALTHY = ("All layers look healthy: the gradient reaches the first layer, each step changes the weights by a "
           "sensible share of their size, and few units are dead or saturated.")
NO_STEP_YET = ("No training step yet: press space to train, or n for a single step. The checks start after the "
               "first step.")
NO_STEP_SINCE_OPENED = ("No step trained since this run was opened (a checkpoint keeps weights, not gradients): "
                        "press n to train one and measure it.")


def health_table(layers: tuple[LayerStats, ...], findings: list[Finding]) -> Text:
    """The layer table as text, each number a finding is about marked with ! or !! and coloured."""
    worst: dict[tuple[str, str], str] = {}
    for finding in findings:
        key = (finding.layer, finding.quantity)
        if worst.get(key) != "alarm":
            worst[key] = finding.severity
    rows = [(HEADERS, (None,) * len(QUANTITIES))]
    for position, stats in enumerate(layers):
        cells = layer_row(position, stats)
        rows.append((cells, tuple(worst.get((cells[0], q)) for q in QUANTITIES)))
    widths = [max(len(cells[i]) for cells, _ in rows) for i in range(len(HEADERS))]
    table = Text(no_wrap=True, overflow="crop")
    for number, (cells, severities) in enumerate(rows):
        if number:
            table.append("\n")
        table.append(cells[0].ljust(widths[0]), style="bold" if number == 0 else "")
        for cell, width, severity in zip(cells[1:], widths[1:], severities):
            # Numbers right-aligned, then room for the mark, so marked and plain rows stay in line.
            mark = MARKS[severity] if severity else ""
            table.append("  " + cell.rjust(width) + mark.ljust(2),
                         style=STYLES[severity] if severity else ("bold" if number == 0 else ""))
    return table


def findings_text(findings: list[Finding], snapshot: Snapshot) -> Text:
    """The findings as sentences with what to try; a reassuring line when there are none."""
    text = Text()
    if snapshot.state is State.DIVERGED:
        message = snapshot.message  # "diverged at step 9 with learning rate 10: the loss became inf. ..."
        head, _, rest = message.partition(":")
        text.append(head[:1].upper() + head[1:] + (":" if rest else ""), style=STYLES["alarm"])
        text.append(rest + "\n")
        # After a NaN only the alarms say something (exploding gradients, say); a "vanishing" warning beside
        # them would contradict them.
        findings = [finding for finding in findings if finding.severity == "alarm"]
    if snapshot.step == 0:
        text.append(NO_STEP_YET)
        return text
    if snapshot.layers and all(not math.isfinite(layer.grad_norm_w) for layer in snapshot.layers) \
            and snapshot.state is not State.DIVERGED:
        text.append(NO_STEP_SINCE_OPENED)
        return text
    if not findings:
        if snapshot.state is not State.DIVERGED:  # numbers that look fine say nothing after a NaN
            text.append(HEALTHY, style="green")
        return text
    # The same finding in several layers is said once, naming them all: "layers 0, 2 and 4".
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for finding in findings:
        grouped.setdefault((finding.severity, finding.what, finding.hint), []).append(finding.layer.split()[0])
    for number, ((severity, what, hint), layers) in enumerate(grouped.items()):
        if number:
            text.append("\n")
        text.append(f"{severity.upper()} ", style=STYLES[severity])
        text.append(f"{_layers(layers)}: {what}.\n", style="bold")
        text.append(f"  try: {hint}.")
    return text


def _layers(numbers: list[str]) -> str:
    if len(numbers) == 1:
        return f"layer {numbers[0]}"
    return f"layers {', '.join(numbers[:-1])} and {numbers[-1]}"


class HealthView(InsightView):
    """Per Linear layer: |dW|, |W|, upd/W, dead and saturated shares, marked when out of range, then findings."""

    TITLE = "Health"
    EXPLANATION = "Does each layer learn well? Marked numbers are out of the healthy range."

    DEFAULT_CSS = """
    HealthView { height: 1fr; }
    HealthView #health-explanation { height: auto; padding: 0 1; color: $text-muted; }
    HealthView #health-table { height: auto; padding: 0 1; }
    HealthView #health-ranges { height: 1; padding: 0 1; color: $text-muted; }
    HealthView #health-scroll { height: 1fr; padding: 0 1; }
    HealthView #health-findings { height: auto; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.findings: list[Finding] = []
        self._shown: tuple[str, str] | None = None  # (table, findings) as plain text, to skip unchanged updates

    def compose(self) -> ComposeResult:
        yield Static(self.EXPLANATION, id="health-explanation", markup=False)
        yield Static("", id="health-table", markup=False)
        yield Static(HEALTHY_RANGES, id="health-ranges", markup=False)
        with VerticalScroll(id="health-scroll"):
            yield Static("", id="health-findings", markup=False)

    def update_view(self, session: TrainingSession, snapshot: Snapshot) -> None:
        """Show ``snapshot.layers`` and what ``diagnose`` says about them."""
        self.findings = diagnose(snapshot.layers) if snapshot.step > 0 else []
        table = health_table(snapshot.layers, self.findings)
        findings = findings_text(self.findings, snapshot)
        shown = (table.plain, findings.plain)
        if shown == self._shown:
            return  # nothing changed: no repaint, no layout
        rows_changed = self._shown is None or self._shown[0].count("\n") != shown[0].count("\n")
        self._shown = shown
        self.query_one("#health-table", Static).update(table, layout=rows_changed)
        self.query_one("#health-findings", Static).update(findings)
