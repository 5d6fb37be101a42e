"""Never lost: a running run is saved to a recovery checkpoint now and then, and when the process is told to end.

While the app trains, ``Autosaver.maybe_save()`` writes the run to a recovery file under
``$XDG_STATE_HOME/nntui/recovery/`` (``~/.local/state/nntui/recovery/`` by default) at each epoch end and at least
every ``EVERY`` seconds while there is progress not yet saved, but never more often than every ``AT_MOST``
seconds (a fast run ends many epochs a second). ``save("SIGHUP")`` writes it at once: the app calls it when the
terminal hangs up, on SIGTERM and SIGINT, and when ``q`` quits a run with unsaved progress.

A recovery file is an ordinary checkpoint (``nntui --load FILE`` and ``nntui train --load FILE`` open it), with
the kept epoch states that fit in ``TIMELINE_BUDGET`` (the run may hold more); its note says which process wrote
it, why and when. One file per app process (a reset run overwrites it), written atomically; only the newest
``KEEP`` files stay. ``interrupted()`` lists the runs whose process is gone, newest
first, for the next ``nntui`` to offer back; ``nntui --resume`` opens the newest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nntui.train.checkpoint import CheckpointError, checkpoint_contents, read_meta, write_contents

EVERY = 30.0  # seconds: at least this often while there is unsaved progress
AT_MOST = 5.0  # seconds: never more often than this (epoch ends included)
KEEP = 5  # recovery files kept (the newest)
#: The kept epoch states a recovery file carries (bytes): fewer than the run holds (64 MiB), evenly thinned, so
#: that a save every few seconds costs little; the user's own checkpoints carry them all.
TIMELINE_BUDGET = 16 * 2**20
OFFERED = "offered"  # a file in the recovery folder naming the runs already offered back once


def recovery_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/nntui/recovery`` (the XDG default, ``~/.local/state``, when it is unset or relative)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid and is ignored
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "nntui" / "recovery"


@dataclass(frozen=True)
class Recovery:
    """A recovery file and what its note says about the run in it."""

    path: Path
    dataset: str
    epoch: int
    step: int
    reason: str  # "autosave", "SIGHUP", "SIGTERM", "SIGINT", "quit"
    saved_at: float  # time.time() of the save
    pid: int

    def describe(self, now: float | None = None) -> str:
        """``the digits run interrupted 4 min ago at epoch 12`` (``quit`` for one left by q)."""
        name = Path(self.dataset).name.removesuffix(".csv").removesuffix(".npz")
        how = "you quit" if self.reason == "quit" else "interrupted"
        return f"the {name} run {how} {_ago((now or time.time()) - self.saved_at)} at epoch {self.epoch}"


class Autosaver:
    """Saves one app's run to its recovery file. See the module docstring.

    ``session``: the run controller (its ``trainer`` is what gets saved: after a reset, the new run). ``clock``
    gives seconds (monotonic); tests pass their own.
    """

    def __init__(self, session, folder: Path | None = None, *, every: float = EVERY, at_most: float = AT_MOST,
                 clock=time.monotonic) -> None:
        self.session, self.every, self.at_most, self.clock = session, every, at_most, clock
        self.folder = recovery_dir() if folder is None else Path(folder)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = self.folder / f"{stamp}-{os.getpid()}.npz"
        self._last_save = clock()
        self._saved = self._position()  # nothing to save until the run moves
        self._user_saved: tuple[int, int, int] | None = None
        self._saved_epoch = self._position()[1]
        self.error: str | None = None  # why the last save failed (a full disk, a read-only home), if it did
        self._writer: threading.Thread | None = None

    def _position(self) -> tuple[int, int, int]:
        trainer = self.session.trainer
        return id(trainer), trainer.epoch, trainer.step_count

    @property
    def unsaved(self) -> bool:
        """The run has moved (trained, rewound, reset) since its last save, recovery or the user's own."""
        return self._position() != self._saved

    def mark_saved(self) -> None:
        """The user saved the run to a checkpoint of their own: nothing is lost until it moves again."""
        self._saved = self._user_saved = self._position()

    def due(self) -> bool:
        if not self.unsaved:
            return False
        waited = self.clock() - self._last_save
        epoch_ended = self._position()[1] != self._saved_epoch
        return waited >= self.every or (epoch_ended and waited >= self.at_most)

    def maybe_save(self) -> Path | None:
        """Save if due (see the module docstring); the path written, or None."""
        return self.save("autosave") if self.due() else None

    def save(self, reason: str, *, force: bool = False, wait: bool = False) -> Path | None:
        """Save now (``force``: even if nothing moved since the last save, to record ``reason``).

        The run's state is taken at once; the file is written by a helper thread so training and keys go on
        meanwhile (``wait``: here, before returning, as a signal or quit needs). The path, or None: nothing to
        save (a run that never trained), or the save failed (``error`` says why).
        """
        trainer = self.session.trainer
        if trainer.step_count == 0 or not (force or self.unsaved):
            return None
        self._last_save = self.clock()
        note = {"recovery": reason, "pid": os.getpid(), "saved_at": time.time()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            contents = checkpoint_contents(trainer, self.path, note=note, timeline_budget=TIMELINE_BUDGET)
        except (OSError, CheckpointError) as error:
            return self._failed(error)
        self._saved = self._position()
        self._saved_epoch = trainer.epoch
        self.join()  # one write at a time, in order
        if wait:
            return self._write(contents)
        self._writer = threading.Thread(target=self._write, args=(contents,), name="nntui-autosave")
        self._writer.start()  # not a daemon: an exit waits for the file to be complete
        return self.path

    def join(self) -> None:
        """Wait for a save being written (if any) to be complete."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _write(self, contents) -> Path | None:
        try:
            write_contents(contents, self.path)
        except (OSError, CheckpointError) as error:
            return self._failed(error)
        self.error = None
        prune(self.folder, keep=KEEP, spare=self.path)
        return self.path

    def _failed(self, error: Exception) -> None:
        self.error = f"cannot write the recovery file {self.path}: {getattr(error, 'strerror', None) or error}"
        self._saved = None  # try again at the next chance

    def on_quit(self) -> Path | None:
        """``q``: keep a run that has progress the user did not save themselves; else leave no file behind."""
        if self.session.trainer.step_count == 0 or self._position() == self._user_saved:
            self.discard()
            return None
        return self.save("quit", force=True, wait=True)

    def discard(self) -> None:
        """Remove this process's recovery file (the run ended with nothing left to recover)."""
        self.join()
        try:
            self.path.unlink()
        except OSError:
            pass


def recoveries(folder: Path | None = None) -> list[Recovery]:
    """Every readable recovery file in ``folder``, newest first."""
    folder = recovery_dir() if folder is None else folder
    found = []
    for path in folder.glob("*.npz") if folder.is_dir() else ():
        try:
            meta = read_meta(path)
            note, trainer = meta.get("note") or {}, meta["trainer"]
            dataset = _dataset_of(meta["config"])
            found.append(Recovery(path, dataset, int(trainer["epoch"]), int(trainer["step"]),
                                  str(note.get("recovery", "autosave")), float(note.get("saved_at", 0.0)),
                                  int(note.get("pid", 0))))
        except (CheckpointError, KeyError, TypeError, ValueError):
            continue  # another file, or a damaged one: not offered
    return sorted(found, key=lambda r: r.saved_at, reverse=True)


def interrupted(folder: Path | None = None) -> list[Recovery]:
    """The recovery files of runs whose process has ended (another nntui running now keeps its own), newest first."""
    return [r for r in recoveries(folder) if not _alive(r.pid)]


def newest_to_offer(folder: Path | None = None) -> Recovery | None:
    """The newest interrupted run not yet offered back (each is offered once; ``nntui --resume`` still opens it)."""
    folder = recovery_dir() if folder is None else folder
    offered = _offered(folder)
    return next((r for r in interrupted(folder) if r.path.name not in offered), None)


def mark_offered(recovery: Recovery) -> None:
    folder = recovery.path.parent
    names = _offered(folder) | {recovery.path.name}
    names &= {path.name for path in folder.glob("*.npz")}  # forget files pruned since
    try:
        from nntui.train.files import write_atomically

        write_atomically(folder / OFFERED, "".join(f"{name}\n" for name in sorted(names)))
    except OSError:
        pass  # at worst it is offered again


def prune(folder: Path, *, keep: int = KEEP, spare: Path | None = None) -> None:
    """Remove all but the newest ``keep`` recovery files (never ``spare``, this process's own)."""
    try:
        files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for path in files[keep:]:
        if path != spare:
            try:
                path.unlink()
            except OSError:
                pass


def _offered(folder: Path) -> set[str]:
    try:
        return set((folder / OFFERED).read_text().split())
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (this one does)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _dataset_of(config_toml: str) -> str:
    import tomllib

    return str(tomllib.loads(config_toml).get("data", {}).get("dataset", "?"))


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
