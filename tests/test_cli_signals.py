"""nntui train stopped by SIGTERM, SIGHUP or SIGINT: the run asked to be saved is saved, and the exit says so."""

import signal
import subprocess
import sys
import time

import pytest

from nntui.train.checkpoint import read_meta
from nntui.train.session import TrainingSession


def start_training(tmp_path, *extra):
    command = [sys.executable, "-m", "nntui.cli", "train", "--dataset", "digits", "--epochs", "100000", *extra]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stderr.readline()  # one line per epoch when stderr is not a terminal: it is training
    assert first.startswith("epoch 1/"), first + process.stderr.read()
    time.sleep(0.3)
    return process


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_saves_the_run_asked_for_and_exits_non_zero_saying_so(tmp_path, name):
    process = start_training(tmp_path, "--save", "run.npz", "--metrics", "run.csv")
    process.send_signal(getattr(signal, name))
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + getattr(signal, name)
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"nntui train: {name}: stopped at epoch ") and "saved to run.npz" in last, err
    steps = read_meta(tmp_path / "run.npz")["trainer"]["step"]
    assert steps > 0 and TrainingSession.from_checkpoint(tmp_path / "run.npz").step_count == steps
    assert (tmp_path / "run.csv").read_text().startswith("epoch,")
    assert not list(tmp_path.glob(".*.tmp"))


def test_without_save_the_stop_says_nothing_was_saved(tmp_path):
    process = start_training(tmp_path)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert "nothing saved (give --save CKPT" in err.strip().splitlines()[-1]
