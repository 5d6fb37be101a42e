"""The pace of a run: how many steps a second a person watching can follow, and the arithmetic behind it.

A pace is a number of steps per second, or ``None`` for full speed (as fast as the machine trains). The run
controller reads it as ``max_steps_per_second``; this module only does the arithmetic, so it is the same for the
app, a test or a future headless "watch" mode:

- ``LADDER``: the paces the keys step through, from about one step a second (each update visible) to full speed,
  each about three times the one before, so full speed is a few presses away from anywhere;
- ``faster`` / ``slower``: the next rung up or down from any pace, on the ladder or not;
- ``watching_pace``: the pace at which a run of so many steps lasts about ``WATCH_SECONDS`` (a built-in dataset's
  default run, say, so the learning can be followed instead of being over in half a second);
- ``steps_per_wake``: at a fast pace one step per timer wake-up would cost more in waking than in training; this
  says how many steps to do per wake-up and how long to wait after them, so the average pace is kept;
- ``label``: the pace as the status line shows it.
"""

from __future__ import annotations

import math

#: The paces the keys step through, in steps a second; after the last comes full speed (None).
LADDER: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
#: A default run of a built-in dataset should last about this long at its starting pace (and never less than 20 s).
WATCH_SECONDS = 25.0
#: The shortest wait worth sleeping for between two groups of steps (an event loop wakes ~1 ms late anyway).
MIN_WAIT = 1 / 120


def faster(pace: float | None) -> float | None:
    """The next pace up: the first rung above ``pace``, then full speed (None); full speed stays full speed."""
    if pace is None:
        return None
    return next((rung for rung in LADDER if rung > pace * 1.0001), None)


def slower(pace: float | None) -> float:
    """The next pace down: the last rung below ``pace`` (from full speed, the top rung); the bottom rung stays."""
    if pace is None:
        return LADDER[-1]
    return next((rung for rung in reversed(LADDER) if rung < pace * 0.9999), LADDER[0])


def watching_pace(total_steps: int, seconds: float = WATCH_SECONDS) -> float:
    """A whole number of steps a second at which ``total_steps`` last at least ``seconds``; between the ladder's
    bottom and top rungs (a run too short to last that long even at the bottom rung gets the bottom rung)."""
    if total_steps <= 0:
        return LADDER[0]
    pace = math.floor(total_steps / seconds)
    return float(min(max(pace, LADDER[0]), LADDER[-1]))


def steps_per_wake(pace: float, min_wait: float = MIN_WAIT) -> tuple[int, float]:
    """(steps, seconds): do ``steps`` steps, then wait ``seconds`` before the next group, to train at ``pace``.

    Up to 1/min_wait steps a second that is one step per wake-up; faster, several steps share one, so no wait is
    shorter than ``min_wait``: at 1000 steps a second and min_wait 1/120, 9 steps every 9 ms.
    """
    if not pace > 0:
        raise ValueError(f"a pace is a positive number of steps a second, got {pace}")
    steps = max(1, math.ceil(pace * min_wait))
    return steps, steps / pace


def label(pace: float | None) -> str:
    """"full speed", "30 steps/s", "1 step/s", "0.5 steps/s"."""
    if pace is None:
        return "full speed"
    number = f"{pace:g}"
    return f"{number} step/s" if number == "1" else f"{number} steps/s"


__all__ = ["LADDER", "MIN_WAIT", "WATCH_SECONDS", "faster", "label", "slower", "steps_per_wake", "watching_pace"]
