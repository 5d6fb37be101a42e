"""The timeline: going back to a kept epoch replays the run bit for bit; other settings make a branch that
equals an independent run given those settings at that point; every intervention is logged with its step, and
all of it survives a checkpoint. References are independent runs of the same configuration."""

import asyncio
import dataclasses

import numpy as np
import pytest
from quick_runs import STEPS_PER_EPOCH, quick_config, steps

from nntui.train.config import apply_overrides
from nntui.train.session import State, TrainingSession
from nntui.train.timeline import Timeline, describe_epochs
from nntui.train.trainer import Trainer


def small_config(**overrides):
    return quick_config({"model.dropout": 0.2, "training.epochs": 8}, overrides)


def train_epochs(run, n):
    return steps(run, n * STEPS_PER_EPOCH)


def records(run):
    return [{k: v for k, v in dataclasses.asdict(r).items() if k != "seconds"} for r in run.history.epochs]


def assert_same_run(mine, reference):
    assert (mine.step_count, mine.epoch, mine.batch_index) == (reference.step_count, reference.epoch,
                                                               reference.batch_index)
    for (name, a, _), (_, b, _) in zip(mine.model.parameters(), reference.model.parameters()):
        assert np.array_equal(a, b), f"{name}: largest difference {np.max(np.abs(a - b))}"
    assert records(mine) == records(reference)
    assert mine.history.lr_changes == reference.history.lr_changes
    for m, r in zip(mine.history.step_loss.arrays(), reference.history.step_loss.arrays()):
        assert np.array_equal(m, r), "per-step loss curve"


def test_every_epoch_end_of_a_small_run_is_kept():
    trainer = train_epochs(Trainer(small_config()), 5)
    assert trainer.timeline.epochs == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("back_to", [0, 2, 5])
def test_rewinding_and_going_on_with_the_same_settings_replays_the_run_bit_for_bit(back_to):
    reference = TrainingSession(small_config())
    reference.train()
    session = TrainingSession(small_config())
    train_epochs(session, 6)
    left = session.history.copy()

    session.rewind(back_to)
    assert session.epoch == back_to and session.step_count == back_to * STEPS_PER_EPOCH
    assert session.kept_epochs == list(range(back_to + 1))  # the later ones belonged to the future left
    session.train()
    assert_same_run(session, reference)
    abandoned = session.timeline.abandoned[-1]
    assert abandoned.left_at_step == 6 * STEPS_PER_EPOCH
    assert [r.val_loss for r in abandoned.history.epochs] == [r.val_loss for r in left.epochs]


def test_a_branch_equals_a_run_given_the_other_setting_at_that_epoch_and_keeps_the_future_it_left():
    reference = TrainingSession(small_config())  # independently: 3 epochs, then the rate changed
    train_epochs(reference, 3)
    reference.set_lr(0.002)
    reference.train()

    session = TrainingSession(small_config())
    train_epochs(session, 6)
    future = [r.val_loss for r in session.history.epochs]
    session.rewind(3, lr=0.002)
    session.train()

    assert_same_run(session, reference)
    assert [r.val_loss for r in session.timeline.abandoned[-1].history.epochs] == future
    kinds = [entry.kind for entry in session.timeline.log]
    assert kinds[-2:] == ["branch", "lr"]
    branch = session.timeline.log[-2]
    assert (branch.step, branch.epoch) == (3 * STEPS_PER_EPOCH, 3)


def test_rewinding_to_an_epoch_not_kept_names_the_kept_ones_and_changes_nothing():
    session = TrainingSession(small_config())
    train_epochs(session, 2)
    session.step()
    with pytest.raises(KeyError, match=r"epoch 7 is not kept; kept epochs: 0-2"):
        session.rewind(7)
    assert session.step_count == 2 * STEPS_PER_EPOCH + 1 and session.timeline.abandoned == []


def test_past_the_memory_budget_older_epochs_are_thinned_evenly_keeping_the_start_and_the_newest():
    reference = train_epochs(Trainer(small_config(**{"training.epochs": 40})), 40)
    alone = Timeline()
    alone.start(reference.state_dict())
    budget = 12 * alone.memory_bytes  # twelve times the last (largest) state: thinning must start early
    trainer = Trainer(small_config(**{"training.epochs": 40}), timeline=Timeline(budget_bytes=budget))
    train_epochs(trainer, 40)
    kept = trainer.timeline.epochs
    assert trainer.timeline.memory_bytes <= budget
    assert kept[0] == 0 and kept[-1] == 40 and 4 <= len(kept) < 41
    gaps = np.diff(kept)
    assert gaps.max() <= 3 * gaps.min() + 2, f"kept epochs bunch up: {kept}"
    # a thinned run still goes back exactly to what it kept
    middle = kept[len(kept) // 2]
    trainer.rewind(middle)
    train_epochs(trainer, 40 - middle)
    assert_same_run(trainer, reference)


async def test_every_intervention_is_logged_with_its_step():
    session = TrainingSession(small_config(**{"training.epochs": 100}))
    task = asyncio.create_task(session.run(until_finished=False))
    session.step_once()
    await asyncio.sleep(0.05)
    session.start()
    await asyncio.sleep(0.02)
    session.pause()
    paused_at = session.step_count
    session.set_lr(0.005)
    session.stop()
    await asyncio.wait_for(task, 2)
    train_epochs(session, 2)
    session.rewind(1)
    session.reset()
    session.reset(apply_overrides(session.config, {"model.hidden": [8]}))
    log = session.timeline.log
    assert [e.kind for e in log] == ["resume", "pause", "lr", "rewind", "reset", "edit"]
    assert log[1].step == log[2].step == paused_at
    assert log[2].detail == "0.01 -> 0.005"
    # a rewind is logged where the run goes on from, naming where it came from
    assert (log[3].step, log[3].epoch) == (STEPS_PER_EPOCH, 1)
    assert log[3].detail == f"from step {paused_at + 2 * STEPS_PER_EPOCH} to epoch 1"
    assert log[4].step == STEPS_PER_EPOCH  # reset at the step the rewind went back to
    assert log[5].detail == "model.activations ['tanh', 'tanh'] -> ['tanh'], model.hidden [16, 16] -> [8]"  # one hidden layer: one activation
    assert session.interventions == 6
    assert session.state is State.IDLE and session.kept_epochs == [0]


def test_the_timeline_and_its_log_go_through_a_checkpoint(tmp_path):
    session = TrainingSession(small_config())
    train_epochs(session, 2)
    session.set_lr(0.004)
    train_epochs(session, 2)
    session.rewind(3)
    session.pause()
    session.start()
    session.pause()
    for _ in range(5):
        session.step()
    session.save_checkpoint(tmp_path / "run.npz")

    reopened = TrainingSession.from_checkpoint(tmp_path / "run.npz")
    assert reopened.timeline.log == session.timeline.log
    assert reopened.kept_epochs == session.kept_epochs == [0, 1, 2, 3]
    assert reopened.interventions == session.interventions
    assert [r.val_loss for r in reopened.timeline.abandoned[0].history.epochs] == \
        [r.val_loss for r in session.timeline.abandoned[0].history.epochs]
    # going back in the reopened run is going back in the original one
    for run in (session, reopened):
        run.rewind(2)
        run.train()
    assert_same_run(reopened, session)


def test_kept_epochs_are_described_as_ranges():
    assert describe_epochs([0, 1, 2, 3, 5, 8, 9]) == "0-3, 5, 8-9"
    assert describe_epochs([]) == "none"


def test_thinning_finds_the_same_epochs_as_the_plain_rule_on_random_sizes_and_budgets():
    """The heap-based search against the rule written straight: drop the inner epoch whose neighbours are
    closest together (the older on a tie) until the rest fit."""
    import random

    from nntui.train.timeline import _thinned

    def plain(sizes, budget):
        epochs, total = list(sizes), sum(sizes.values())
        while total > budget and len(epochs) > 2:
            _gap, i = min((epochs[i + 1] - epochs[i - 1], i) for i in range(1, len(epochs) - 1))
            total -= sizes[epochs.pop(i)]
        return epochs

    rng = random.Random(0)
    for _ in range(2000):
        epochs = sorted(rng.sample(range(200), rng.randint(0, 50)))
        sizes = {epoch: rng.randint(1, 10) for epoch in epochs}
        budget = rng.randint(0, sum(sizes.values()) + 5)
        assert _thinned(sizes, budget) == plain(sizes, budget), (sizes, budget)


@pytest.mark.parametrize("back_to", [1, 3])
def test_a_rewind_restores_the_curves_as_they_were_even_after_they_were_decimated_since(back_to):
    """Kept states share the run's curve points instead of copying them; with a tiny history capacity the
    curves are halved again and again after the kept epoch, and going back must still give its curves exactly."""
    reference = TrainingSession(small_config(), history_capacity=8)
    train_epochs(reference, back_to)
    expected = {name: series.arrays() for name, series in
                [("loss", reference.history.step_loss), ("accuracy", reference.history.step_accuracy),
                 *reference.history.grad_norms.items()]}
    session = TrainingSession(small_config(), history_capacity=8)
    train_epochs(session, 7)  # 70 steps into curves of at most 8 points: halved several times since
    assert session.history.step_loss.stride > reference.history.step_loss.stride
    session.rewind(back_to)
    restored = {name: series.arrays() for name, series in
                [("loss", session.history.step_loss), ("accuracy", session.history.step_accuracy),
                 *session.history.grad_norms.items()]}
    assert restored.keys() == expected.keys()
    for name, (xs, ys) in expected.items():
        assert np.array_equal(restored[name][0], xs) and np.array_equal(restored[name][1], ys), name


def test_a_checkpoint_of_a_decimated_run_carries_every_kept_epochs_curves(tmp_path):
    session = TrainingSession(small_config(), history_capacity=8)
    train_epochs(session, 6)
    session.save_checkpoint(tmp_path / "run.npz")
    reopened = TrainingSession.from_checkpoint(tmp_path / "run.npz")
    for epoch in (1, 4):
        mine, theirs = TrainingSession.from_checkpoint(tmp_path / "run.npz"), session
        mine.rewind(epoch)
        assert np.array_equal(mine.history.step_loss.arrays()[1],
                              theirs.timeline.state_at(epoch, theirs.history)["meta"]["history"]["step_loss"]["ys"])
    assert reopened.kept_epochs == session.kept_epochs
