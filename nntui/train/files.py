"""The one way nntui writes a file: atomically, so a reader sees the old file or the new one, never half of one.

``write_atomically(path, content)`` writes ``content`` to a temporary file beside ``path`` (same folder, so the
same file system), flushes it to the disk (fsync) and renames it over ``path`` in one step. Whatever happens on
the way (a full disk, an exception, ctrl+c, SIGTERM or SIGHUP), the temporary file is removed and an old ``path``
is left as it was. Checkpoints, configs, metrics and recovery files all go through here.

``replace=False`` never overwrites: if ``path`` exists at the moment of the rename (another program saved there
after we looked), ``FileExistsError`` is raised and nothing is changed, so a save dialog can say so instead of
silently replacing someone else's file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

#: Signals that by default end the process at once; during a write they wait until the temporary file is gone.
DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM") if hasattr(signal, name))

Content = bytes | str | Callable[[BinaryIO], object]


def write_atomically(path: str | os.PathLike, content: Content, *, replace: bool = True) -> Path:
    """Write ``content`` to ``path`` atomically; returns ``path``.

    ``content``: bytes, text (written as UTF-8, newlines as given), or a function that writes into the binary
    file it is given (``lambda file: numpy.savez(file, **arrays)``). The new file gets the permissions any new
    file gets (0o666 less the umask). Errors come as ``OSError`` (``FileNotFoundError`` for a missing folder,
    ``FileExistsError`` when ``replace`` is false and the target exists).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with _signals_deferred():
        try:
            # 0o666 before the umask, as any newly created file; O_EXCL: never write through someone's file
            try:
                handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except OSError as error:  # name the file the caller asked for, not our temporary one
                raise type(error)(error.errno, error.strerror, str(path)) from None
            with os.fdopen(handle, "wb") as file:
                if callable(content):
                    content(file)
                else:
                    file.write(content.encode("utf-8") if isinstance(content, str) else content)
                file.flush()
                os.fsync(file.fileno())
            if replace:
                os.replace(temporary, path)
            else:
                _rename_without_replacing(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)  # still there only when something failed (or after the hard link below)
        _sync_folder(path.parent)
    return path


def _rename_without_replacing(temporary: Path, path: Path) -> None:
    """Give ``temporary``'s content the name ``path`` unless ``path`` exists; the check and the naming are one step.

    A hard link fails if the name is taken, atomically. On a file system without hard links, fall back to a
    check followed by a rename (a window of microseconds instead of the seconds a dialog is open).
    """
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "the file appeared while saving", str(path)) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "the file appeared while saving", str(path)) from None
        os.replace(temporary, path)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (the folder's entry), where the system allows it."""
    try:
        handle = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back SIGHUP and SIGTERM while a file is written, if they would otherwise end the process at once.

    Their default action kills the process between two instructions, leaving the temporary file behind. Here
    they are noted instead and delivered again, with their default action, once the write is over (finished or
    cleaned up). Handlers someone installed are left alone: they do not kill in the middle of a write. Python
    lets only the main thread set handlers; elsewhere nothing is changed. (ctrl+c raises KeyboardInterrupt,
    which the cleanup above already handles.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    replaced = {}
    for number in DEFERRED_SIGNALS:
        if signal.getsignal(number) == signal.SIG_DFL:
            replaced[number] = signal.signal(number, lambda received, _frame: caught.append(received))
    try:
        yield
    finally:
        for number, handler in replaced.items():
            signal.signal(number, handler)
        for number in caught:
            signal.raise_signal(number)  # the default action now: the process ends, leaving no temporary file
