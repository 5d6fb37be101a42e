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


def status_text(snap: Snapshot) -> str:
    """Two lines, so that 80 columns hold them: where the run is and its last batch; then validation and speed.

    The batch numbers jump from batch to batch (they are what the charts' lines average); the validation
    numbers, measured over the whole validation set at the end of each epoch, say how the model really does.
    """
    last = snap.last_epoch
    validation = f"val loss {_number(last.val_loss)}  acc {_percent(last.val_accuracy)}" if last else "val -"
    return (f"{STATE_MARKS[snap.state]}  epoch {snap.epoch}/{snap.epochs}  step {snap.step}  "
            f"batch loss {_number(snap.batch_loss)}  acc {_percent(snap.batch_accuracy)}  lr {snap.lr:.3g}\n"
            f"{validation}  ·  {_speed(snap.samples_per_second)} samples/s")


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

    def show(self, snap: Snapshot) -> None:
        text = status_text(snap)
        if self.pace:
            text += f"  ·  pace {self.pace}"
        if snap.message and snap.message not in ("running", "paused"):
            # The message ends the second line, cut to fit: the whole of a long one (a divergence says what
            # to try) is in the notification and the Health view, and the charts keep their rows.
            room = (self.size.width or 78) - len(text.rsplit("\n", 1)[-1]) - len("  ·  ")
            message = snap.message if len(snap.message) <= room else snap.message[:max(room - 1, 0)] + "…"
            text += f"  ·  {message}"
        self.set_class(snap.state is State.DIVERGED, "-diverged")
        # Re-laying out the screen costs ~25 ms at 120x40: only when the text may change its number of lines.
        key = (snap.state, snap.message)
        self.update(text, layout=key != self._shown)
        self._shown = key
