"""The real app in a pseudo-terminal: whatever ends it (SIGTERM, SIGHUP, SIGINT, a dropped link, q), the run is
saved to a recovery file and the terminal is handed back sane; ctrl+z stops it and fg repaints the whole screen.

Each test starts ``python -m nntui.cli --dataset digits`` on a pty, with HOME and XDG_STATE_HOME in a temporary
folder, and reads every byte it writes. A terminal's modes are the last word of each on/off pair it was sent.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

import pytest

from nntui.train.checkpoint import read_meta

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are a Unix thing")

MODES = {  # name: (sequence that turns it on, sequence that turns it off)
    "alternate screen": (b"\x1b[?1049h", b"\x1b[?1049l"),
    "hidden cursor": (b"\x1b[?25l", b"\x1b[?25h"),
    "mouse reporting": (b"\x1b[?1000h", b"\x1b[?1000l"),
    "any-motion mouse reporting": (b"\x1b[?1003h", b"\x1b[?1003l"),
}


class App:
    """nntui on a pty: its pid, the master side, and everything it wrote so far."""

    def __init__(self, home) -> None:
        env = dict(os.environ, HOME=str(home), XDG_STATE_HOME=str(home / "state"), TERM="xterm-256color")
        env.pop("TEXTUAL", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become nntui
            os.execve(sys.executable, [sys.executable, "-m", "nntui.cli", "--dataset", "digits"], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.output = bytearray()
        self.status: int | None = None

    def read(self, seconds: float, until: bytes | None = None, start: int = 0) -> bool:
        """Read for up to ``seconds`` (until ``until`` appears after ``start``); False once the pty is closed."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if until is not None and until in self.output[start:]:
                return True
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return False
                if not data:
                    return False
                self.output.extend(data)
        return until is None

    def start_training(self) -> None:
        assert self.read(30, until=b"ready to train"), self.output[-2000:]
        mark = len(self.output)
        os.write(self.fd, b" ")
        assert self.read(10, until=b"running", start=mark), self.output[-2000:]
        self.read(1.0)  # some steps

    def wait(self, seconds: float = 15) -> int:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.05)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.read(0.2)
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"nntui did not end within {seconds} s:\n{bytes(self.output[-2000:])!r}")

    def close(self) -> None:
        if self.status is None:
            with _quiet():
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        with _quiet():
            os.close(self.fd)

    def modes_left_on(self) -> list[str]:
        return [name for name, (on, off) in MODES.items() if self.output.rfind(on) > self.output.rfind(off)]


class _quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        return kind is not None and issubclass(kind, OSError)


@pytest.fixture
def app(tmp_path):
    running = App(tmp_path)
    yield running
    running.close()


def recovery_files(home):
    return sorted((home / "state" / "nntui" / "recovery").glob("*.npz"))


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT", "q"])
def test_every_way_out_saves_the_run_and_hands_the_terminal_back_sane(app, tmp_path, how):
    app.start_training()
    assert app.modes_left_on() == list(MODES)  # the app really had the terminal in its modes
    if how == "q":
        os.write(app.fd, b"q")
    else:
        os.kill(app.pid, getattr(signal, how))
    code = app.wait()

    assert code == (0 if how == "q" else 128 + getattr(signal, how))
    assert app.modes_left_on() == [], bytes(app.output[-600:])
    [saved] = recovery_files(tmp_path)
    meta = read_meta(saved)
    assert meta["note"]["recovery"] == ("quit" if how == "q" else how)
    assert meta["trainer"]["step"] > 0
    assert b"nntui --resume opens it" in app.output  # said once the screen is given back


def test_a_dropped_link_leaves_a_recovery_file_within_two_seconds(app, tmp_path):
    app.start_training()
    before = {path: path.stat().st_mtime for path in recovery_files(tmp_path)}
    hung_up = time.time()
    os.close(app.fd)  # what sshd does when the client is killed: the terminal hangs up (SIGHUP)
    app.fd = os.open(os.devnull, os.O_RDONLY)  # (something for close() to close)
    deadline = hung_up + 2.0
    while time.time() < deadline:
        files = recovery_files(tmp_path)
        if files and files[0].stat().st_mtime > before.get(files[0], 0) and \
                read_meta(files[0])["note"].get("recovery") == "SIGHUP":
            break
        time.sleep(0.01)
    else:
        raise AssertionError("no recovery file 2 s after the hangup")
    _, status = os.waitpid(app.pid, 0)
    app.status = os.waitstatus_to_exitcode(status)
    assert app.status == 128 + signal.SIGHUP


def test_ctrl_z_stops_the_app_with_the_terminal_given_back_and_fg_repaints_everything(app):
    assert app.read(30, until=b"ready to train")
    os.write(app.fd, b"\x1a")  # ctrl+z
    deadline = time.monotonic() + 10
    while True:
        app.read(0.05)
        done, status = os.waitpid(app.pid, os.WNOHANG | os.WUNTRACED)
        if done and os.WIFSTOPPED(status):
            break
        assert time.monotonic() < deadline, "ctrl+z did not stop the app"
    assert app.modes_left_on() == []  # while stopped, the shell has a sane terminal

    mark = len(app.output)
    os.kill(app.pid, signal.SIGCONT)  # what fg does
    app.read(3, until=b"Quit", start=mark)
    repainted = bytes(app.output[mark:])
    assert b"\x1b[?1049h" in repainted
    for text in (b"nntui", b"Train", b"Quit", b"ready to train"):  # title, tabs, footer, status: all of it
        assert text in repainted, text
    os.write(app.fd, b"q")
    assert app.wait() == 0
