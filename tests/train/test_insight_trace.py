"""The show-the-math trace: its numbers reproduce the model's forward output and the gradients, and tracing
never disturbs training.

The references are independent of the trace: the session's own model run directly, a fresh loss object,
products recomputed from the recorded numbers, and central finite differences on a float64 copy of the model.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from nntui.nn import Dropout, Linear
from nntui.nn.layers import LeakyReLU, ReLU, Sigmoid, Tanh
from nntui.train.config import apply_overrides, default_config
from nntui.train.insight.trace import format_number, format_vector, sample_label, trace_sample
from nntui.train.session import TrainingSession

ENDLESS = 1_000_000


def make_session(dataset: str = "spiral", steps: int = 20, **overrides) -> TrainingSession:
    """A small seeded session trained ``steps`` batches; overrides use dotted names with "__" for the dot."""
    settings = {"data.n_samples": 200, "model.hidden": [16, 8], "model.activations": ["relu", "relu"],
                "training.epochs": ENDLESS}
    settings.update({key.replace("__", "."): value for key, value in overrides.items()})
    session = TrainingSession(apply_overrides(default_config(dataset), settings))
    for _ in range(steps):
        session.step()
    return session


@pytest.fixture
def regression_file(tmp_path):
    """An .npz file with x (120, 3) and two targets per sample, y (120, 2)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 3))
    y = np.tanh(x @ rng.normal(size=(3, 2))) + 0.1
    path = tmp_path / "regression.npz"
    np.savez(path, x=x, y=y)
    return str(path)


def regression_session(path: str, steps: int = 10, **overrides) -> TrainingSession:
    settings = {"data.task": "regression", "model.hidden": [6], "model.activations": ["tanh"],
                "training.epochs": ENDLESS}
    settings.update({key.replace("__", "."): value for key, value in overrides.items()})
    session = TrainingSession(apply_overrides(default_config(path), settings))
    for _ in range(steps):
        session.step()
    return session


def forward_steps(steps):
    return {s.layer: s for s in steps if s.phase == "forward"}


def backward_steps(steps):
    return {s.layer: s for s in steps if s.phase == "backward" and s.layer is not None}


def loss_step(steps):
    return next(s for s in steps if s.phase == "loss")


# -- the shape of a trace --------------------------------------------------------------------------------------


def test_a_trace_is_every_layer_forward_then_the_loss_then_every_layer_backward():
    session = make_session()
    steps = trace_sample(session, 3)
    n = len(session.model.layers)
    assert [s.phase for s in steps] == ["forward"] * n + ["loss"] + ["backward"] * (n + 1)
    assert [s.layer for s in steps] == [*range(n), None, None, *range(n - 1, -1, -1)]
    assert steps[0].formula == "y = x · W + b"
    assert steps[1].formula == "y = relu(x) = max(x, 0)"
    assert "softmax" in loss_step(steps).formula
    # The backward formulas are the engine's own comment lines, one per line.
    assert backward_steps(steps)[0].formula.splitlines() == [
        "dL/dW = x^T @ dL/dy", "dL/db = sum over the batch of dL/dy", "dL/dx = dL/dy @ W^T"]
    assert steps[n + 1].formula == "dL/dz = (softmax(z) - onehot(target)) / batch"


def test_the_recorded_arrays_are_read_only_copies():
    session = make_session()
    steps = trace_sample(session, 0)
    first = steps[0]
    assert not first.arrays["W"].flags.writeable
    assert first.arrays["W"] is not session.model.layers[0].params["W"]
    with pytest.raises(ValueError):
        first.arrays["y"][0, 0] = 1.0


# -- the numbers reproduce the model ---------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "val"])
def test_the_final_forward_output_equals_the_models_own_forward(split):
    session = make_session()
    xs = session.x_train if split == "train" else session.x_val
    for index in (0, 7, len(xs) - 1):
        steps = trace_sample(session, index, split)
        forward = forward_steps(steps)
        expected = session.model.forward(xs[index:index + 1], training=False)
        assert np.array_equal(forward[len(session.model.layers) - 1].arrays["y"], expected)
        assert np.array_equal(forward[0].arrays["x"], xs[index:index + 1])
        assert np.array_equal(loss_step(steps).arrays["pred"], expected)


def test_each_forward_step_takes_the_previous_steps_output():
    session = make_session()
    forward = forward_steps(trace_sample(session, 5))
    for i in range(1, len(forward)):
        assert np.array_equal(forward[i].arrays["x"], forward[i - 1].arrays["y"]), f"layer {i}"
    # and a Linear's output is x · W + b with the numbers it shows
    step = forward[2]
    np.testing.assert_allclose(step.arrays["y"], step.arrays["x"] @ step.arrays["W"] + step.arrays["b"],
                               rtol=1e-6, atol=1e-6)


def test_the_loss_equals_a_fresh_loss_on_the_output():
    session = make_session()
    for index in (0, 11):
        steps = trace_sample(session, index)
        output = session.model.forward(session.x_train[index:index + 1], training=False)
        reference = type(session.loss)()
        step = loss_step(steps)
        assert float(step.arrays["L"]) == reference.forward(output, session.y_train[index:index + 1])
        # p is what the formula says, exp(pred) / sum(exp(pred)), worked out here independently in float64
        z = step.arrays["pred"].astype(np.float64)
        np.testing.assert_allclose(step.arrays["p"], np.exp(z) / np.exp(z).sum(), rtol=1e-12, atol=0)
        assert step.arrays["target"][0, session.y_train[index]] == 1 and step.arrays["target"].sum() == 1


def test_the_loss_gradient_is_softmax_minus_the_one_hot_target():
    session = make_session()
    steps = trace_sample(session, 4)
    loss = loss_step(steps)
    grad = next(s for s in steps if s.phase == "backward" and s.layer is None).arrays["dL/dpred"]
    np.testing.assert_allclose(grad, loss.arrays["p"] - loss.arrays["target"], rtol=1e-6, atol=1e-7)


def test_each_linear_gradient_equals_x_transposed_times_dL_dy_from_the_recorded_numbers():
    session = make_session()
    steps = trace_sample(session, 9)
    forward, backward = forward_steps(steps), backward_steps(steps)
    for index, layer in enumerate(session.model.layers):
        if not isinstance(layer, Linear):
            continue
        step = backward[index]
        x, grad_y = forward[index].arrays["x"], step.arrays["dL/dy"]
        assert np.array_equal(step.arrays["x"], x)
        # a batch of one: dL/dW is the outer product of x and dL/dy, each entry one rounded product
        assert np.array_equal(step.arrays["dL/dW"], x.T @ grad_y), f"layer {index}"
        assert np.array_equal(step.arrays["dL/db"], grad_y[0])
        np.testing.assert_allclose(step.arrays["dL/dx"], grad_y @ forward[index].arrays["W"].T,
                                   rtol=1e-5, atol=1e-8)


def test_each_backward_step_receives_the_dL_dx_of_the_step_after_it():
    session = make_session()
    steps = trace_sample(session, 2)
    backward = [s for s in steps if s.phase == "backward"]
    for later, earlier in itertools.pairwise(backward):
        incoming = later.arrays["dL/dpred"] if later.layer is None else later.arrays["dL/dx"]
        assert np.array_equal(earlier.arrays["dL/dy"], incoming), earlier.title


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_an_activations_gradient_is_dL_dy_times_its_derivative(activation):
    session = make_session(model__activations=[activation, activation], model__dropout=0.3)
    steps = trace_sample(session, 1)
    forward, backward = forward_steps(steps), backward_steps(steps)
    kinds = {ReLU: "relu", LeakyReLU: "leaky_relu", Tanh: "tanh", Sigmoid: "sigmoid"}
    for index, layer in enumerate(session.model.layers):
        if isinstance(layer, Linear):
            continue
        step = backward[index]
        x, y = forward[index].arrays["x"], forward[index].arrays["y"]
        if isinstance(layer, Dropout):
            assert np.array_equal(y, x)  # evaluation: dropout is off
            expected = np.ones_like(x)
        else:
            assert kinds[type(layer)] == activation
            expected = {"relu": (x > 0).astype(x.dtype), "leaky_relu": np.where(x > 0, 1.0, 0.01),
                        "tanh": 1 - y * y, "sigmoid": y * (1 - y)}[activation]
        np.testing.assert_allclose(step.arrays["f'(x)"], expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(step.arrays["dL/dx"], step.arrays["dL/dy"] * step.arrays["f'(x)"],
                                   rtol=1e-6, atol=1e-9)


# -- the gradients are the loss's derivatives (finite differences) ---------------------------------------------


def single_sample_loss(model, loss_class, x, target) -> float:
    return loss_class().forward(model.forward(x, training=False), target)


def finite_difference_gradients(session, index: int, eps: float = 1e-6):
    """Central differences of the one-sample loss for every parameter and for the input, on a float64 copy."""
    model = copy.deepcopy(session.model)
    loss_class = type(session.loss)
    x = session.x_train[index:index + 1].astype(np.float64)
    target = session.y_train[index:index + 1]
    grads = {}
    for layer_index, layer in enumerate(model.layers):
        for name, param in layer.params.items():
            grad = np.zeros_like(param)
            for position in np.ndindex(param.shape):
                saved = param[position]
                param[position] = saved + eps
                plus = single_sample_loss(model, loss_class, x, target)
                param[position] = saved - eps
                minus = single_sample_loss(model, loss_class, x, target)
                param[position] = saved
                grad[position] = (plus - minus) / (2 * eps)
            grads[layer_index, name] = grad
    grad_x = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[position] += eps
        plus = single_sample_loss(model, loss_class, shifted, target)
        shifted[position] -= 2 * eps
        minus = single_sample_loss(model, loss_class, shifted, target)
        grad_x[position] = (plus - minus) / (2 * eps)
    grads["input"] = grad_x
    return grads


def assert_trace_matches_finite_differences(session, index: int) -> None:
    assert session.model.dtype == np.float64
    backward = backward_steps(trace_sample(session, index))
    reference = finite_difference_gradients(session, index)
    for (layer_index, name), expected in ((k, v) for k, v in reference.items() if k != "input"):
        mine = backward[layer_index].arrays[f"dL/d{name}"]
        assert mine.shape == expected.shape
        np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-8,
                                   err_msg=f"layer {layer_index} {name}: mine vs finite differences")
    np.testing.assert_allclose(backward[0].arrays["dL/dx"], reference["input"], rtol=1e-6, atol=1e-8,
                               err_msg="dL/dx of the input: mine vs finite differences")


def test_softmax_ce_gradients_equal_finite_differences_on_a_float64_model():
    session = make_session(steps=15, model__dtype="float64", model__hidden=[5, 4],
                           model__activations=["tanh", "sigmoid"])
    assert_trace_matches_finite_differences(session, 6)


def test_bce_gradients_equal_finite_differences_on_a_float64_model():
    session = make_session("moons", steps=15, model__dtype="float64", model__hidden=[4],
                           model__activations=["tanh"], model__loss="bce")
    assert session.loss_name == "bce"
    assert_trace_matches_finite_differences(session, 2)
    step = loss_step(trace_sample(session, 2))
    z = step.arrays["pred"]
    np.testing.assert_allclose(step.arrays["p"], 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_mse_gradients_equal_finite_differences_on_a_float64_model(regression_file):
    session = regression_session(regression_file, model__dtype="float64")
    assert session.loss_name == "mse"
    assert_trace_matches_finite_differences(session, 5)
    step = loss_step(trace_sample(session, 5))
    assert step.arrays["target"].shape == (1, 2)
    assert float(step.arrays["L"]) == pytest.approx(np.mean((step.arrays["pred"] - step.arrays["target"]) ** 2))


# -- tracing does not disturb training -------------------------------------------------------------------------


def engine_state(session) -> dict:
    """Copies of every array the model, loss and optimizer hold, and the random streams' states."""
    state = {}
    for i, layer in enumerate(session.model.layers):
        for attribute, value in vars(layer).items():
            if isinstance(value, np.ndarray):
                state[f"layer {i}.{attribute}"] = value.copy()
            elif isinstance(value, dict):
                for key, array in value.items():
                    state[f"layer {i}.{attribute}[{key}]"] = array.copy()
            elif isinstance(value, np.random.Generator):
                state[f"layer {i}.rng"] = copy.deepcopy(value.bit_generator.state)
    for attribute, value in vars(session.loss).items():
        if isinstance(value, np.ndarray):
            state[f"loss.{attribute}"] = value.copy()
    for key, value in session.optimizer.state_dict().items():
        state[f"optimizer.{key}"] = copy.deepcopy(value)
    state["dropout rng"] = copy.deepcopy(session.dropout_rng.bit_generator.state)
    state["shuffle rng"] = copy.deepcopy(session.shuffle_rng.bit_generator.state)
    return state


def assert_same_state(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, after[key], equal_nan=True), key
        else:
            assert repr(value) == repr(after[key]), key


def test_tracing_leaves_the_sessions_model_loss_and_optimizer_untouched():
    session = make_session(model__dropout=0.2)
    first = session.model.layers[0]
    cached_x = first.x
    before = engine_state(session)
    assert "layer 0.x" in before and "layer 0.grads[W]" in before and "loss.labels" in before
    for index, split in ((0, "train"), (5, "val"), (17, "train")):
        trace_sample(session, index, split)
    assert_same_state(before, engine_state(session))
    assert first.x is cached_x and np.array_equal(first.x, before["layer 0.x"])
    assert session.step_count == 20


def test_training_after_a_trace_is_bit_identical_to_training_without_one():
    traced, plain = make_session(model__dropout=0.2), make_session(model__dropout=0.2)
    trace_sample(traced, 3)
    trace_sample(traced, 1, "val")
    losses_traced = [traced.step().loss for _ in range(20)]
    losses_plain = [plain.step().loss for _ in range(20)]
    assert losses_traced == losses_plain
    for (name, mine, _), (_, reference, _) in zip(traced.model.parameters(), plain.model.parameters()):
        assert np.array_equal(mine, reference), name


def test_a_diverged_model_is_traced_without_raising():
    session = make_session(steps=2)
    session.model.layers[0].params["W"][0, 0] = np.nan
    with np.errstate(all="raise"):  # no NumPy warning escapes either
        steps = trace_sample(session, 0)
    assert np.isnan(float(loss_step(steps).arrays["L"]))


def test_a_sample_outside_the_split_is_refused_with_the_splits_size():
    session = make_session(steps=0)
    n = len(session.x_val)
    with pytest.raises(IndexError, match=f"val split, which has {n} samples"):
        trace_sample(session, n, "val")
    with pytest.raises(IndexError):
        trace_sample(session, -1)
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        trace_sample(session, 0, "test")


def test_sample_labels_read_like_a_person_would_say_them(regression_file):
    session = make_session(steps=0)
    assert sample_label(session, 0) == f"class {session.y_train[0]}"
    regression = regression_session(regression_file, steps=0)
    assert sample_label(regression, 0) == "target " + format_vector(regression.y_train[0])


# -- numbers as text -------------------------------------------------------------------------------------------


def test_format_vector_shows_short_vectors_whole_with_three_significant_digits():
    assert format_vector([0.123456, -1234.5678, 1e-7, 2.0]) == "[0.123, -1.23e+03, 1e-07, 2]"
    assert format_vector(np.array([[0.5, -0.25]])) == "[0.5, -0.25]"  # a batch-of-one row
    assert format_vector([]) == "[]"


def test_format_vector_truncates_wide_vectors_keeping_both_ends():
    v = np.arange(64) / 100
    assert format_vector(v) == "[0, 0.01, 0.02, 0.03, 0.04, 0.05, … 56 more …, 0.62, 0.63]"
    assert format_vector(v, max_items=4) == "[0, 0.01, 0.02, … 60 more …, 0.63]"
    assert format_vector(v, max_items=8) .count(",") == 8  # 8 numbers and the count between them
    assert format_vector(v[:8], max_items=8) == "[0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07]"
    assert format_vector(v[:9], max_items=8) == "[0, 0.01, 0.02, 0.03, 0.04, 0.05, … 1 more …, 0.07, 0.08]"


def test_format_number_never_shows_minus_zero_and_names_non_finite_values():
    assert format_number(-0.0) == "0"
    assert format_number(float("nan")) == "nan"
    assert format_number(float("-inf")) == "-inf"
    assert format_number(np.float32(0.1)) == "0.1"
    assert format_number(2 / 3, digits=5) == "0.66667"


def test_the_loss_step_names_the_predicted_classs_own_probability_and_gives_no_verdict_on_nan():
    import types

    from nntui.nn import BinaryCrossEntropy, SoftmaxCrossEntropy
    from nntui.train.insight.trace import _loss_step

    bce = BinaryCrossEntropy()
    pred = np.array([[-0.5]])
    value = bce(pred, np.array([1]))
    session = types.SimpleNamespace(loss_name="bce")
    note = _loss_step(bce, pred, np.array([1]), value, session).note
    assert note.startswith("predicted class 0 (p = 0.622") and note.endswith("label 1: wrong")

    ce = SoftmaxCrossEntropy()
    pred = np.array([[np.nan, np.inf, np.nan]])
    with np.errstate(all="ignore"):
        value = ce(pred, np.array([0]))
    note = _loss_step(ce, pred, np.array([0]), value, types.SimpleNamespace(loss_name="softmax_ce")).note
    assert note == "no prediction: the output holds NaN or inf (label 0)"


def test_the_probabilities_shown_are_the_formulas_even_where_training_floors_them():
    # A confident float32 output: the training loss floors exp() of the logit gaps at ~3e-10 (for speed); the
    # Math view shows p = exp(pred) / sum(exp(pred)) exactly, as its formula says.
    session = make_session()
    last = session.model.layers[-1]
    last.params["W"][...] = 0
    last.params["b"][...] = [0.0, -27.3, -50.0]
    step = loss_step(trace_sample(session, 0))
    expected = np.exp([0.0, -27.3, -50.0]) / np.exp([0.0, -27.3, -50.0]).sum()
    np.testing.assert_allclose(step.arrays["p"][0], expected, rtol=1e-6)
    assert step.arrays["p"][0, 2] < 1e-20
