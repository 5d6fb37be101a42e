"""How far a long data load has got, for whoever shows it (the CLI's progress bar, the app's indicator).

The loader reports `(stage, fraction)` pairs, the fraction running from 0 to 1 over the whole load, to the
callback installed with `loading_progress`. Nothing is reported when none is installed, so library code and
notebooks pay nothing. A context variable, not an argument, because the load happens deep inside
`TrainingSession` construction, which callers should not have to thread a callback through.

    with loading_progress(lambda stage, fraction: print(f"{stage} {fraction:.0%}")):
        session = TrainingSession(config)
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ProgressCallback = Callable[[str, float], None]

_callback: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("nntui_load_progress",
                                                                                   default=None)


@contextmanager
def loading_progress(callback: ProgressCallback) -> Iterator[None]:
    """Send the progress of every data load inside the `with` block to `callback(stage, fraction)`.

    The callback is called from the thread that loads (the app's loading worker): keep it short and
    thread-safe.
    """
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def report(stage: str, fraction: float) -> None:
    """Tell the installed callback (if any) that the load is at `fraction` (0..1), doing `stage`."""
    callback = _callback.get()
    if callback is not None:
        callback(stage, min(max(fraction, 0.0), 1.0))
