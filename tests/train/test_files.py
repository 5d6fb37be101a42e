"""The one atomic write: a reader sees the old file or the whole new one; no temporary file is ever left behind."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nntui.train.files import write_atomically


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_bytes_text_and_a_writer_function_each_land_whole(tmp_path):
    write_atomically(tmp_path / "a.bin", b"\x00\x01\x02")
    write_atomically(tmp_path / "b.csv", "epoch,loss\n1,0.5\r\n")
    write_atomically(tmp_path / "c.npz", lambda file: np.savez(file, w=np.arange(3.0)))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01\x02"
    assert (tmp_path / "b.csv").read_bytes() == b"epoch,loss\n1,0.5\r\n"  # newlines exactly as given
    with np.load(tmp_path / "c.npz") as data:
        assert data["w"].tolist() == [0.0, 1.0, 2.0]
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_the_permissions_of_any_new_file(tmp_path):
    previous = os.umask(0o027)
    try:
        write_atomically(tmp_path / "run.toml", "x = 1\n")
    finally:
        os.umask(previous)
    assert (tmp_path / "run.toml").stat().st_mode & 0o777 == 0o640  # 0o666 less the umask


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "ctrl-c"])
def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path, failure):
    target = tmp_path / "run.npz"
    target.write_bytes(b"the old checkpoint")

    def half_then_fail(file):
        file.write(b"PK half a zip")
        raise failure

    with pytest.raises(type(failure)):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"the old checkpoint"
    assert leftovers(tmp_path) == []


def test_without_replace_an_existing_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "same.npz"
    target.write_bytes(b"someone else's run")
    with pytest.raises(FileExistsError):
        write_atomically(target, b"my run", replace=False)
    assert target.read_bytes() == b"someone else's run"
    assert leftovers(tmp_path) == []


def test_without_replace_a_file_that_appears_during_the_write_is_not_overwritten(tmp_path):
    target = tmp_path / "same.npz"

    def meanwhile_another_program_saves(file):
        target.write_bytes(b"the other instance's run")
        file.write(b"my run")

    with pytest.raises(FileExistsError):
        write_atomically(target, meanwhile_another_program_saves, replace=False)
    assert target.read_bytes() == b"the other instance's run"
    assert leftovers(tmp_path) == []


def test_an_error_names_the_target_not_the_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        write_atomically(tmp_path / "missing" / "run.npz", b"x")
    assert caught.value.filename == str(tmp_path / "missing" / "run.npz")


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_a_signal_during_a_write_still_ends_the_process_but_leaves_no_temporary_file(tmp_path, signal_name):
    """The default action of SIGTERM and SIGHUP kills at once; during a write it waits until the cleanup is done."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from nntui.train.files import write_atomically

        def interrupted(file):
            file.write(b"half")
            os.kill(os.getpid(), signal.{signal_name})  # arrives in the middle of the write
            file.write(b" and the rest")

        write_atomically(sys.argv[1], interrupted)
        print("not reached: the signal should have ended the process")
    """)
    target = tmp_path / "run.npz"
    result = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True, check=False,
                            timeout=60)
    assert result.returncode == -getattr(signal, signal_name), result.stderr
    assert "not reached" not in result.stdout
    assert target.read_bytes() == b"half and the rest"  # the write was finished, then the signal acted
    assert leftovers(tmp_path) == []
