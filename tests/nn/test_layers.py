"""Layers: each backward pass against central finite differences, plus the behaviours a learner relies on.

A layer maps ``x`` to ``y``; to check its backward on its own we give it the loss ``L = sum(y * R)`` for a fixed
random ``R``, whose gradient with respect to ``y`` is exactly ``R``. Then ``backward(R)`` must return ``dL/dx``
and fill ``grads`` with ``dL/dparam``, and both can be compared entry by entry with finite differences of ``L``.
Everything is float64 (float32 has too few digits to tell a right gradient from a slightly wrong one).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nntui.nn import ACTIVATIONS, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Tanh, activation

# (batch, in_features, out_features): a batch of 1, and a few odd sizes.
LINEAR_SHAPES = [(1, 1, 1), (1, 4, 3), (5, 3, 7), (13, 8, 2)]
# (batch, features) for the layers that keep the width of their input.
ACTIVATION_SHAPES = [(1, 1), (1, 6), (5, 3), (13, 7)]

ACTIVATION_LAYERS = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "leaky_relu_slope_0.2": lambda: LeakyReLU(0.2),
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def projection_loss(layer, x: np.ndarray, projection: np.ndarray, training: bool = True) -> float:
    """``L = sum(layer(x) * projection)``, so that ``dL/dy = projection``."""
    return float(np.sum(layer.forward(x, training) * projection))


# -- gradients against finite differences ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=shape_id)
def test_linear_input_and_parameter_gradients_match_finite_differences(
    shape, finite_differences, assert_gradients_close
):
    batch, n_in, n_out = shape
    rng = np.random.default_rng(1000 + batch * 100 + n_in * 10 + n_out)
    layer = Linear(n_in, n_out, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(n_out)  # check away from the all-zero starting bias too
    x = rng.standard_normal((batch, n_in))
    projection = rng.standard_normal((batch, n_out))

    projection_loss(layer, x, projection)
    grad_x = layer.backward(projection)
    analytic = {"x": grad_x, "W": layer.grads["W"].copy(), "b": layer.grads["b"].copy()}

    def loss():
        return projection_loss(layer, x, projection)

    for name, array in {"x": x, "W": layer.params["W"], "b": layer.params["b"]}.items():
        assert_gradients_close(name, analytic[name], finite_differences(loss, array))


@pytest.mark.parametrize("shape", ACTIVATION_SHAPES, ids=shape_id)
@pytest.mark.parametrize("name", ACTIVATION_LAYERS)
def test_activation_input_gradient_matches_finite_differences(
    name, shape, finite_differences, assert_gradients_close, draw_away_from_zero
):
    rng = np.random.default_rng(2000 + shape[0] * 10 + shape[1])
    layer = ACTIVATION_LAYERS[name]()
    x = draw_away_from_zero(rng, shape)  # ReLU and LeakyReLU have a kink at 0
    projection = rng.standard_normal(shape)

    projection_loss(layer, x, projection)
    grad_x = layer.backward(projection)

    reference = finite_differences(lambda: projection_loss(layer, x, projection), x)
    assert_gradients_close("x", grad_x, reference)


@pytest.mark.parametrize("shape", ACTIVATION_SHAPES, ids=shape_id)
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask(
    p, shape, finite_differences, assert_gradients_close
):
    rng = np.random.default_rng(3000 + shape[0] * 10 + shape[1])
    x = rng.standard_normal(shape)
    projection = rng.standard_normal(shape)
    layer = Dropout(p)

    def loss() -> float:
        layer.rng = np.random.default_rng(42)  # the same mask on every evaluation
        return projection_loss(layer, x, projection, training=True)

    loss()
    grad_x = layer.backward(projection)
    assert_gradients_close("x", grad_x, finite_differences(loss, x))


# -- Linear ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 1000])
def test_linear_works_on_a_batch_of_one_and_of_a_thousand(batch):
    rng = np.random.default_rng(batch)
    layer = Linear(3, 2, rng=rng, dtype=np.float64)
    layer.params["b"][...] = [0.5, -1.5]
    x = rng.standard_normal((batch, 3))

    y = layer.forward(x)

    W, b = layer.params["W"], layer.params["b"]
    # y[n, j] = sum_i x[n, i] W[i, j] + b[j], written out
    reference = x[:, [0]] * W[0] + x[:, [1]] * W[1] + x[:, [2]] * W[2] + b
    assert y.shape == (batch, 2)
    np.testing.assert_allclose(y, reference, rtol=1e-12, atol=1e-12)
    grad_x = layer.backward(np.ones((batch, 2)))
    assert grad_x.shape == (batch, 3)
    assert layer.grads["W"].shape == (3, 2) and layer.grads["b"].shape == (2,)


def test_linear_backward_stores_weight_and_bias_gradients_in_grads():
    # The seed notebook computed dW and db and then dropped them: the weights never learned.
    rng = np.random.default_rng(7)
    layer = Linear(4, 3, rng=rng, dtype=np.float64)
    x = rng.standard_normal((6, 4))
    grad_y = rng.standard_normal((6, 3))

    layer.forward(x)
    layer.backward(grad_y)

    # dL/dW is a sum over the batch of outer products x_n (dL/dy_n)^T; dL/db a sum of the rows of dL/dy.
    expected_W = sum(np.outer(x[n], grad_y[n]) for n in range(6))
    expected_b = sum(grad_y[n] for n in range(6))
    assert np.abs(layer.grads["W"]).min() > 0 and np.abs(layer.grads["b"]).min() > 0
    np.testing.assert_allclose(layer.grads["W"], expected_W, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], expected_b, rtol=1e-12)


def test_linear_backward_overwrites_gradients_instead_of_accumulating():
    rng = np.random.default_rng(8)
    layer = Linear(2, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((3, 2))
    grad_y = rng.standard_normal((3, 2))

    for _ in range(3):
        layer.forward(x)
        layer.backward(grad_y)

    np.testing.assert_allclose(layer.grads["W"], x.T @ grad_y, rtol=1e-12)


def test_linear_backward_without_input_gradient_returns_none_and_still_fills_grads():
    rng = np.random.default_rng(9)
    layer = Linear(3, 2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((4, 3))
    grad_y = rng.standard_normal((4, 2))

    layer.forward(x)
    assert layer.backward(grad_y, input_grad=False) is None
    np.testing.assert_allclose(layer.grads["W"], x.T @ grad_y, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], grad_y.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("widths", [(0, 3), (3, 0), (-1, 2)])
def test_linear_with_a_width_below_one_is_refused(widths):
    with pytest.raises(ValueError, match="at least 1"):
        Linear(*widths)


def test_linear_counts_its_parameters():
    assert Linear(5, 3).n_params == 5 * 3 + 3


# -- activations -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 3, 1000])
def test_relu_works_on_any_width(width):
    # The seed notebook's ReLU asserted on a width it never set, so it failed on every input.
    x = np.linspace(-2.0, 3.0, 2 * width).reshape(2, width)

    y = ReLU().forward(x)

    np.testing.assert_array_equal(y, np.where(x > 0, x, 0.0))


def test_leaky_relu_lets_a_small_slope_through_for_negative_inputs():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])

    y = LeakyReLU(0.1).forward(x)

    np.testing.assert_allclose(y, [[-0.2, -0.05, 0.5, 3.0]])


def test_sigmoid_matches_the_logistic_formula_for_moderate_inputs():
    x = np.linspace(-20.0, 20.0, 41).reshape(1, -1)

    y = Sigmoid().forward(x)

    # Within rounding of 1: the (1 + tanh(x / 2)) / 2 form trades relative accuracy far in the negative tail
    # (sigmoid(-20) ~ 2e-9 is off by ~1e-17) for never overflowing.
    np.testing.assert_allclose(y, 1.0 / (1.0 + np.exp(-x)), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_for_inputs_of_ten_thousand(dtype):
    x = np.array([[1e4, -1e4, 0.0, 50.0, -50.0]], dtype=dtype)
    layer = Sigmoid()

    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y = layer.forward(x)
        grad_x = layer.backward(np.ones_like(x))

    assert np.all((y >= 0) & (y <= 1)), y
    np.testing.assert_allclose(y[0, :3], [1.0, 0.0, 0.5])
    assert np.all(np.isfinite(grad_x))
    assert y.dtype == dtype


def test_tanh_squashes_into_minus_one_to_one():
    x = np.array([[-1e4, -1.0, 0.0, 1.0, 1e4]])

    y = Tanh().forward(x)

    np.testing.assert_allclose(y, [[-1.0, np.tanh(-1.0), 0.0, np.tanh(1.0), 1.0]])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_activation_builds_each_layer_from_its_config_name(name):
    assert isinstance(activation(name), ACTIVATIONS[name])


def test_an_unknown_activation_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        activation("swish")


# -- Dropout -----------------------------------------------------------------------------------------------------


def test_dropout_is_the_identity_when_not_training():
    x = np.random.default_rng(0).standard_normal((4, 5))
    layer = Dropout(0.5, rng=np.random.default_rng(1))
    grad_y = np.random.default_rng(2).standard_normal((4, 5))

    y = layer.forward(x, training=False)

    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(layer.backward(grad_y), grad_y)


def test_dropout_with_p_zero_is_the_identity_even_in_training():
    x = np.random.default_rng(0).standard_normal((4, 5))
    layer = Dropout(0.0, rng=np.random.default_rng(1))

    np.testing.assert_array_equal(layer.forward(x, training=True), x)


def test_dropout_zeroes_units_and_scales_the_survivors_by_one_over_keep_probability():
    x = np.full((200, 50), 3.0)
    layer = Dropout(0.25, rng=np.random.default_rng(5))

    y = layer.forward(x, training=True)

    survivors = y != 0
    np.testing.assert_allclose(y[survivors], 3.0 / (1 - 0.25))
    # 10,000 units each dropped with probability 0.25: the dropped fraction is 0.25 +- 0.0043 (one sigma).
    assert abs((~survivors).mean() - 0.25) < 0.02


def test_dropout_preserves_the_expected_value():
    x = np.array([[1.0, -2.0, 0.5, 4.0]])
    n_draws = 100_000
    layer = Dropout(0.5, rng=np.random.default_rng(11))

    # One forward over n_draws copies of x draws n_draws independent masks.
    mean = layer.forward(np.repeat(x, n_draws, axis=0), training=True).mean(axis=0)

    # Each draw is 0 or 2x, so its standard deviation is |x|; the mean's is |x| / sqrt(n_draws) ~ 0.003 |x|.
    np.testing.assert_allclose(mean, x[0], rtol=0.02)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_probability_outside_zero_to_one_is_refused(p):
    with pytest.raises(ValueError, match="Dropout probability"):
        Dropout(p)
