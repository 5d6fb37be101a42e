"""The status line: state, epoch, step, the last batch's loss and accuracy, learning rate; validation and speed."""

from __future__ import annotations

import math

from textual.widgets import Static

from nntui.train.session import Snapshot, State

STATE_MARKS = {State.IDLE: "■ idle", State.RUNNING: "▶ running", State.PAUSED: "❚❚ paused",
               State.FINISHED: "✔ finished", State.DIVERGED: "✖ diverged"}


def _number(value: float, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.3e}"  # a diverging loss stays short


def _speed(value: float) -> str:
    if not value:
        return "-"
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


def _percent(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1%}"


def status_text(snap: Snapshot, width: int | None = None, pace: str = "") -> str:
    """Two lines, so that 80 columns hold them: where the run is and its last batch; then validation and speed.

    The batch numbers jump from batch to batch (they are what the charts' lines average); the validation
    numbers, measured over the whole validation set at the end of each epoch, say how the model really does.
    With a ``width`` neither line is longer: shorter wordings first (a run of 123456 epochs, a narrow terminal),
    then the end cut with "…", so the status line never wraps and never pushes the validation line away.
    """
    state, lr = STATE_MARKS[snap.state], f"lr {snap.lr:.3g}"
    of = f"/{snap.epochs}" if snap.epochs else ""  # an open-ended run (0 epochs) has no total
    where = [f"{state}  epoch {snap.epoch}{of}  step {snap.step}", f"{state}  ep {snap.epoch}{of}  step {snap.step}",
             f"{state}  ep {snap.epoch}  step {snap.step}"]
    batch = _batch_wordings(snap)
    first = [f"{where[0]}  {batch[0]}  {lr}", *(f"{place}  {batch[1]}  {lr}" for place in where),
             f"{where[-1]}  {batch[-1]}  {lr}"]
    last = snap.last_epoch
    validation = _validation(last)
    speed = f"{_speed(snap.samples_per_second)} samples/s"
    pace_part = [f"  ·  pace {pace}", f"  ·  {pace}"] if pace else [""]
    second = [f"{validation}  ·  {speed}{part}" for part in pace_part] + [f"{validation}{pace_part[-1]}", validation]
    return f"{_fit(first, width)}\n{_fit(second, width)}"


def _batch_wordings(snap: Snapshot) -> list[str]:
    """The last batch's numbers, longest wording first: its loss and accuracy; for regression its MSE, in the
    data's own units when the run has one target (``LossUnits``), and the units named, shortened last."""
    units = snap.loss_units
    if not units.units:  # classification: cross-entropy and accuracy, as they are
        loss, accuracy = _number(snap.batch_loss), _percent(snap.batch_accuracy)
        return [f"batch loss {loss}  acc {accuracy}", f"loss {loss}  acc {accuracy}"]
    mse = _units(units.shown(snap.batch_loss))
    short = "data" if units.units == "data units" else "std."
    return [f"batch {units.name} {mse} ({units.units})", f"{units.name} {mse} ({units.units})",
            f"{units.name} {mse} ({short})"]


def _validation(last) -> str:
    """The last epoch's validation: loss and accuracy; for regression R^2 and the mean absolute error in the
    data's own units (the loss is that of standardised targets, which means little to a person)."""
    if last is None:
        return "val -"
    if math.isnan(last.val_r2) and math.isnan(last.val_mae):
        return f"val loss {_number(last.val_loss)}  acc {_percent(last.val_accuracy)}"
    return f"val R² {_number(last.val_r2, 3)}  MAE {_units(last.val_mae)}"


def _units(value: float) -> str:
    """A value in the data's own units, short whatever its size (house prices, or 1e30)."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _fit(wordings: list[str], width: int | None) -> str:
    """The first wording no longer than ``width``, else the last one cut with "…"."""
    if width is None:
        return wordings[0]
    for wording in wordings:
        if len(wording) <= width:
            return wording
    return wordings[-1][:max(width - 1, 0)] + "…"


class StatusLine(Static):
    """One line of numbers, plus the session's message when it says more than the state does."""

    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 4; padding: 0 1; background: $panel; }
    StatusLine.-diverged { background: $error 40%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._shown: tuple | None = None  # (state, message) of the last update
        self.pace = ""  # how fast the run trains, as nntui.train.pace.label says it ("30 steps/s", "full speed")
        self.loading = ""  # a data file loading in the background ("loading houses.csv: reading 40%"), or ""

    def show(self, snap: Snapshot) -> None:
        text = status_text(snap, self.size.width or 78, self.pace)
        message = self.loading or snap.message  # a load in progress is the news of the moment
        if message and message not in ("running", "paused"):
            # The message ends the second line, cut to fit: the whole of a long one (a divergence says what
            # to try) is in the notification and the Health view, and the charts keep their rows.
            room = (self.size.width or 78) - len(text.rsplit("\n", 1)[-1]) - len("  ·  ")
            if room >= 8:  # a few words at least; else the state mark says enough
                message = message if len(message) <= room else message[:room - 1] + "…"
                text += f"  ·  {message}"
        self.set_class(snap.state is State.DIVERGED, "-diverged")
        # Re-laying out the screen costs ~25 ms at 120x40: only when the text may change its number of lines.
        key = (snap.state, snap.message, bool(self.loading))
        self.update(text, layout=key != self._shown)
        self._shown = key
