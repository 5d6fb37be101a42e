"""Checkpoints: stopping, saving, loading and training on gives the very same run as never having stopped.

The reference in every resume test is an independent run of the same configuration trained straight through;
the resumed run must match it bit for bit (weights, optimizer buffers, step counter, history), not roughly.
"""

import dataclasses
import json
import math
import os

import numpy as np
import pytest
from quick_runs import STEPS_PER_EPOCH, quick_config, steps

from nntui.train.checkpoint import CheckpointError
from nntui.train.config import default_config
from nntui.train.session import State, TrainingSession


def small_config(**overrides):
    """The quick moons run with far more epochs than any test trains."""
    return quick_config({"training.epochs": 50}, overrides)


def epochs_without_seconds(session):
    """The epoch history with the wall-clock field dropped: the only number allowed to differ."""
    records = [dataclasses.asdict(r) for r in session.history.epochs]
    return [{k: v for k, v in record.items() if k != "seconds"} for record in records]


def assert_same_run(mine, reference):
    """Bit-for-bit equality of everything that decides how training continues."""
    assert (mine.step_count, mine.epoch, mine.batch_index) == \
        (reference.step_count, reference.epoch, reference.batch_index)
    for (name, mine_w, _), (_, reference_w, _) in zip(mine.model.parameters(), reference.model.parameters()):
        assert mine_w.dtype == reference_w.dtype, name
        assert np.array_equal(mine_w, reference_w), (
            f"{name}: largest difference {np.max(np.abs(mine_w - reference_w))}\n"
            f"mine\n{mine_w}\nreference\n{reference_w}")
    mine_opt, reference_opt = mine.optimizer.state_dict(), reference.optimizer.state_dict()
    assert (mine_opt["type"], mine_opt["t"], mine_opt["hyperparameters"]) == \
        (reference_opt["type"], reference_opt["t"], reference_opt["hyperparameters"])
    assert mine_opt["state"].keys() == reference_opt["state"].keys()
    for name, slots in reference_opt["state"].items():
        assert mine_opt["state"][name].keys() == slots.keys(), name
        for slot, reference_buffer in slots.items():
            assert np.array_equal(mine_opt["state"][name][slot], reference_buffer), f"optimizer {name}/{slot}"
    assert epochs_without_seconds(mine) == epochs_without_seconds(reference)
    mine_curve, reference_curve = mine.history.step_loss.arrays(), reference.history.step_loss.arrays()
    assert all(np.array_equal(m, r) for m, r in zip(mine_curve, reference_curve)), "per-step loss curve"


@pytest.fixture
def saved(tmp_path):
    """A real checkpoint, 3 steps into a small run."""
    path = tmp_path / "run.npz"
    steps(TrainingSession(small_config()), 3).save_checkpoint(path)
    return path


# -- resuming is exact ---------------------------------------------------------------------------------------

OPTIMIZERS = {
    "adam": {},
    "sgd-nesterov": {"optimizer.name": "sgd", "optimizer.lr": 0.05, "optimizer.momentum": 0.9,
                     "optimizer.nesterov": True},
    "rmsprop-momentum": {"optimizer.name": "rmsprop", "optimizer.momentum": 0.5},
    # Dropout draws a fresh mask every step: the restored random generator must continue the same stream.
    "adam-dropout": {"model.dropout": 0.3},
}


@pytest.mark.parametrize("settings", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
@pytest.mark.parametrize("n_steps", [2 * STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH + 3],
                         ids=["saved-at-epoch-end", "saved-mid-epoch"])
def test_saving_loading_and_training_on_equals_training_straight_through(tmp_path, settings, n_steps):
    reference = steps(TrainingSession(small_config(**settings)), 2 * n_steps)

    first_half = steps(TrainingSession(small_config(**settings)), n_steps)
    first_half.save_checkpoint(tmp_path / "half.npz")
    resumed = TrainingSession.from_checkpoint(tmp_path / "half.npz")
    assert resumed.step_count == n_steps
    steps(resumed, n_steps)

    assert_same_run(resumed, reference)


def test_a_resumed_run_is_paused_where_it_stopped(saved):
    resumed = TrainingSession.from_checkpoint(saved)

    assert resumed.state is State.PAUSED
    assert (resumed.step_count, resumed.epoch, resumed.batch_index) == (3, 0, 3)


def test_a_checkpoint_of_a_finished_run_loads_finished_until_given_more_epochs(tmp_path):
    path = tmp_path / "done.npz"
    session = TrainingSession(small_config(**{"training.epochs": 1}))
    session.train()
    session.save_checkpoint(path)

    assert TrainingSession.from_checkpoint(path).state is State.FINISHED
    longer = TrainingSession.from_checkpoint(path, overrides={"training.epochs": 2})
    longer.train()
    assert (longer.state, longer.epoch, longer.step_count) == (State.FINISHED, 2, 2 * STEPS_PER_EPOCH)


def test_the_learning_rate_may_change_on_loading(saved):
    resumed = TrainingSession.from_checkpoint(saved, overrides={"optimizer.lr": 0.001})

    assert resumed.optimizer.lr == 0.001
    assert resumed.history.lr_changes[-1] == (3, 0.001)


# -- writes are atomic ---------------------------------------------------------------------------------------

def fail_on_rename(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)


def fail_half_way_through_writing(monkeypatch):
    def write_half_then_crash(file, **_arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", write_half_then_crash)


@pytest.mark.parametrize("failure", [fail_on_rename, fail_half_way_through_writing],
                         ids=["rename-fails", "write-fails"])
def test_a_failed_save_leaves_the_previous_checkpoint_untouched(saved, monkeypatch, failure):
    before = saved.read_bytes()
    files_before = sorted(os.listdir(saved.parent))
    session = steps(TrainingSession(small_config()), 5)

    failure(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        session.save_checkpoint(saved)
    monkeypatch.undo()

    assert saved.read_bytes() == before
    assert sorted(os.listdir(saved.parent)) == files_before, "a temporary file was left behind"
    assert TrainingSession.from_checkpoint(saved).step_count == 3


@pytest.mark.parametrize("name, message", [("run.ckpt", "end in .npz"),
                                           ("no_such_folder/run.npz", "does not exist")])
def test_saving_to_an_impossible_path_is_refused(tmp_path, name, message):
    session = TrainingSession(small_config())

    with pytest.raises(CheckpointError, match=message):
        session.save_checkpoint(tmp_path / name)


# -- loading refuses what is not a good checkpoint -----------------------------------------------------------

def test_loading_a_missing_file_says_it_was_not_found(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found: .*nothing_here.npz"):
        TrainingSession.from_checkpoint(tmp_path / "nothing_here.npz")


def test_loading_random_bytes_is_refused(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4000))

    with pytest.raises(CheckpointError, match="noise.npz' is not a readable nntui checkpoint"):
        TrainingSession.from_checkpoint(path)


def test_loading_a_truncated_checkpoint_is_refused(saved):
    whole = saved.read_bytes()
    saved.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(CheckpointError, match="not a readable nntui checkpoint .*truncated"):
        TrainingSession.from_checkpoint(saved)


def test_loading_an_npz_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.zeros(4))

    with pytest.raises(CheckpointError, match="data.npz' is not a readable nntui checkpoint"):
        TrainingSession.from_checkpoint(path)


def rewrite(path, change):
    """Load a checkpoint's arrays and metadata, let ``change`` edit them, and write them back."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(arrays["meta"].item())
    change(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_loading_a_checkpoint_with_a_wrong_parameter_shape_is_refused(saved):
    def widen_first_layer(arrays, _meta):
        arrays["param/0.W"] = np.zeros((2, 17), np.float32)

    rewrite(saved, widen_first_layer)

    with pytest.raises(CheckpointError, match=r"parameter 0.W is float32\[2, 17\] in the checkpoint but "
                                              r"float32\[2, 16\] in the model"):
        TrainingSession.from_checkpoint(saved)


def test_loading_a_checkpoint_from_another_format_version_is_refused(saved):
    def bump_version(_arrays, meta):
        meta["version"] = 99

    rewrite(saved, bump_version)

    with pytest.raises(CheckpointError, match="version 99 checkpoint; this nntui reads versions 1 and 2"):
        TrainingSession.from_checkpoint(saved)


def test_loading_cannot_change_the_model(saved):
    with pytest.raises(CheckpointError, match="cannot change model.hidden when resuming"):
        TrainingSession.from_checkpoint(saved, overrides={"model.hidden": [32]})


def test_loading_accepts_settings_equal_to_the_saved_ones(saved):
    # Repeating the saved run's own settings (as re-running the same command with --load does) changes
    # nothing, so there is nothing to refuse.
    same = {"data.dataset": "moons", "model.hidden": [16, 16], "training.epochs": 60}

    resumed = TrainingSession.from_checkpoint(saved, overrides=same)

    assert resumed.step_count == 3
    assert resumed.config.training.epochs == 60


def test_a_checkpoint_of_a_run_on_a_file_finds_the_file_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "data" / "points.csv").write_text(
        "x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
    session = TrainingSession(default_config("data/points.csv"))
    session.step()
    session.save_checkpoint("runs/one.npz")

    monkeypatch.chdir(tmp_path / "runs")
    resumed = TrainingSession.from_checkpoint("one.npz")

    assert resumed.step_count == 1
    assert resumed.config.data.dataset == os.path.join("..", "data", "points.csv")


def test_a_learning_rate_changed_during_the_run_is_the_one_a_checkpoint_resumes_with(tmp_path):
    session = TrainingSession(default_config("spiral"))
    session.step()
    session.set_lr(0.0025)
    session.save_checkpoint(tmp_path / "run.npz")

    resumed = TrainingSession.from_checkpoint(tmp_path / "run.npz")

    assert resumed.lr == 0.0025
    assert resumed.config.optimizer.lr == 0.0025
    assert resumed.history.lr_changes[-1] == (1, 0.0025)


@pytest.mark.parametrize("edit", ["swap labels", "drop rows"])
def test_resuming_on_a_data_file_that_changed_is_refused_with_a_message_that_says_so(tmp_path, monkeypatch, edit):
    monkeypatch.chdir(tmp_path)
    rows = [f"{i % 7},{i % 5},{i % 2}" for i in range(40)]
    (tmp_path / "points.csv").write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    session = TrainingSession(default_config("points.csv"))
    session.step()
    session.save_checkpoint("run.npz")

    if edit == "swap labels":
        rows = [row[:-1] + str(1 - int(row[-1])) for row in rows]
    else:
        rows = rows[:30]
    (tmp_path / "points.csv").write_text("x1,x2,label\n" + "\n".join(rows) + "\n")

    with pytest.raises(CheckpointError, match="the data of 'points.csv' changed since the checkpoint was saved"):
        TrainingSession.from_checkpoint("run.npz")


def test_a_reopened_run_reports_no_gradient_until_it_trains_a_step(tmp_path):
    session = TrainingSession(default_config("spiral"))
    session.step()
    session.save_checkpoint(tmp_path / "run.npz")

    reopened = TrainingSession.from_checkpoint(tmp_path / "run.npz")
    stats = reopened.snapshot().layers
    assert all(math.isnan(layer.grad_norm_w) for layer in stats)  # not 0.0: nothing was measured

    reopened.step()
    assert all(layer.grad_norm_w > 0 for layer in reopened.snapshot().layers)


def test_naming_the_same_data_file_another_way_when_resuming_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "points.csv").write_text("x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))
    session = TrainingSession(default_config("points.csv"))
    session.step()
    session.save_checkpoint("run.npz")

    resumed = TrainingSession.from_checkpoint("run.npz", overrides={"data.dataset": "./points.csv"})
    assert resumed.step_count == 1
    with pytest.raises(CheckpointError, match="cannot change data.dataset"):
        TrainingSession.from_checkpoint("run.npz", overrides={"data.dataset": "other.csv"})
