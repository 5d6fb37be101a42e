"""What keeps a run from being lost and the terminal from being left broken, whatever ends the app.

``Lifeline(app, autosaver)`` is started by the app when it mounts:

* it autosaves the run to its recovery file (``nntui.train.recovery.Autosaver``: at epoch ends, at least every
  30 s while the run moves, never more often than every few seconds);
* on SIGHUP (the terminal or the ssh link went away), SIGTERM and SIGINT it saves the run at once, then ends the
  app the ordinary way, which hands the terminal back as it found it (normal screen, cursor shown, mouse
  reporting off); should that not finish within a few seconds it writes those modes back itself and exits;
* ``q`` on a run with progress the user has not saved keeps it in the recovery file (``on_quit``);
* after the process is stopped (ctrl+z, ``kill -TSTP``) and continued (``fg``), it repaints the whole screen.

The signal handlers are asyncio's (``loop.add_signal_handler``): they run between two turns of the event loop,
never in the middle of a save, so no half-written temporary file is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from nntui.train.recovery import AT_MOST, Autosaver

if TYPE_CHECKING:
    from textual.app import App

SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM", "SIGINT") if hasattr(signal, name))
#: Seconds the ordinary exit may take after a signal before the modes are written back by hand.
EXIT_GRACE = 3.0
#: What undoes a full-screen app's terminal modes: leave the alternate screen, show the cursor, stop every mouse
#: reporting mode and bracketed paste.
SANE_MODES = "\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l"


class Lifeline:
    """See the module docstring. ``autosaver`` None: no recovery files (tests, or a run without a state dir)."""

    def __init__(self, app: App, autosaver: Autosaver | None) -> None:
        self.app, self.autosaver = app, autosaver
        self.exit_note: str | None = None  # a line for the shell once the app has ended (where the run was kept)
        self._installed: list[int] = []
        self._told_error: str | None = None
        self._terminal = _terminal_attributes()  # as the shell left it, before Textual changes it

    def start(self) -> None:
        if self.autosaver is not None:
            self.app.set_interval(min(1.0, AT_MOST), self.tick, name="autosave")
        self.app.app_resume_signal.subscribe(self.app, self._repaint)
        if self.app.is_headless:
            return  # under a test harness: the signals belong to it
        loop = asyncio.get_running_loop()
        for number in SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(number, self._on_signal, number)
                self._installed.append(number)

    def stop(self) -> None:
        """Give the signals back (the app has ended)."""
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for number in self._installed:
                loop.remove_signal_handler(number)
        self._installed.clear()

    # -- autosave ----------------------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.autosaver is None:
            return
        self.autosaver.maybe_save()
        error = self.autosaver.error
        if error and error != self._told_error:  # once per kind of failure, not every tick
            self._told_error = error
            self.app.notify(error + "; the run is not being kept for recovery", title="autosave failed",
                            severity="warning", timeout=10)

    def mark_saved(self) -> None:
        """The user saved the run themselves."""
        if self.autosaver is not None:
            self.autosaver.mark_saved()

    def on_quit(self) -> None:
        """``q``: keep unsaved progress in the recovery file and say where, once the app is gone."""
        if self.autosaver is None:
            return
        path = self.autosaver.on_quit()
        if path is not None:
            self.exit_note = f"nntui: the run's unsaved progress was kept in {path}; nntui --resume opens it"

    # -- signals -----------------------------------------------------------------------------------------------

    def _on_signal(self, number: int) -> None:
        name = signal.Signals(number).name
        path = self.autosaver.save(name, force=True, wait=True) if self.autosaver is not None else None
        code = 128 + number
        self.exit_note = f"nntui: {name}: " + (f"the run was saved to {path}; nntui --resume opens it"
                                                if path else "nothing to save")
        watchdog = threading.Timer(EXIT_GRACE, self._exit_now, args=(code,))
        watchdog.daemon = True
        watchdog.start()
        self.app.session.stop()
        self.app.exit(return_code=code)

    def _exit_now(self, code: int) -> None:
        """The ordinary exit is stuck: put the terminal back by hand and end the process."""
        restore_terminal(self._terminal)
        os._exit(code)

    # -- ctrl+z / fg ---------------------------------------------------------------------------------------------

    def _repaint(self, _app=None) -> None:
        """Continued after a stop: the terminal may show anything now, so draw every cell again."""
        screen = self.app.screen
        self.app.refresh(layout=True)
        screen.refresh(screen.region)


def _terminal_attributes():
    """The terminal's line settings now (None without a terminal, e.g. under a test harness)."""
    try:
        import termios
    except ImportError:
        return None
    try:
        return termios.tcgetattr(sys.__stdin__.fileno())
    except (termios.error, OSError, AttributeError, ValueError):
        return None


def restore_terminal(attributes=None) -> None:
    """Write the sane modes to the terminal and put back its line settings (``attributes``), as far as it is there."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.__stdout__.write(SANE_MODES)
        sys.__stdout__.flush()
    if attributes is not None:
        import termios

        with contextlib.suppress(termios.error, OSError, ValueError, AttributeError):
            termios.tcsetattr(sys.__stdin__.fileno(), termios.TCSANOW, attributes)
