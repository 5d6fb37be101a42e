"""Checkpoints written by earlier versions of nntui still open, and go on training exactly.

``fixtures/v1-points-sgd-dropout-step9.npz`` was written by nntui's version-1 checkpoint code (commit d6524b9,
before the trainer and the run controller were split): a run on ``fixtures/v1-points.csv`` (a data file, so that
a change to a built-in generator cannot change its data) with dropout and momentum SGD, 9 steps in (epoch 1, four
batches into the second), whose learning rate was halved after step 6. The expected values below are read from
the file itself with plain NumPy, not through nntui's loader.
"""

import json
from pathlib import Path

import numpy as np

from nntui.train.session import State, TrainingSession

V1_FILE = Path(__file__).parent / "fixtures" / "v1-points-sgd-dropout-step9.npz"


def raw_v1():
    with np.load(V1_FILE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return json.loads(arrays.pop("meta").item()), arrays


def test_the_v1_fixture_is_a_version_1_checkpoint():
    meta, _arrays = raw_v1()
    assert (meta["format"], meta["version"]) == ("nntui-checkpoint", 1)


def test_a_version_1_checkpoint_opens_where_it_stopped(tmp_path):
    meta, arrays = raw_v1()
    session = TrainingSession.from_checkpoint(V1_FILE)
    assert (session.step_count, session.epoch, session.batch_index) == (meta["step"], meta["epoch"],
                                                                        meta["batch_index"]) == (9, 1, 4)
    assert session.state is State.PAUSED
    assert session.lr == 0.025
    assert session.history.lr_changes == [(0, 0.05), (6, 0.025)]
    for name, param, _grad in session.model.parameters():
        assert np.array_equal(param, arrays[f"param/{name}"]), name
    optimizer = session.optimizer.state_dict()
    for name, slots in optimizer["state"].items():
        for slot, value in slots.items():
            assert np.array_equal(value, arrays[f"optimizer/{name}/{slot}"]), f"{name}/{slot}"
    assert [r.epoch for r in session.history.epochs] == [1]


def test_a_version_1_checkpoint_trains_on_as_a_resaved_copy_does(tmp_path):
    """Opened from v1 and trained on, or opened, saved in today's format, reopened and trained on: the same."""
    direct = TrainingSession.from_checkpoint(V1_FILE)
    TrainingSession.from_checkpoint(V1_FILE).save_checkpoint(tmp_path / "today.npz")
    resaved = TrainingSession.from_checkpoint(tmp_path / "today.npz")
    for session in (direct, resaved):
        for _ in range(7):  # over an epoch end: the restored order and dropout stream are used
            session.step()
    for (name, a, _), (_, b, _) in zip(direct.model.parameters(), resaved.model.parameters()):
        assert np.array_equal(a, b), name
    assert direct.history.epochs[-1].val_loss == resaved.history.epochs[-1].val_loss
