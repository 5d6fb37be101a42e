"""Recovery files: when the autosave writes, that a recovery file is an ordinary checkpoint that goes on exactly,
which runs are offered back, and pruning. The clock is a fake one the tests move by hand."""

import os
from pathlib import Path

import numpy as np
import pytest
from quick_runs import STEPS_PER_EPOCH, quick_config, steps

from nntui.train import recovery
from nntui.train.checkpoint import read_meta
from nntui.train.recovery import Autosaver, recovery_dir
from nntui.train.session import TrainingSession


def small_config(**overrides):
    return quick_config({"model.hidden": [16], "training.epochs": 50}, overrides)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def saver(tmp_path):
    clock = Clock()
    session = TrainingSession(small_config())
    autosaver = Autosaver(session, tmp_path / "recovery", every=30, at_most=5, clock=clock)
    return session, autosaver, clock


def test_the_folder_follows_xdg_state_home_and_falls_back_to_local_state(tmp_path):
    assert recovery_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "nntui" / "recovery"
    home = Path(os.path.expanduser("~"))
    assert recovery_dir({}) == home / ".local" / "state" / "nntui" / "recovery"
    assert recovery_dir({"XDG_STATE_HOME": "relative/dir"}) == home / ".local" / "state" / "nntui" / "recovery"


def test_nothing_is_written_for_a_run_that_has_not_moved(saver):
    _session, autosaver, clock = saver
    clock.now += 100
    assert autosaver.maybe_save() is None and not autosaver.path.exists()


def test_an_epoch_end_is_saved_but_never_sooner_than_at_most_seconds_after_the_last_save(saver):
    session, autosaver, clock = saver
    steps(session, STEPS_PER_EPOCH)  # one epoch ends
    clock.now += 4.9
    assert autosaver.maybe_save() is None
    clock.now += 0.2
    assert autosaver.maybe_save() == autosaver.path
    autosaver.join()
    assert read_meta(autosaver.path)["trainer"]["step"] == STEPS_PER_EPOCH
    steps(session, 3)  # progress but no epoch end: waits for the 30 s
    clock.now += 29
    assert autosaver.maybe_save() is None
    clock.now += 1.5
    assert autosaver.maybe_save() == autosaver.path
    autosaver.join()
    assert read_meta(autosaver.path)["trainer"]["step"] == STEPS_PER_EPOCH + 3
    clock.now += 60
    assert autosaver.maybe_save() is None  # nothing moved since


def test_a_recovery_file_is_an_ordinary_checkpoint_that_goes_on_exactly(saver):
    session, autosaver, _clock = saver
    steps(session, 17)
    assert autosaver.save("SIGTERM", force=True, wait=True) == autosaver.path
    assert read_meta(autosaver.path)["note"]["recovery"] == "SIGTERM"
    resumed = TrainingSession.from_checkpoint(autosaver.path)
    reference = TrainingSession(small_config())
    steps(reference, 17 + 25)
    steps(resumed, 25)
    for (name, a, _), (_, b, _) in zip(resumed.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a, b), name


def test_quitting_keeps_only_progress_the_user_did_not_save(saver, tmp_path):
    session, autosaver, _clock = saver
    assert autosaver.on_quit() is None and not autosaver.path.exists()  # never trained: nothing kept
    steps(session, 4)
    assert autosaver.on_quit() == autosaver.path
    assert read_meta(autosaver.path)["note"]["recovery"] == "quit"
    session.save_checkpoint(tmp_path / "mine.npz")
    autosaver.mark_saved()
    assert autosaver.on_quit() is None and not autosaver.path.exists()  # saved by the user: the file goes


def test_only_runs_whose_process_ended_are_offered_each_once(tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    session = TrainingSession(small_config())
    steps(session, 12)
    mine = Autosaver(session, folder)
    mine.save("autosave", wait=True)
    assert recovery.interrupted(folder) == []  # this process is alive: its run is not offered
    with monkeypatch.context() as patch:
        patch.setattr(recovery.os, "getpid", lambda: 999_999_999)  # a writer long gone
        gone = Autosaver(session, folder)
        gone.path = folder / "old-run.npz"
        gone.save("SIGHUP", force=True, wait=True)
    offer = recovery.newest_to_offer(folder)
    assert offer is not None and offer.path == gone.path and (offer.epoch, offer.step) == (1, 12)
    assert offer.describe(now=offer.saved_at + 240) == "the moons run interrupted 4 min ago at epoch 1"
    recovery.mark_offered(offer)
    assert recovery.newest_to_offer(folder) is None
    assert [r.path for r in recovery.interrupted(folder)] == [gone.path]  # still there for --resume


def test_old_recovery_files_are_pruned_to_a_few(tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir()
    for i in range(8):
        path = folder / f"run{i}.npz"
        path.write_bytes(b"x")
        os.utime(path, (1000 + i, 1000 + i))
    recovery.prune(folder, keep=5, spare=folder / "run0.npz")
    assert sorted(p.name for p in folder.glob("*.npz")) == ["run0.npz", "run3.npz", "run4.npz", "run5.npz",
                                                           "run6.npz", "run7.npz"]


def test_a_save_that_cannot_be_written_says_why_and_training_goes_on(saver, tmp_path):
    session, autosaver, _clock = saver
    steps(session, 3)
    autosaver.folder = tmp_path / "a-file"
    autosaver.folder.write_text("not a folder")
    autosaver.path = autosaver.folder / "x.npz"
    assert autosaver.save("autosave", wait=True) is None
    assert "cannot write the recovery file" in autosaver.error
    steps(session, 1)


def test_a_recovery_file_carries_the_kept_epochs_that_fit_its_budget_evenly_spread(saver, monkeypatch):
    session, autosaver, _clock = saver
    steps(session, 30 * STEPS_PER_EPOCH)
    one_state = session.timeline.memory_bytes // len(session.kept_epochs)
    monkeypatch.setattr(recovery, "TIMELINE_BUDGET", 8 * one_state)
    autosaver.save("autosave", wait=True)
    reopened = TrainingSession.from_checkpoint(autosaver.path)
    carried = reopened.kept_epochs
    assert session.kept_epochs == list(range(31))  # the run itself keeps them all
    assert carried[0] == 0 and carried[-1] == 30 and 4 <= len(carried) <= 8
    assert max(np.diff(carried)) <= 3 * min(np.diff(carried)) + 2, carried
    reopened.rewind(carried[len(carried) // 2])  # and going back in the recovered run works
    session.rewind(carried[len(carried) // 2])
    for (name, a, _), (_, b, _) in zip(reopened.model.parameters(), session.model.parameters()):
        assert np.array_equal(a, b), name
