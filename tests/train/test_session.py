"""TrainingSession: one step, whole epochs, the async run loop and its commands, snapshots and divergence.

Small runs keep the file fast: 200 spiral points (161 for training, so 6 batches of 32 per epoch, the last
holding one sample) through a single hidden layer of 16 units.
"""

import asyncio
import contextlib
import gc
import math
import time

import numpy as np
import pytest

from nntui.nn import MSE, Dropout, Linear
from nntui.train.config import ConfigError, apply_overrides, default_config
from nntui.train.session import State, TrainingSession

#: Enough epochs that a run never finishes on its own during a test.
ENDLESS = 1_000_000


def small_config(dataset: str = "spiral", **overrides):
    """A config that trains in milliseconds; overrides use dotted names with "__" for the dot."""
    settings = {"data.n_samples": 200, "model.hidden": [16], "training.epochs": 3}
    settings.update({key.replace("__", "."): value for key, value in overrides.items()})
    return apply_overrides(default_config(dataset), settings)


def weights(session: TrainingSession) -> list[np.ndarray]:
    return [param.copy() for _name, param, _grad in session.model.parameters()]


def assert_same_weights(mine: list[np.ndarray], reference: list[np.ndarray]) -> None:
    assert len(mine) == len(reference)
    for i, (a, b) in enumerate(zip(mine, reference)):
        assert np.array_equal(a, b), f"parameter {i} differs:\nmine {a.ravel()[:5]}\nreference {b.ravel()[:5]}"


def all_finite(session: TrainingSession) -> bool:
    return all(np.isfinite(param).all() for _name, param, _grad in session.model.parameters())


def step_losses(session: TrainingSession) -> tuple[np.ndarray, np.ndarray]:
    return session.history.step_loss.arrays()


def epochs_without_timing(session: TrainingSession) -> list[tuple]:
    return [(r.epoch, r.step, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy)
            for r in session.history.epochs]


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy, worked out here in float64, independently of nntui.nn.losses."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


@contextlib.asynccontextmanager
async def running(session: TrainingSession, **run_options):
    """Run ``session.run()`` in a task for the duration of the block, then stop it and wait for it."""
    task = asyncio.create_task(session.run(**run_options))
    await asyncio.sleep(0)  # let run() reach its first wait, so that commands find it listening
    try:
        yield task
    finally:
        session.stop()
        await asyncio.wait_for(task, timeout=1.0)


async def wait_until(condition, timeout: float = 1.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "condition not reached in time"
        await asyncio.sleep(0.001)


# --- one step and one epoch ---------------------------------------------------------------------------------


def test_step_trains_exactly_one_mini_batch():
    session = TrainingSession(small_config())
    before = weights(session)

    result = session.step()

    assert result.step == session.step_count == 1
    assert result.finite and not result.epoch_ended
    for i, (old, new) in enumerate(zip(before, weights(session))):
        assert not np.array_equal(old, new), f"parameter {i} did not change"
    xs, ys = step_losses(session)
    np.testing.assert_array_equal(xs, [1.0])
    np.testing.assert_array_equal(ys, [result.loss])
    assert session.batch_index == 1
    assert session.history.epochs == []


def test_an_epoch_ends_after_batches_per_epoch_steps_with_train_and_validation_numbers():
    # Dropout makes training mode and evaluation mode give different numbers, so validating in the wrong
    # mode would show.
    session = TrainingSession(small_config(model__dropout=0.5))
    assert session.batches_per_epoch == math.ceil(len(session.x_train) / session.batch_size) == 6
    batch_sizes = [session.batch_size] * (session.batches_per_epoch - 1)
    batch_sizes.append(len(session.x_train) - sum(batch_sizes))

    results = [session.step() for _ in range(session.batches_per_epoch)]

    assert [r.epoch_ended for r in results] == [False] * 5 + [True]
    assert session.epoch == 1 and len(session.history.epochs) == 1
    record = session.history.epochs[0]
    assert (record.epoch, record.step) == (1, 6)
    assert record.train_loss == pytest.approx(np.average([r.loss for r in results], weights=batch_sizes))
    assert record.train_accuracy == pytest.approx(
        np.average([r.accuracy for r in results], weights=batch_sizes))
    assert (record.val_loss, record.val_accuracy) == session.evaluate(session.x_val, session.y_val)
    # and independently of the session's own loss: the model in evaluation mode on x_val
    logits = session.model.forward(session.x_val, False)
    assert record.val_loss == pytest.approx(softmax_cross_entropy(logits, session.y_val), rel=1e-5)
    assert record.val_accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == session.y_val))
    assert record.seconds > 0
    assert session.state is State.IDLE  # stepping by hand does not start the run


def test_the_last_epoch_finishes_the_run_and_further_steps_are_refused():
    session = TrainingSession(small_config())
    session.train()
    assert session.state is State.FINISHED
    assert session.step_count == 3 * session.batches_per_epoch
    assert [r.epoch for r in session.history.epochs] == [1, 2, 3]
    with pytest.raises(RuntimeError, match="finished"):
        session.step()


def test_evaluation_is_deterministic_with_dropout():
    session = TrainingSession(small_config(model__dropout=0.5))
    session.step()
    first = session.evaluate(session.x_val, session.y_val)
    second = session.evaluate(session.x_val, session.y_val)
    assert first == second


# --- determinism ------------------------------------------------------------------------------------------


def test_same_config_gives_bit_identical_weights_and_history():
    sessions = [TrainingSession(small_config(training__epochs=ENDLESS)) for _ in range(2)]
    for session in sessions:
        for _ in range(20):  # more than three epochs: crosses the reshuffles
            session.step()
    mine, reference = sessions
    assert_same_weights(weights(mine), weights(reference))
    for a, b in zip(step_losses(mine), step_losses(reference)):
        np.testing.assert_array_equal(a, b)
    assert epochs_without_timing(mine) == epochs_without_timing(reference)


def test_a_different_seed_gives_different_weights():
    first = TrainingSession(small_config(training__seed=1))
    second = TrainingSession(small_config(training__seed=2))
    assert any(not np.array_equal(a, b) for a, b in zip(weights(first), weights(second)))


def test_dropout_trains_and_stays_deterministic_with_the_seed():
    sessions = [TrainingSession(small_config(model__dropout=0.2, training__epochs=5)) for _ in range(2)]
    for session in sessions:
        assert any(isinstance(layer, Dropout) for layer in session.model.layers)
        session.train()
        assert session.state is State.FINISHED
    mine, reference = sessions
    assert_same_weights(weights(mine), weights(reference))
    assert epochs_without_timing(mine) == epochs_without_timing(reference)
    losses = [r.train_loss for r in mine.history.epochs]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]


# --- the async run loop and its commands --------------------------------------------------------------------


async def test_start_trains_in_the_background_and_pause_stops_it():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    async with running(session):
        await asyncio.sleep(0.05)
        assert session.step_count == 0 and session.state is State.IDLE  # nothing happens before start

        session.start()
        assert session.state is State.RUNNING
        await asyncio.sleep(0.05)
        assert session.step_count > 0

        session.pause()
        assert session.state is State.PAUSED
        paused_at = session.step_count
        await asyncio.sleep(0.05)
        assert session.step_count == paused_at

        session.resume()
        assert session.state is State.RUNNING
        await asyncio.sleep(0.05)
        assert session.step_count > paused_at


async def test_step_once_while_paused_trains_exactly_one_batch_and_stays_paused():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    async with running(session):
        session.start()
        await asyncio.sleep(0.02)
        session.pause()
        paused_at = session.step_count

        session.step_once()
        await wait_until(lambda: session.step_count > paused_at)
        await asyncio.sleep(0.03)

        assert session.step_count == paused_at + 1
        assert session.state is State.PAUSED


async def test_step_once_from_idle_trains_exactly_one_batch():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    async with running(session):
        session.step_once()
        await wait_until(lambda: session.step_count > 0)
        await asyncio.sleep(0.03)
        assert session.step_count == 1
        assert session.state is State.PAUSED


async def test_set_lr_applies_to_the_very_next_batch():
    new_lr = 0.05
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    async with running(session):
        session.start()
        await asyncio.sleep(0.02)
        session.pause()
        changed_at = session.step_count

        assert session.set_lr(new_lr) == new_lr
        assert session.optimizer.lr == session.lr == new_lr
        assert session.history.lr_changes[-1] == (changed_at, new_lr)

        session.step_once()
        await wait_until(lambda: session.step_count > changed_at)

    # The same run stepped by hand, with the learning rate set before that step, lands on the same weights.
    reference = TrainingSession(small_config(training__epochs=ENDLESS))
    for _ in range(changed_at):
        reference.step()
    reference.optimizer.lr = new_lr
    reference.step()
    assert_same_weights(weights(session), weights(reference))

    # ...and the change mattered: without it the weights differ.
    unchanged = TrainingSession(small_config(training__epochs=ENDLESS))
    for _ in range(changed_at + 1):
        unchanged.step()
    assert any(not np.array_equal(a, b) for a, b in zip(weights(session), weights(unchanged)))


@pytest.mark.parametrize("bad_lr", [0, -0.1, math.nan, math.inf, 11])
def test_an_out_of_range_lr_is_refused_and_the_lr_is_unchanged(bad_lr):
    session = TrainingSession(small_config())
    lr_before, changes_before = session.lr, list(session.history.lr_changes)
    with pytest.raises(ConfigError) as caught:
        session.set_lr(bad_lr)
    assert caught.value.field == "optimizer.lr"
    assert "optimizer.lr" in str(caught.value)
    assert session.lr == lr_before
    assert session.history.lr_changes == changes_before


async def test_stop_ends_run_promptly_while_running():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    task = asyncio.create_task(session.run())
    await asyncio.sleep(0)
    session.start()
    await asyncio.sleep(0.05)
    session.stop()
    await asyncio.wait_for(task, timeout=0.5)  # raises TimeoutError if run() does not end promptly
    assert task.done() and session.step_count > 0


async def test_stop_ends_run_promptly_while_paused():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    task = asyncio.create_task(session.run())
    await asyncio.sleep(0)
    session.start()
    await asyncio.sleep(0.02)
    session.pause()
    await asyncio.sleep(0.02)
    session.stop()
    await asyncio.wait_for(task, timeout=0.5)
    assert session.state is State.PAUSED


async def test_reset_gives_back_a_fresh_session():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    async with running(session):
        session.start()
        await asyncio.sleep(0.05)
        session.set_lr(0.05)
        assert session.step_count > 0

        session.reset()
        assert session.state is State.IDLE
        assert session.step_count == 0 and session.epoch == 0
        await asyncio.sleep(0.03)
        assert session.step_count == 0  # a reset run waits for start

    fresh = TrainingSession(small_config(training__epochs=ENDLESS))
    assert_same_weights(weights(session), weights(fresh))
    assert session.lr == fresh.lr
    fresh.publish(force=True)  # reset() publishes its fresh state once
    assert session.history.state() == fresh.history.state()


async def test_run_until_finished_returns_when_the_epochs_are_done():
    session = TrainingSession(small_config())
    task = asyncio.create_task(session.run(until_finished=True))
    await asyncio.sleep(0)
    session.start()
    await asyncio.wait_for(task, timeout=2.0)
    assert session.state is State.FINISHED
    assert session.epoch == 3 and len(session.history.epochs) == 3
    assert session.step_count == 3 * session.batches_per_epoch


async def test_training_does_not_starve_the_event_loop():
    gc.collect()  # garbage of the tests before this one is not this test's pause (a full pass took ~50 ms in CI)
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    coroutine_ticks: list[float] = []
    callback_ticks: list[float] = []
    loop = asyncio.get_running_loop()

    def callback() -> None:
        callback_ticks.append(time.perf_counter())
        loop.call_later(0.005, callback)

    async def ticker() -> None:
        while True:
            coroutine_ticks.append(time.perf_counter())
            await asyncio.sleep(0)

    async with running(session):
        session.start()
        tick_task = asyncio.create_task(ticker())
        handle = loop.call_later(0.005, callback)
        await asyncio.sleep(0.2)
        tick_task.cancel()
        handle.cancel()
        steps = session.step_count

    assert steps > 10, "the session did not train"
    assert len(coroutine_ticks) > 20
    assert np.diff(coroutine_ticks).max() < 0.05
    assert len(callback_ticks) > 10
    assert np.diff(callback_ticks).max() < 0.05


# --- snapshots ----------------------------------------------------------------------------------------------


async def test_snapshots_arrive_at_a_bounded_rate():
    interval = 0.05
    snapshots = []
    session = TrainingSession(small_config(training__epochs=ENDLESS), on_snapshot=snapshots.append,
                              publish_interval=interval)
    async with running(session):
        started = time.perf_counter()
        session.start()  # publishes once for the change of state
        await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - started
        steps = session.step_count

    state_changes = 1
    assert 3 <= len(snapshots) <= elapsed / interval + 1 + state_changes + 3
    assert steps > 3 * len(snapshots), "one snapshot per step is not a bounded rate"
    assert [s.step for s in snapshots] == sorted(s.step for s in snapshots)
    assert snapshots[-1].state is State.RUNNING
    assert snapshots[-1].samples_per_second > 0


def test_grad_norm_history_holds_only_measured_gradients():
    # bug: publish() appends every Linear layer's gradient norm to history.grad_norms even before the first
    # backward pass: start() and reset() publish at step 0, when every gradient is still zero, so the
    # gradient-norm chart starts with a false 0.
    session = TrainingSession(small_config())
    session.start()
    assert session.history.grad_norms == {}, "a gradient norm was recorded before any gradient existed"
    session.step()
    session.publish(force=True)
    for series in session.history.grad_norms.values():
        xs, ys = series.arrays()
        assert xs.min() >= 1 and ys.min() > 0


def test_a_snapshot_is_a_copy_that_later_training_does_not_change():
    session = TrainingSession(small_config(training__epochs=ENDLESS))
    for _ in range(7):
        session.step()
    snapshot = session.snapshot()
    loss_xs, loss_ys = snapshot.history.step_loss.arrays()
    epochs, lr_changes = list(snapshot.history.epochs), list(snapshot.history.lr_changes)

    for _ in range(20):
        session.step()
    session.set_lr(0.05)
    session.history.epochs.clear()

    assert snapshot.step == 7 and snapshot.epoch == 1
    np.testing.assert_array_equal(snapshot.history.step_loss.arrays()[0], loss_xs)
    np.testing.assert_array_equal(snapshot.history.step_loss.arrays()[1], loss_ys)
    assert snapshot.history.epochs == epochs and len(epochs) == 1
    assert snapshot.last_epoch == epochs[0]
    assert snapshot.history.lr_changes == lr_changes


def test_snapshot_has_layer_stats_for_each_linear_layer():
    session = TrainingSession(small_config(model__hidden=[16, 8], model__activations=["relu", "tanh"]))
    session.step()
    stats = session.snapshot().layers
    linear = [i for i, layer in enumerate(session.model.layers) if isinstance(layer, Linear)]
    assert [s.index for s in stats] == linear
    relu_layer, tanh_layer, output_layer = stats
    for s in stats:
        grads = session.model.layers[s.index].grads
        assert s.grad_norm_w == pytest.approx(math.sqrt(np.sum(grads["W"].astype(np.float64) ** 2)), rel=1e-5)
        assert s.grad_norm_b == pytest.approx(math.sqrt(np.sum(grads["b"].astype(np.float64) ** 2)), rel=1e-5)
    assert relu_layer.activation == "relu" and 0 <= relu_layer.dead_fraction <= 1
    assert relu_layer.saturation is None
    assert tanh_layer.activation == "tanh" and 0 <= tanh_layer.saturation <= 1
    assert tanh_layer.dead_fraction is None
    assert output_layer.activation is None
    assert output_layer.dead_fraction is None and output_layer.saturation is None


def test_update_ratio_is_the_size_of_the_last_update_relative_to_the_weights():
    session = TrainingSession(small_config())
    assert all(math.isnan(s.update_ratio) for s in session.snapshot().layers)  # no update yet
    before = [layer.params["W"].copy() for layer in session.model.layers if isinstance(layer, Linear)]

    session.step(collect_stats=True)

    after = [layer.params["W"] for layer in session.model.layers if isinstance(layer, Linear)]
    for s, old, new in zip(session.snapshot().layers, before, after):
        expected = np.linalg.norm(new.astype(np.float64) - old) / np.linalg.norm(new.astype(np.float64))
        assert math.isfinite(s.update_ratio) and s.update_ratio > 0
        assert s.update_ratio == pytest.approx(expected, rel=1e-4)
        assert s.weight_norm == pytest.approx(np.linalg.norm(new.astype(np.float64)), rel=1e-5)


def test_relu_units_that_never_fire_count_as_dead():
    session = TrainingSession(small_config())
    first = session.model.layers[0]
    first.params["b"][:4] = -1e3  # far below any w.x on standardised inputs: these 4 of 16 units never fire
    session.step()
    assert session.snapshot().layers[0].dead_fraction >= 4 / 16

    first.params["b"][:] = -1e3
    session.step()
    assert session.snapshot().layers[0].dead_fraction == 1.0


def test_tanh_units_driven_to_their_limits_count_as_saturated():
    session = TrainingSession(small_config(model__activation="tanh"))
    session.step()
    assert session.snapshot().layers[0].saturation < 1.0
    session.model.layers[0].params["b"][:] = 50.0  # tanh(50 + w.x) is 1 to within float precision
    session.step()
    assert session.snapshot().layers[0].saturation == 1.0


# --- divergence ---------------------------------------------------------------------------------------------


def nan_loss_on_call(session: TrainingSession, monkeypatch, call: int) -> None:
    """Make the session's loss return NaN on its ``call``-th evaluation."""
    real_forward = session.loss.forward
    calls = {"n": 0}

    def forward(pred, target):
        calls["n"] += 1
        return math.nan if calls["n"] == call else real_forward(pred, target)

    monkeypatch.setattr(session.loss, "forward", forward)


def test_a_nan_loss_stops_the_run_and_names_the_step(monkeypatch):
    session = TrainingSession(small_config())
    nan_loss_on_call(session, monkeypatch, call=5)
    for _ in range(4):
        session.step()
    kept = weights(session)

    result = session.step()

    assert not result.finite
    assert session.state is State.DIVERGED
    assert session.step_count == 4
    assert "step 5" in session.message
    assert "learning rate" in session.message and "lower it" in session.message
    assert all_finite(session)
    assert_same_weights(weights(session), kept)  # the NaN step was not applied
    with pytest.raises(RuntimeError, match="diverged"):
        session.step()

    session.reset()
    assert session.state is State.IDLE and session.step_count == 0
    assert_same_weights(weights(session), weights(TrainingSession(small_config())))
    assert session.step().finite


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_weights_are_restored_from_the_last_safe_point():
    session = TrainingSession(small_config())
    initial = weights(session)
    session.step()
    session.model.layers[0].params["W"][...] = np.inf  # as if the last update had overflowed
    session.step()
    assert session.state is State.DIVERGED
    assert all_finite(session)
    assert_same_weights(weights(session), initial)  # no epoch ended yet: the safe point is the start
    assert "step 0" in session.message


@pytest.fixture
def linear_regression_file(tmp_path):
    """An .npz file with x (200, 3) and y = x @ w + 0.3, shape (200, 1)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.3
    path = tmp_path / "linear.npz"
    np.savez(path, x=x, y=y)
    return str(path)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
async def test_an_absurd_learning_rate_diverges_and_run_until_finished_returns(linear_regression_file):
    config = apply_overrides(default_config(linear_regression_file), {
        "data.task": "regression", "model.hidden": [16], "training.epochs": 50,
        "optimizer.name": "sgd", "optimizer.lr": 10})
    session = TrainingSession(config)
    task = asyncio.create_task(session.run(until_finished=True))
    await asyncio.sleep(0)
    session.start()
    await asyncio.wait_for(task, timeout=2.0)

    assert session.state is State.DIVERGED
    assert f"step {session.step_count + 1}" in session.message
    assert "with learning rate 10:" in session.message
    assert all_finite(session)
    with pytest.raises(RuntimeError):
        session.step()
    session.reset()
    assert session.state is State.IDLE


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_keeps_the_learning_rate_the_user_set():
    # bug: _diverge restores the optimizer's saved state with load_state_dict, which also restores its
    # hyperparameters, so an lr set with set_lr since the last epoch end silently reverts.
    session = TrainingSession(small_config())
    session.step()
    session.set_lr(5.0)
    session.step()
    session.model.layers[0].params["W"][...] = np.inf  # the overflow a learning rate of 5 can cause
    session.step()
    assert session.state is State.DIVERGED
    assert session.lr == 5.0
    assert session.history.lr_changes[-1] == (1, 5.0)
    assert "with learning rate 5:" in session.message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_after_reset_names_the_restore_point_of_the_new_run():
    # bug: _build does not reset _good_step, so after reset() the message names the old run's safe point.
    session = TrainingSession(small_config())
    for _ in range(session.batches_per_epoch):  # one epoch: a safe point at step 6
        session.step()
    session.reset()
    session.step()
    session.model.layers[0].params["W"][...] = np.inf
    session.step()
    assert session.state is State.DIVERGED
    assert_same_weights(weights(session), weights(TrainingSession(small_config())))
    assert "restored from step 0" in session.message


def test_an_epoch_end_with_non_finite_weights_is_not_a_safe_point(monkeypatch):
    # bug: _end_epoch saves the weights as the restore point without checking that they are finite. A dead
    # ReLU unit with a bias of -inf leaves the loss finite, so the epoch ends normally and saves the -inf.
    session = TrainingSession(small_config())
    session.step()
    session.model.layers[0].params["b"][0] = -np.inf
    while session.epoch < 1:
        assert session.step().finite
    nan_loss_on_call(session, monkeypatch, call=1)
    session.step()
    assert session.state is State.DIVERGED
    assert all_finite(session), "the weights restored after divergence are not finite"


# --- bounded history ----------------------------------------------------------------------------------------


def test_a_long_run_keeps_a_bounded_history():
    session = TrainingSession(small_config(training__epochs=ENDLESS, training__batch_size=8),
                              history_capacity=32, publish_interval=0.001)
    for _ in range(2000):
        session.step()
        session.publish()
    assert session.step_count == 2000
    assert len(session.history.step_loss) <= 32
    assert len(session.history.step_accuracy) <= 32
    assert session.history.grad_norms
    assert all(len(series) <= 32 for series in session.history.grad_norms.values())
    xs, _ys = session.history.step_loss.arrays()
    assert xs[0] < 100 and xs[-1] > 1900  # still the whole run
    assert len(session.history.epochs) == session.epoch  # epochs are few and kept whole


def test_session_history_state_round_trips():
    session = TrainingSession(small_config())
    session.train()
    restored = type(session.history).from_state(session.history.state())
    assert restored.state() == session.history.state()


# --- losses and tasks ---------------------------------------------------------------------------------------


def test_bce_trains_a_two_class_dataset_and_reports_accuracy():
    session = TrainingSession(small_config("moons", model__loss="bce", training__epochs=10))
    assert session.loss_name == "bce" and session.output_width() == 1
    session.train()
    assert session.state is State.FINISHED
    first, last = session.history.epochs[0], session.history.epochs[-1]
    assert 0 <= last.train_accuracy <= 1 and 0 <= last.val_accuracy <= 1
    assert last.val_accuracy > 0.75
    assert last.train_loss < first.train_loss
    predictions = session.predict(session.x_val)
    assert set(np.unique(predictions)) <= {0, 1}
    assert last.val_accuracy == pytest.approx(np.mean(predictions == session.y_val))


def test_bce_on_a_three_class_dataset_is_refused_naming_model_loss():
    config = small_config("spiral", model__loss="bce", data__n_classes=3)
    with pytest.raises(ConfigError) as caught:
        TrainingSession(config)
    assert caught.value.field == "model.loss"
    assert "model.loss" in str(caught.value) and "3 classes" in str(caught.value)


def test_regression_from_an_npz_file_trains_with_mse(linear_regression_file):
    config = apply_overrides(default_config(linear_regression_file), {
        "data.task": "regression", "model.hidden": [16], "training.epochs": 5})
    session = TrainingSession(config)
    assert isinstance(session.loss, MSE) and session.output_width() == 1
    result = session.step()
    assert math.isfinite(result.loss) and math.isnan(result.accuracy)

    session.train()

    assert session.state is State.FINISHED
    records = session.history.epochs
    assert len(records) == 5
    assert all(math.isnan(r.train_accuracy) and math.isnan(r.val_accuracy) for r in records)
    train_losses = [r.train_loss for r in records]
    val_losses = [r.val_loss for r in records]
    assert train_losses == sorted(train_losses, reverse=True), train_losses
    assert val_losses == sorted(val_losses, reverse=True), val_losses
    # the validation loss is the mean squared error of the model's outputs (standardised targets), worked out here
    predictions = session.predict_scores(session.x_val).astype(np.float64)
    assert records[-1].val_loss == pytest.approx(np.mean((predictions - session.y_val) ** 2), rel=1e-5)


async def test_slow_motion_caps_the_steps_per_second_and_full_speed_lifts_the_cap():
    session = TrainingSession(apply_overrides(default_config("spiral"), {"training.epochs": 1000}))
    session.max_steps_per_second = 40
    task = asyncio.create_task(session.run())
    await asyncio.sleep(0)
    session.start()
    await asyncio.sleep(0.5)
    slow_steps = session.step_count
    assert 5 <= slow_steps <= 25  # about 20 at 40 steps a second
    session.max_steps_per_second = None
    # (setting max_steps_per_second wakes a run waiting for its next slow step)
    await asyncio.sleep(0.3)
    assert session.step_count > slow_steps + 100
    session.stop()
    await asyncio.wait_for(task, 2)


def test_evaluating_and_predicting_leave_the_last_training_batch_in_the_layers():
    # The health numbers (dead units, saturation) describe the last training batch, even after the epoch's
    # validation or a view's predictions ran the model on other data.
    session = TrainingSession(apply_overrides(default_config("spiral"), {"training.epochs": 5}))
    session.step(collect_stats=True)
    before = session.layer_stats()
    cached = session.model.layers[1].x  # the ReLU input, kept for its backward
    session.evaluate(session.x_val, session.y_val)
    session.predict(np.zeros((7, 2)))
    assert session.model.layers[1].x is cached
    assert session.layer_stats() == before


async def test_three_quick_step_once_presses_train_three_batches():
    session = TrainingSession(apply_overrides(default_config("spiral"), {"training.epochs": 5}))
    task = asyncio.create_task(session.run())
    await asyncio.sleep(0)
    session.step_once()
    session.step_once()
    session.step_once()
    for _ in range(50):
        await asyncio.sleep(0.01)
    assert session.step_count == 3 and session.state is State.PAUSED
    session.stop()
    await asyncio.wait_for(task, 2)


def test_a_network_too_big_to_build_is_refused_by_name_before_any_memory_is_taken():
    config = apply_overrides(default_config("spiral"), {"model.hidden": [65536, 65536],
                                                        "model.activations": ["relu", "relu"]})
    with pytest.raises(ConfigError) as caught:
        TrainingSession(config)
    assert caught.value.field == "model.hidden"
    assert "4,295,426,051 parameters (2 -> 65536 -> 65536 -> 3)" in str(caught.value)


def test_a_reset_to_a_network_too_big_keeps_the_run_as_it_was():
    session = TrainingSession(default_config("spiral"))
    huge = apply_overrides(session.config, {"model.hidden": [65536, 65536]})

    with pytest.raises(ConfigError):
        session.reset(huge)

    assert session.config.model.hidden == [64, 64]
    session.step()


def test_a_run_that_finishes_between_two_publishes_still_leaves_its_last_step_measured():
    session = TrainingSession(small_config(), publish_interval=3600.0)  # no publish is ever due
    session.train()

    assert session.state is State.FINISHED
    final = session.snapshot()
    assert all(math.isfinite(layer.update_ratio) for layer in final.layers)
    assert set(session.last_updates) == {0, 2}


def test_gradient_norms_are_sampled_by_steps_not_by_wall_time():
    from nntui.train.session import GRAD_NORM_DENSE, GRAD_NORM_EVERY

    session = TrainingSession(small_config(training__epochs=30), publish_interval=3600.0)
    session.train()

    steps = session.step_count
    assert steps > GRAD_NORM_DENSE + 2 * GRAD_NORM_EVERY
    for layer in ("0", "2"):
        xs, ys = session.history.grad_norms[layer].arrays()
        every_step = set(range(1, GRAD_NORM_DENSE + 1))  # the first steps, where a run explodes if it does
        every_few = set(range(GRAD_NORM_EVERY, steps + 1, GRAD_NORM_EVERY))
        assert set(xs) == every_step | every_few | {steps}
        assert np.all(ys > 0)


def test_norms_of_weights_too_big_for_float32_squares_are_still_numbers():
    session = TrainingSession(small_config())
    session.step()
    session.model.layers[0].params["W"][...] = 3e18  # squares overflow float32; the norm itself fits

    stats = session.layer_stats()[0]

    assert math.isfinite(stats.weight_norm) and stats.weight_norm > 3e18
