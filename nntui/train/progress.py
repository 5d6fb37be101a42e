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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ProgressCallback = Callable[[str, float], None]

_callback: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("nntui_load_progress",
                                                                                   default=None)


@contextmanager
def loading_progress(callback: ProgressCallback) -> Iterator[None]:
    """Send the progress of every data load inside the `with` block to `callback(stage, fraction)`.

    The callback may be called from a helper thread (see `watching_reads`): keep it short and thread-safe.
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


def is_watched() -> bool:
    return _callback.get() is not None


@contextmanager
def watching_reads(path: Path, stage: str, start: float, end: float) -> Iterator[None]:
    """While the block reads `path` in one NumPy call, report progress from start to end by bytes read.

    NumPy's reader gives no progress of its own; on Linux the kernel counts the bytes this process has read
    (`rchar` in /proc/self/io), and a helper thread turns that into a fraction of the file's size ten times a
    second. Elsewhere (or when nobody listens) only the start and the end are reported.
    """
    report(stage, start)
    size = path.stat().st_size
    first = _bytes_read() if is_watched() else None
    if first is None or size == 0:
        yield
        report(stage, end)
        return
    done = threading.Event()
    callback = _callback.get()

    def watch() -> None:
        while not done.wait(0.1):
            now = _bytes_read()
            if now is not None:
                callback(stage, start + (end - start) * min((now - first) / size, 1.0))

    watcher = threading.Thread(target=watch, name="nntui-load-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    report(stage, end)


def _bytes_read() -> int | None:
    try:
        with open("/proc/self/io", "rb") as file:
            for line in file:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None
