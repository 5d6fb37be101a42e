"""A branch with another optimizer: same weights, a fresh optimizer, the switch logged; going back to before it
restores the old optimizer exactly."""

from __future__ import annotations

import numpy as np
import pytest

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession


def config(**overrides):
    settings = {"data.n_samples": 200, "model.hidden": [16], "model.activations": ["relu"],
                "training.epochs": 20, "training.batch_size": 16}
    return apply_overrides(default_config("moons"), {**settings, **overrides})


def train_epochs(session, n):
    for _ in range(n * session.trainer.batches_per_epoch):
        session.step()


def test_switching_the_optimizer_keeps_the_weights_and_equals_a_run_built_that_way():
    session = TrainingSession(config())
    train_epochs(session, 3)
    weights = session.model.state_dict()
    sgd = apply_overrides(session.config, {"optimizer.name": "sgd", "optimizer.lr": 0.1, "optimizer.momentum": 0.9})
    session.switch_optimizer(sgd)
    assert type(session.optimizer).__name__ == "SGD" and session.optimizer.momentum == 0.9
    assert all(np.array_equal(v, weights[k]) for k, v in session.model.state_dict().items())
    assert session.timeline.log[-1].kind == "branch"
    assert "optimizer.name adam -> sgd" in session.timeline.log[-1].detail
    assert session.history.lr_changes[-1] == (session.step_count, 0.1)

    # Independently: the same Adam run to epoch 3, then its weights trained on by a fresh SGD by hand
    reference = TrainingSession(config())
    train_epochs(reference, 3)
    from nntui.nn import SGD
    reference.trainer.optimizer = SGD(0.1, momentum=0.9)
    train_epochs(session, 2)
    train_epochs(reference, 2)
    for (name, a, _), (_, b, _) in zip(session.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a, b), name


def test_going_back_to_before_the_switch_brings_the_old_optimizer_back_and_replays_exactly():
    plain = TrainingSession(config())
    train_epochs(plain, 5)
    session = TrainingSession(config())
    train_epochs(session, 3)
    session.switch_optimizer(apply_overrides(session.config, {"optimizer.name": "sgd", "optimizer.lr": 0.1}))
    train_epochs(session, 2)
    session.rewind(2)
    assert type(session.optimizer).__name__ == "Adam" and session.config.optimizer.name == "adam"
    train_epochs(session, 3)
    for (name, a, _), (_, b, _) in zip(session.model.parameters(), plain.model.parameters()):
        assert np.array_equal(a, b), name


def test_a_switch_that_changes_more_than_the_optimizer_is_refused():
    session = TrainingSession(config())
    with pytest.raises(ValueError, match="needs a reset"):
        session.switch_optimizer(apply_overrides(session.config, {"model.hidden": [8]}))


def test_a_branch_through_a_checkpoint(tmp_path):
    session = TrainingSession(config())
    train_epochs(session, 2)
    session.switch_optimizer(apply_overrides(session.config, {"optimizer.name": "rmsprop", "optimizer.lr": 0.01}))
    train_epochs(session, 1)
    session.save_checkpoint(tmp_path / "branch.npz")
    reopened = TrainingSession.from_checkpoint(tmp_path / "branch.npz")
    assert type(reopened.optimizer).__name__ == "RMSProp"
    reopened.rewind(1)  # from before the switch: Adam again
    assert type(reopened.optimizer).__name__ == "Adam"


def test_a_branch_logs_its_changes_as_an_edit_does_sorted_by_name_with_flags_as_the_file_writes_them():
    session = TrainingSession(config(**{"optimizer.lr": 0.01}))
    train_epochs(session, 1)
    switched = apply_overrides(session.config, {"optimizer.name": "sgd", "optimizer.lr": 0.1,
                                                "optimizer.momentum": 0.9, "optimizer.nesterov": True})
    expected = ("optimizer.lr 0.01 -> 0.1, optimizer.momentum 0 -> 0.9, optimizer.name adam -> sgd, "
                "optimizer.nesterov false -> true")
    session.switch_optimizer(switched)
    assert (session.timeline.log[-1].kind, session.timeline.log[-1].detail) == ("branch", expected)

    edited = TrainingSession(config(**{"optimizer.lr": 0.01}))
    edited.reset(switched)
    assert (edited.timeline.log[-1].kind, edited.timeline.log[-1].detail) == ("edit", expected)
