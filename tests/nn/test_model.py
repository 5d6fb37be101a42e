"""Sequential models: whole-network gradient checks, shape checking, dtypes, seeding and initialisers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nntui
from nntui.nn import (
    MSE,
    SGD,
    Adam,
    BinaryCrossEntropy,
    Dropout,
    LeakyReLU,
    Linear,
    ReLU,
    RMSProp,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    gradcheck,
    init_weights,
    mlp,
    numerical_gradient,
    relative_error,
)

KINK_MARGIN = 1e-3


# -- helpers -----------------------------------------------------------------------------------------------------


def targets_for(loss_name: str, rng: np.random.Generator, batch: int, n_out: int) -> np.ndarray:
    if loss_name == "softmax_ce":
        return rng.integers(0, n_out, size=batch)
    if loss_name == "bce":
        return rng.integers(0, 2, size=(batch, n_out)).astype(np.float64)
    return rng.standard_normal((batch, n_out))


LOSS_CLASSES = {"softmax_ce": SoftmaxCrossEntropy, "bce": BinaryCrossEntropy, "mse": MSE}


def smallest_distance_from_a_kink(model: Sequential, x: np.ndarray) -> float:
    """The smallest |input| seen by any ReLU or LeakyReLU layer of ``model`` on ``x``."""
    smallest = np.inf
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            smallest = min(smallest, float(np.abs(x).min()))
        x = layer.forward(x, training=False)
    return smallest


def draw_input_away_from_kinks(model: Sequential, rng: np.random.Generator, batch: int) -> np.ndarray:
    """A random batch for which no ReLU-family pre-activation lies within 1e-3 of 0 (redrawn until so)."""
    for _ in range(1000):
        x = rng.standard_normal((batch, model.in_features))
        if smallest_distance_from_a_kink(model, x) > KINK_MARGIN:
            return x
    raise AssertionError("could not draw an input that keeps every ReLU away from its kink")


def training_step(model, loss, optimizer, x, y) -> float:
    value = loss.forward(model.forward(x), y)
    model.backward(loss.backward(), input_grad=False)
    optimizer.step(model)
    return value


# -- whole networks against finite differences -------------------------------------------------------------------

NETWORKS = {
    # name: (sizes, activations, loss, batch)
    "relu-1-hidden-batch-1": ([3, 5, 2], ["relu"], "softmax_ce", 1),
    "leaky_relu-tanh": ([4, 6, 5, 3], ["leaky_relu", "tanh"], "softmax_ce", 7),
    "sigmoid-relu-tanh": ([2, 7, 6, 5, 1], ["sigmoid", "relu", "tanh"], "bce", 5),
    "all-four-activations": ([5, 4, 6, 4, 3, 2], ["tanh", "leaky_relu", "sigmoid", "relu"], "mse", 9),
    "all-four-activations-batch-1": ([3, 6, 5, 4, 4, 3], ["relu", "sigmoid", "leaky_relu", "tanh"], "softmax_ce", 1),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_whole_network_gradients_match_finite_differences(name):
    sizes, activations, loss_name, batch = NETWORKS[name]
    rng = np.random.default_rng(sum(sizes) * 31 + batch)
    model = mlp(sizes, activations, rng=rng, dtype=np.float64)
    for layer in model.layers:
        if isinstance(layer, Linear):  # start from non-zero biases as well
            layer.params["b"][...] = 0.5 * rng.standard_normal(layer.out_features)
    x = draw_input_away_from_kinks(model, rng, batch)
    y = targets_for(loss_name, rng, batch, sizes[-1])

    errors = gradcheck(model, LOSS_CLASSES[loss_name](), x, y)

    n_linear = len(sizes) - 1
    assert sorted(errors) == sorted(f"{2 * i}.{key}" for i in range(n_linear) for key in "Wb")
    assert max(errors.values()) < 1e-6, {k: f"{v:.2e}" for k, v in errors.items()}


def test_gradcheck_returns_one_error_per_named_parameter():
    rng = np.random.default_rng(0)
    model = Sequential([Linear(3, 4, rng=rng, dtype=np.float64), Tanh(), Linear(4, 2, rng=rng, dtype=np.float64)])
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)

    errors = gradcheck(model, SoftmaxCrossEntropy(), x, y)

    assert list(errors) == ["0.W", "0.b", "2.W", "2.b"]
    assert all(isinstance(error, float) for error in errors.values())


class LinearWithDoubledWeightGradient(Linear):
    def backward(self, grad_y, input_grad=True):
        grad_x = super().backward(grad_y, input_grad)
        self.grads["W"] *= 2  # the bug: dL/dW = 2 x^T dL/dy
        return grad_x


class LinearThatForgetsTheTranspose(Linear):
    def backward(self, grad_y, input_grad=True):
        grad_x = super().backward(grad_y, input_grad)
        self.grads["W"][...] = grad_y.T @ self.x  # the bug: (x^T dL/dy)^T; same shape only for a square W
        return grad_x


class LinearWithAveragedBiasGradient(Linear):
    def backward(self, grad_y, input_grad=True):
        grad_x = super().backward(grad_y, input_grad)
        self.grads["b"] /= grad_y.shape[0]  # the bug: the mean over the batch instead of the sum
        return grad_x


@pytest.mark.parametrize(
    "broken_layer, broken_parameter",
    [
        (LinearWithDoubledWeightGradient, "2.W"),
        (LinearThatForgetsTheTranspose, "2.W"),
        (LinearWithAveragedBiasGradient, "2.b"),
    ],
    ids=["doubled-dW", "dW-not-transposed", "db-averaged"],
)
def test_gradcheck_detects_a_broken_backward(broken_layer, broken_parameter):
    rng = np.random.default_rng(3)
    model = Sequential([
        Linear(3, 4, rng=rng, dtype=np.float64), Tanh(),
        broken_layer(4, 4, rng=rng, dtype=np.float64), Tanh(),
        Linear(4, 2, rng=rng, dtype=np.float64),
    ])
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)

    errors = gradcheck(model, SoftmaxCrossEntropy(), x, y)

    assert errors[broken_parameter] > 1e-2, errors
    # The broken layer still passes the right dL/dx down, so the layers below it check out.
    assert errors["0.W"] < 1e-6 and errors["0.b"] < 1e-6, errors


def test_gradcheck_with_max_checks_samples_entries_and_still_detects_a_bug():
    rng = np.random.default_rng(4)
    model = Sequential([LinearWithDoubledWeightGradient(20, 30, rng=rng, dtype=np.float64), Sigmoid(),
                        Linear(30, 3, rng=rng, dtype=np.float64)])
    x, y = rng.standard_normal((6, 20)), rng.integers(0, 3, size=6)

    errors = gradcheck(model, SoftmaxCrossEntropy(), x, y, max_checks=10, rng=np.random.default_rng(0))

    assert errors["0.W"] > 1e-2 and errors["2.W"] < 1e-6, errors


def test_relative_error_has_a_floor_so_two_near_zero_gradients_agree():
    # |a - n| / max(|a|, |n|, 1e-4)
    np.testing.assert_allclose(relative_error(np.array([1e-9]), np.array([3e-9])), [2e-9 / 1e-4])
    np.testing.assert_allclose(relative_error(np.array([2.0]), np.array([1.0])), [0.5])


def test_numerical_gradient_matches_a_derivative_known_by_hand():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])

    # d/dx sum(x^3) = 3 x^2
    grad = numerical_gradient(lambda: float(np.sum(x**3)), x)

    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # x is restored


def test_numerical_gradient_perturbs_a_non_contiguous_array_too():
    # A transposed view (``W.T``) cannot be reshaped to a flat view; perturbing a flat *copy* would leave x
    # untouched and silently report a zero gradient.
    x = np.arange(1.0, 7.0).reshape(2, 3).T

    grad = numerical_gradient(lambda: float(np.sum(x**2)), x)

    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


# -- building a Sequential ---------------------------------------------------------------------------------------


def test_a_2_4_1_network_is_accepted():
    rng = np.random.default_rng(0)
    model = Sequential([Linear(2, 4, rng=rng), Tanh(), Linear(4, 1, rng=rng)])

    assert model.forward(np.zeros((3, 2))).shape == (3, 1)
    assert (model.in_features, model.out_features) == (2, 1)


def test_a_linear_relu_linear_stack_is_accepted():
    # The seed notebook's shape check refused this, the most common network of all.
    rng = np.random.default_rng(0)
    model = Sequential([Linear(2, 16, rng=rng), ReLU(), Linear(16, 3, rng=rng)])

    assert model.forward(np.ones((5, 2))).shape == (5, 3)


def test_a_width_mismatch_is_refused_naming_the_layer_and_both_widths():
    with pytest.raises(ValueError, match=r"layer 2 .*expects 3 input features.*outputs 4"):
        Sequential([Linear(2, 4), ReLU(), Linear(3, 1)])


def test_a_width_mismatch_right_after_the_first_layer_is_refused():
    with pytest.raises(ValueError, match=r"layer 1 .*expects 5 input features.*outputs 4"):
        Sequential([Linear(2, 4), Linear(5, 1)])


def test_an_empty_model_is_refused():
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])


def test_something_that_is_not_a_layer_is_refused():
    with pytest.raises(TypeError, match="layer 1"):
        Sequential([Linear(2, 3), np.tanh])


def test_layers_of_different_dtypes_are_refused():
    with pytest.raises(ValueError, match="dtype"):
        Sequential([Linear(2, 3, dtype=np.float32), ReLU(), Linear(3, 1, dtype=np.float64)])


def test_an_input_of_the_wrong_width_is_refused_naming_the_shape_expected():
    # Errors speak to a person, and Sequential is the boundary where shapes are checked; numpy's own "matmul:
    # Input operand 1 has a mismatch in its core dimension 0, with gufunc signature ..." does not.
    model = Sequential([Linear(3, 2), ReLU(), Linear(2, 1)])

    with pytest.raises(ValueError, match=r"\(batch, 3\).*3 features.*got \(5, 4\)"):
        model.forward(np.zeros((5, 4)))


def test_a_single_sample_given_as_a_flat_vector_is_refused_naming_the_shape_expected():
    model = Sequential([Linear(3, 2)])

    with pytest.raises(ValueError, match=r"\(batch, 3\).*got \(3,\)"):
        model.forward(np.zeros(3))


# -- inspecting a Sequential -------------------------------------------------------------------------------------


def test_parameters_yields_name_parameter_and_gradient_in_layer_order():
    model = Sequential([Linear(3, 5), ReLU(), Linear(5, 2), Sigmoid()])

    triples = list(model.parameters())

    assert [name for name, _, _ in triples] == ["0.W", "0.b", "2.W", "2.b"]
    first, second = model.layers[0], model.layers[2]
    expected = [first.params["W"], first.params["b"], second.params["W"], second.params["b"]]
    expected_grads = [first.grads["W"], first.grads["b"], second.grads["W"], second.grads["b"]]
    assert all(param is want for (_, param, _), want in zip(triples, expected))
    assert all(grad is want for (_, _, grad), want in zip(triples, expected_grads))


def test_n_params_counts_every_weight_and_bias():
    model = Sequential([Linear(3, 5), ReLU(), Linear(5, 2), Dropout(0.1), Linear(2, 4)])

    # (3*5 + 5) + (5*2 + 2) + (2*4 + 4) = 20 + 12 + 12
    assert model.n_params == 44


def test_summary_lists_each_layer_and_the_total():
    model = Sequential([Linear(30, 40), ReLU(), Linear(40, 2)])

    summary = model.summary()

    for text in ("Linear(30 -> 40)", "ReLU()", "Linear(40 -> 2)", "1,240", "82"):
        assert text in summary, summary
    # 30*40 + 40 + 40*2 + 2 = 1,322 in total
    assert "total parameters: 1,322" in summary, summary


def test_backward_without_input_gradient_returns_none_and_still_fills_every_gradient():
    rng = np.random.default_rng(6)
    model = mlp([4, 5, 3], "tanh", rng=rng, dtype=np.float64)
    x, grad_y = rng.standard_normal((7, 4)), rng.standard_normal((7, 3))
    model.forward(x)
    model.backward(grad_y, input_grad=True)
    with_input_grad = {name: grad.copy() for name, _, grad in model.parameters()}
    for _, _, grad in model.parameters():
        grad[...] = np.nan

    model.forward(x)
    result = model.backward(grad_y, input_grad=False)

    assert result is None
    for name, _, grad in model.parameters():
        np.testing.assert_array_equal(grad, with_input_grad[name], err_msg=name)


@pytest.mark.parametrize("first_layer", [ReLU, Tanh, lambda: Dropout(0.5)], ids=["relu", "tanh", "dropout"])
def test_backward_without_input_gradient_returns_none_whatever_the_first_layer(first_layer):
    # Layer.backward promises "dL/dx (or None when input_grad is False)"; the activations ignore the flag.
    model = Sequential([first_layer(), Linear(3, 2)])
    model.forward(np.ones((4, 3)))

    assert model.backward(np.ones((4, 2)), input_grad=False) is None


# -- dtypes ------------------------------------------------------------------------------------------------------


def every_kind_of_layer(rng, dtype) -> Sequential:
    return Sequential([
        Linear(3, 6, rng=rng, dtype=dtype), ReLU(),
        Linear(6, 6, rng=rng, dtype=dtype), LeakyReLU(),
        Linear(6, 5, rng=rng, dtype=dtype), Tanh(),
        Linear(5, 5, rng=rng, dtype=dtype), Sigmoid(), Dropout(0.2, rng=rng),
        Linear(5, 2, rng=rng, dtype=dtype),
    ])


def test_forward_casts_a_float64_input_to_a_float32_model():
    model = every_kind_of_layer(np.random.default_rng(0), np.float32)

    y = model.forward(np.random.default_rng(1).standard_normal((4, 3)))  # float64

    assert model.dtype == np.float32
    assert y.dtype == np.float32


@pytest.mark.parametrize("loss_name", ["softmax_ce", "bce", "mse"])
def test_a_float32_model_stays_float32_through_every_layer_and_every_gradient(loss_name):
    rng = np.random.default_rng(2)
    model = every_kind_of_layer(rng, np.float32)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = targets_for(loss_name, rng, 8, 2)  # float64 or int64 targets, as a user would pass them
    loss = LOSS_CLASSES[loss_name]()

    activations = x
    for index, layer in enumerate(model.layers):
        activations = layer.forward(activations, training=True)
        assert activations.dtype == np.float32, f"layer {index} {layer!r} output is {activations.dtype}"
    loss.forward(activations, y)
    grad = loss.backward()
    assert grad.dtype == np.float32, f"{loss!r}.backward() is {grad.dtype}"
    for index in reversed(range(len(model.layers))):
        grad = model.layers[index].backward(grad)
        assert grad.dtype == np.float32, f"dL/dx of layer {index} {model.layers[index]!r} is {grad.dtype}"
    for name, _, grad in model.parameters():
        assert grad.dtype == np.float32, f"grad {name} is {grad.dtype}"


OPTIMIZERS_WITH_EVERY_OPTION = {
    "sgd": lambda: SGD(lr=0.1),
    "sgd-momentum-weight-decay": lambda: SGD(lr=0.1, momentum=0.9, weight_decay=1e-3),
    "sgd-nesterov": lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "rmsprop": lambda: RMSProp(lr=0.01),
    "rmsprop-momentum-weight-decay": lambda: RMSProp(lr=0.01, momentum=0.9, weight_decay=1e-3),
    "adam-weight-decay": lambda: Adam(lr=1e-3, weight_decay=1e-3),
}


@pytest.mark.parametrize("optimizer_name", OPTIMIZERS_WITH_EVERY_OPTION)
def test_a_float32_model_stays_float32_after_optimizer_steps(optimizer_name):
    rng = np.random.default_rng(3)
    model = every_kind_of_layer(rng, np.float32)
    optimizer = OPTIMIZERS_WITH_EVERY_OPTION[optimizer_name]()
    x, y = rng.standard_normal((8, 3)), rng.integers(0, 2, size=8)

    for _ in range(3):
        training_step(model, SoftmaxCrossEntropy(), optimizer, x, y)

    for name, param, grad in model.parameters():
        assert param.dtype == np.float32, f"param {name} is {param.dtype}"
        assert grad.dtype == np.float32, f"grad {name} is {grad.dtype}"
    for name, buffers in optimizer.state.items():
        for key, buffer in buffers.items():
            assert buffer.dtype == np.float32, f"optimizer state {name}.{key} is {buffer.dtype}"


# -- seeding -----------------------------------------------------------------------------------------------------


def test_the_same_seed_gives_bit_identical_weights():
    first = mlp([4, 16, 8, 3], ["relu", "tanh"], dropout=0.1, rng=np.random.default_rng(123))
    second = mlp([4, 16, 8, 3], ["relu", "tanh"], dropout=0.1, rng=np.random.default_rng(123))

    for (name, a, _), (_, b, _) in zip(first.parameters(), second.parameters()):
        assert np.array_equal(a, b), name


def test_a_different_seed_gives_different_weights():
    first = mlp([4, 16, 3], "relu", rng=np.random.default_rng(1))
    second = mlp([4, 16, 3], "relu", rng=np.random.default_rng(2))

    assert not np.array_equal(first.layers[0].params["W"], second.layers[0].params["W"])


def twenty_steps_from_seed(seed: int) -> tuple[list[float], list[np.ndarray]]:
    """Train a model with dropout on seeded minibatches; return the losses and the final weights."""
    rng = np.random.default_rng(seed)
    model = mlp([4, 16, 8, 3], ["relu", "tanh"], dropout=0.2, rng=rng)
    optimizer = Adam(lr=0.01, weight_decay=1e-4)
    loss = SoftmaxCrossEntropy()
    data, labels = rng.standard_normal((64, 4)), rng.integers(0, 3, size=64)
    losses = []
    for _ in range(20):
        batch = rng.choice(64, size=16, replace=False)
        losses.append(training_step(model, loss, optimizer, data[batch], labels[batch]))
    return losses, [param.copy() for _, param, _ in model.parameters()]


def test_the_same_seed_gives_a_bit_identical_training_trajectory():
    losses_a, weights_a = twenty_steps_from_seed(99)
    losses_b, weights_b = twenty_steps_from_seed(99)

    assert losses_a == losses_b
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))


# -- initialisers ------------------------------------------------------------------------------------------------

# A (400, 250) weight matrix: fan_in 400 and fan_out 250 differ, so a swapped fan would show.
FAN_IN, FAN_OUT = 400, 250
INIT_VARIANCES = {
    "he_normal": 2 / 400,
    "he_uniform": 2 / 400,
    "xavier_normal": 2 / (400 + 250),
    "xavier_uniform": 2 / (400 + 250),
}


@pytest.mark.parametrize("name", INIT_VARIANCES)
def test_initialiser_draws_weights_with_the_intended_variance_and_zero_bias(name):
    layer = Linear(FAN_IN, FAN_OUT, init=name, rng=np.random.default_rng(17), dtype=np.float64)
    weights = layer.params["W"]

    # 100,000 draws: the sample variance is within ~0.5% (one sigma) of the true one, so 3% is generous.
    assert weights.var() == pytest.approx(INIT_VARIANCES[name], rel=0.03)
    assert abs(weights.mean()) < 0.01 * weights.std()
    np.testing.assert_array_equal(layer.params["b"], np.zeros(FAN_OUT))


@pytest.mark.parametrize("name", ["he_uniform", "xavier_uniform"])
def test_uniform_initialisers_stay_within_the_limit_for_their_variance(name):
    weights = init_weights(name, FAN_IN, FAN_OUT, rng=np.random.default_rng(5), dtype=np.float64)

    # a uniform draw on [-limit, limit] has variance limit^2 / 3
    limit = np.sqrt(3 * INIT_VARIANCES[name])
    assert np.abs(weights).max() <= limit
    assert np.abs(weights).max() > 0.99 * limit


@pytest.mark.parametrize("short, full", [("he", "he_normal"), ("xavier", "xavier_normal")])
def test_short_initialiser_names_mean_the_normal_versions(short, full):
    a = init_weights(short, 5, 4, rng=np.random.default_rng(0))
    b = init_weights(full, 5, 4, rng=np.random.default_rng(0))

    np.testing.assert_array_equal(a, b)


def test_an_unknown_initialiser_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown initialiser 'lecun'.*he_normal"):
        Linear(3, 2, init="lecun")


@pytest.mark.parametrize("act, variance", [("relu", 2 / 400), ("tanh", 2 / (400 + 250))])
def test_mlp_picks_he_for_relu_and_xavier_for_tanh(act, variance):
    model = mlp([400, 250, 2], act, rng=np.random.default_rng(8), dtype=np.float64)

    assert model.layers[0].params["W"].var() == pytest.approx(variance, rel=0.03)


def test_mlp_puts_an_activation_and_dropout_after_each_hidden_layer():
    model = mlp([2, 8, 4, 1], ["relu", "sigmoid"], dropout=0.3, rng=np.random.default_rng(0))

    kinds = [type(layer) for layer in model.layers]
    assert kinds == [Linear, ReLU, Dropout, Linear, Sigmoid, Dropout, Linear]


def test_mlp_with_the_wrong_number_of_activations_is_refused():
    with pytest.raises(ValueError, match="2 hidden layers but 1 activations"):
        mlp([2, 8, 4, 1], ["relu"])


# -- the package itself ------------------------------------------------------------------------------------------

PACKAGE_FILES = sorted(Path(nntui.__file__).parent.rglob("*.py"))


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda p: str(p.relative_to(Path(nntui.__file__).parent)))
def test_every_module_parses_on_this_python(path):
    # The seed notebook used 3.12-only syntax (a backslash inside an f-string); nntui supports Python 3.11, and
    # CI runs the tests on 3.11, where compile() applies that version's grammar.
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")  # a SyntaxError fails the test
    assert code.co_filename == str(path)


def test_gradcheck_warns_that_a_float32_model_gives_rounding_noise():
    import warnings

    from nntui.nn import Linear, Sequential, SoftmaxCrossEntropy, gradcheck

    model = Sequential([Linear(2, 3, rng=np.random.default_rng(0))])  # float32, the default
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 2, 0])
    with pytest.warns(UserWarning, match="gradcheck on a float32 model: finite differences need float64"):
        gradcheck(model, SoftmaxCrossEntropy(), x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a float64 model: no warning
        gradcheck(Sequential([Linear(2, 3, rng=np.random.default_rng(0), dtype=np.float64)]),
                  SoftmaxCrossEntropy(), x.astype(np.float64), y)


def test_misusing_the_engine_gets_messages_that_say_what_to_do():
    from nntui.nn import SGD, Linear, Sequential, SoftmaxCrossEntropy

    with pytest.raises(AttributeError, match=r"call forward\(pred, target\) before backward\(\)"):
        SoftmaxCrossEntropy().backward()
    model = Sequential([Linear(2, 3, rng=np.random.default_rng(0))])
    with pytest.raises(RuntimeError, match=r"backward\(\) needs a forward\(\) first"):
        model.backward(np.ones((4, 3), np.float32))
    model.forward(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"got a gradient of shape \(4, 5\); it needs \(4, 3\)"):
        model.backward(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match="whole numbers of at least 1"):
        Linear(2.5, 3)
    with pytest.raises(ValueError, match="floating dtype"):
        Linear(2, 3, dtype=np.int32)
    with pytest.raises(TypeError, match="must be numbers"):
        SGD(lr="0.1")
