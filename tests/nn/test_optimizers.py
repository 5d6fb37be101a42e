"""Optimizers against updates worked out by hand from the published rules (as in PyTorch's documentation).

Every test uses the same tiny model, one ``Linear(2 -> 1)`` in float64, and writes the gradient into the layer by
hand, as a backward pass would. The model's three parameters are seen as one vector

    theta = (W[0, 0], W[1, 0], b[0]) = (1.0, -2.0, 0.5)      and the gradient  g = (0.5, -1.0, 0.25),

so each expected value below is the update rule applied to three numbers. ``wd`` is weight decay, added to the
gradient as an L2 term: ``g <- g + wd * theta``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from nntui.nn import OPTIMIZERS, SGD, Adam, Linear, RMSProp, Sequential

THETA_0 = np.array([1.0, -2.0, 0.5])
G = np.array([0.5, -1.0, 0.25])


def tiny_model() -> Sequential:
    layer = Linear(2, 1, rng=np.random.default_rng(0), dtype=np.float64)
    layer.params["W"][...] = THETA_0[:2].reshape(2, 1)
    layer.params["b"][...] = THETA_0[2:]
    return Sequential([layer])


def theta(model: Sequential) -> np.ndarray:
    layer = model.layers[0]
    return np.concatenate([layer.params["W"].ravel(), layer.params["b"]])


def set_gradient(model: Sequential, gradient: np.ndarray) -> None:
    """Write ``gradient`` (a 3-vector) into the layer's ``grads``, in place, as ``Linear.backward`` does."""
    layer = model.layers[0]
    layer.grads["W"][...] = gradient[:2].reshape(2, 1)
    layer.grads["b"][...] = gradient[2:]


def step_with(model, optimizer, gradient) -> np.ndarray:
    set_gradient(model, gradient)
    optimizer.step(model)
    return theta(model)


#: Optimizer steps against numbers worked out by hand: equal up to float64 rounding.
BY_HAND = {"rtol": 1e-13, "atol": 1e-15, "err_msg": "mine vs worked by hand"}


# -- SGD ---------------------------------------------------------------------------------------------------------


def test_plain_sgd_steps_by_learning_rate_times_gradient():
    model, optimizer = tiny_model(), SGD(lr=0.1)

    mine = step_with(model, optimizer, G)

    # theta <- theta - lr * g
    np.testing.assert_allclose(mine, [1.0 - 0.1 * 0.5, -2.0 - 0.1 * -1.0, 0.5 - 0.1 * 0.25], **BY_HAND)


def test_sgd_with_momentum_over_three_steps():
    model, optimizer = tiny_model(), SGD(lr=0.1, momentum=0.9)
    # v <- 0.9 v + g_t (v starts at 0) ; theta <- theta - lr * v, with gradients g, 2g and -g:
    v1 = 1.0 * G
    v2 = 0.9 * v1 + 2.0 * G  # = 2.9 g
    v3 = 0.9 * v2 - 1.0 * G  # = 1.61 g

    np.testing.assert_allclose(step_with(model, optimizer, 1.0 * G), THETA_0 - 0.1 * v1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, 2.0 * G), THETA_0 - 0.1 * v1 - 0.1 * v2, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, -1.0 * G), THETA_0 - 0.1 * v1 - 0.1 * v2 - 0.1 * v3, **BY_HAND)
    np.testing.assert_allclose(theta(model), THETA_0 - 0.1 * (1.0 + 2.9 + 1.61) * G, **BY_HAND)


def test_sgd_with_nesterov_momentum_looks_ahead_along_the_velocity():
    model, optimizer = tiny_model(), SGD(lr=0.1, momentum=0.9, nesterov=True)
    # v <- 0.9 v + g_t ; theta <- theta - lr * (g_t + 0.9 v), with gradients g then 2g:
    v1 = 1.0 * G
    step_1 = 1.0 * G + 0.9 * v1  # = 1.9 g
    v2 = 0.9 * v1 + 2.0 * G  # = 2.9 g
    step_2 = 2.0 * G + 0.9 * v2  # = 4.61 g

    np.testing.assert_allclose(step_with(model, optimizer, 1.0 * G), THETA_0 - 0.1 * step_1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, 2.0 * G), THETA_0 - 0.1 * step_1 - 0.1 * step_2, **BY_HAND)


def test_sgd_weight_decay_adds_wd_times_the_weights_to_the_gradient():
    model, optimizer = tiny_model(), SGD(lr=0.1, weight_decay=0.01)

    theta_1 = THETA_0 - 0.1 * (G + 0.01 * THETA_0)
    theta_2 = theta_1 - 0.1 * (G + 0.01 * theta_1)

    np.testing.assert_allclose(step_with(model, optimizer, G), theta_1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, G), theta_2, **BY_HAND)
    # for W[0, 0]: 1 - 0.1 * (0.5 + 0.01 * 1) = 0.949
    assert theta_1[0] == pytest.approx(0.949)


def test_sgd_with_zero_gradient_and_weight_decay_shrinks_the_weights():
    model, optimizer = tiny_model(), SGD(lr=0.5, weight_decay=0.1)

    # theta <- theta - 0.5 * 0.1 * theta = 0.95 theta
    np.testing.assert_allclose(step_with(model, optimizer, np.zeros(3)), 0.95 * THETA_0, **BY_HAND)


def test_a_learning_rate_changed_between_steps_applies_to_the_very_next_step():
    model, optimizer = tiny_model(), SGD(lr=0.1)

    step_with(model, optimizer, G)
    optimizer.lr = 0.01
    mine = step_with(model, optimizer, G)

    np.testing.assert_allclose(mine, THETA_0 - 0.1 * G - 0.01 * G, **BY_HAND)


STATEFUL = {
    "sgd-momentum": lambda: SGD(lr=0.1, momentum=0.9),
    "sgd-nesterov": lambda: SGD(lr=0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: RMSProp(lr=0.01),
    "rmsprop-momentum": lambda: RMSProp(lr=0.01, momentum=0.5),
    "adam": lambda: Adam(lr=0.01),
}


@pytest.mark.parametrize("name", STATEFUL)
def test_a_tenfold_smaller_learning_rate_makes_the_next_step_tenfold_smaller(name):
    # Without weight decay no optimizer's buffers depend on lr, so after the same first step the second step of
    # an optimizer whose lr was just cut tenfold is exactly a tenth of the unchanged one's.
    unchanged_model, unchanged = tiny_model(), STATEFUL[name]()
    changed_model, changed = tiny_model(), STATEFUL[name]()
    step_with(unchanged_model, unchanged, G)
    step_with(changed_model, changed, G)
    before_unchanged, before_changed = theta(unchanged_model), theta(changed_model)

    changed.lr = unchanged.lr / 10
    move_unchanged = step_with(unchanged_model, unchanged, -3.0 * G) - before_unchanged
    move_changed = step_with(changed_model, changed, -3.0 * G) - before_changed

    np.testing.assert_allclose(move_changed, move_unchanged / 10, rtol=1e-9)


# -- RMSProp -----------------------------------------------------------------------------------------------------


def test_rmsprop_divides_by_the_running_root_mean_square_of_the_gradient():
    model, optimizer = tiny_model(), RMSProp(lr=0.01, alpha=0.9, eps=1e-8)
    # s <- 0.9 s + 0.1 g_t^2 (s starts at 0) ; theta <- theta - lr * g_t / (sqrt(s) + eps), gradients g then 2g
    s1 = 0.1 * G**2
    theta_1 = THETA_0 - 0.01 * G / (np.sqrt(s1) + 1e-8)
    s2 = 0.9 * s1 + 0.1 * (2.0 * G) ** 2
    theta_2 = theta_1 - 0.01 * (2.0 * G) / (np.sqrt(s2) + 1e-8)

    np.testing.assert_allclose(step_with(model, optimizer, G), theta_1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, 2.0 * G), theta_2, **BY_HAND)
    # the first step is lr * g / sqrt(0.1 g^2) = lr / sqrt(0.1) ~ 0.0316 against the gradient's sign, every weight
    assert theta_1[0] == pytest.approx(1.0 - 0.01 / math.sqrt(0.1))


def test_rmsprop_with_momentum_accumulates_the_scaled_steps():
    model, optimizer = tiny_model(), RMSProp(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5)
    # s <- 0.9 s + 0.1 g_t^2 ; v <- 0.5 v + g_t / (sqrt(s) + eps) ; theta <- theta - lr * v, gradients g then 2g
    s1 = 0.1 * G**2
    v1 = G / (np.sqrt(s1) + 1e-8)
    s2 = 0.9 * s1 + 0.1 * (2.0 * G) ** 2
    v2 = 0.5 * v1 + (2.0 * G) / (np.sqrt(s2) + 1e-8)

    np.testing.assert_allclose(step_with(model, optimizer, G), THETA_0 - 0.01 * v1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, 2.0 * G), THETA_0 - 0.01 * v1 - 0.01 * v2, **BY_HAND)


def test_rmsprop_weight_decay_enters_the_gradient_before_the_square_average():
    model, optimizer = tiny_model(), RMSProp(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.1)
    g1 = G + 0.1 * THETA_0
    s1 = 0.1 * g1**2

    np.testing.assert_allclose(step_with(model, optimizer, G), THETA_0 - 0.01 * g1 / (np.sqrt(s1) + 1e-8), **BY_HAND)


# -- Adam --------------------------------------------------------------------------------------------------------


def test_adam_first_two_steps_with_bias_correction():
    model, optimizer = tiny_model(), Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    # m <- 0.9 m + 0.1 g_t ; v <- 0.999 v + 0.001 g_t^2 (both start at 0)
    # m_hat = m / (1 - 0.9^t) ; v_hat = v / (1 - 0.999^t) ; theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)
    # gradients g then -2g
    m1, v1 = 0.1 * G, 0.001 * G**2
    theta_1 = THETA_0 - 0.01 * (m1 / (1 - 0.9)) / (np.sqrt(v1 / (1 - 0.999)) + 1e-8)
    m2 = 0.9 * m1 + 0.1 * (-2.0 * G)
    v2 = 0.999 * v1 + 0.001 * (-2.0 * G) ** 2
    theta_2 = theta_1 - 0.01 * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8)

    np.testing.assert_allclose(step_with(model, optimizer, G), theta_1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, -2.0 * G), theta_2, **BY_HAND)


def test_adams_first_step_moves_every_weight_by_about_the_learning_rate():
    # Bias correction makes m_hat = g and v_hat = g^2 on step 1, so the step is lr * g / |g| whatever g's size.
    model, optimizer = tiny_model(), Adam(lr=0.01)

    mine = step_with(model, optimizer, np.array([1e-3, -50.0, 7.0]))

    # (eps = 1e-8 makes it lr * |g| / (|g| + 1e-8): 1e-5 short of lr for the tiny 1e-3 gradient)
    np.testing.assert_allclose(mine - THETA_0, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adam_first_two_steps_with_weight_decay():
    model, optimizer = tiny_model(), Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    # as above, with g_t <- g_t + 0.1 * theta (an L2 term, as in PyTorch's Adam; not AdamW)
    g1 = G + 0.1 * THETA_0
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    theta_1 = THETA_0 - 0.01 * (m1 / (1 - 0.9)) / (np.sqrt(v1 / (1 - 0.999)) + 1e-8)
    g2 = -2.0 * G + 0.1 * theta_1
    m2 = 0.9 * m1 + 0.1 * g2
    v2 = 0.999 * v1 + 0.001 * g2**2
    theta_2 = theta_1 - 0.01 * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8)

    np.testing.assert_allclose(step_with(model, optimizer, G), theta_1, **BY_HAND)
    np.testing.assert_allclose(step_with(model, optimizer, -2.0 * G), theta_2, **BY_HAND)


# -- gradients are read at step time -----------------------------------------------------------------------------


def test_step_uses_the_gradient_in_layer_grads_even_after_the_array_was_replaced():
    # ``layer.grads["W"] = ...`` is a natural thing for a learner (or a test) to write. The optimizer must use the
    # gradient the layer holds now, not an array it remembered from an earlier step.
    model, optimizer = tiny_model(), SGD(lr=0.1)
    layer = model.layers[0]
    step_with(model, optimizer, G)

    layer.grads["W"] = np.zeros((2, 1))
    layer.grads["b"] = np.zeros(1)
    optimizer.step(model)

    np.testing.assert_allclose(theta(model), THETA_0 - 0.1 * G, **BY_HAND)


# -- checkpoints -------------------------------------------------------------------------------------------------

EVERY_OPTIMIZER = {
    "sgd": lambda: SGD(lr=0.1),
    "sgd-nesterov-weight-decay": lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "rmsprop-momentum-weight-decay": lambda: RMSProp(lr=0.01, alpha=0.95, momentum=0.5, weight_decay=0.01),
    "adam-weight-decay": lambda: Adam(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01),
}


@pytest.mark.parametrize("name", EVERY_OPTIMIZER)
def test_an_optimizer_restored_from_its_state_dict_continues_bit_for_bit(name):
    rng = np.random.default_rng(12)
    gradients = [rng.standard_normal(3) for _ in range(8)]
    model, original = tiny_model(), EVERY_OPTIMIZER[name]()
    for gradient in gradients[:4]:
        step_with(model, original, gradient)

    saved_model, saved_state = copy.deepcopy(model), original.state_dict()
    # Built with other hyperparameters: the state dict must bring back the saved ones, and the step count.
    restored = type(original)(lr=123.0)
    restored.load_state_dict(saved_state)

    assert restored.hyperparameters() == original.hyperparameters()
    for gradient in gradients[4:]:
        continued = step_with(model, original, gradient)
        resumed = step_with(saved_model, restored, gradient)
        assert np.array_equal(continued, resumed), (continued, resumed)


def test_a_state_dict_is_a_snapshot_that_later_steps_do_not_change():
    model, optimizer = tiny_model(), Adam(lr=0.01)
    step_with(model, optimizer, G)
    saved = optimizer.state_dict()
    m_at_save = saved["state"]["0.W"]["m"].copy()

    step_with(model, optimizer, G)

    assert saved["t"] == 1
    np.testing.assert_array_equal(saved["state"]["0.W"]["m"], m_at_save)


def test_loading_another_optimizers_state_is_refused():
    model, sgd = tiny_model(), SGD(lr=0.1, momentum=0.9)
    step_with(model, sgd, G)

    with pytest.raises(ValueError, match="SGD, not Adam"):
        Adam().load_state_dict(sgd.state_dict())


# -- invalid hyperparameters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.0, -0.1])
@pytest.mark.parametrize("optimizer_class", [SGD, RMSProp, Adam])
def test_a_learning_rate_that_is_not_positive_is_refused(optimizer_class, lr):
    with pytest.raises(ValueError, match="learning rate must be > 0"):
        optimizer_class(lr=lr)


@pytest.mark.parametrize("optimizer_class", [SGD, RMSProp])
def test_momentum_of_one_is_refused(optimizer_class):
    with pytest.raises(ValueError, match="momentum must be in"):
        optimizer_class(lr=0.1, momentum=1.0)


def test_nesterov_without_momentum_is_refused():
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        SGD(lr=0.1, nesterov=True)


@pytest.mark.parametrize("optimizer_class", [SGD, RMSProp, Adam])
def test_negative_weight_decay_is_refused(optimizer_class):
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        optimizer_class(lr=0.1, weight_decay=-1e-4)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999)])
def test_adam_betas_outside_zero_to_one_are_refused(betas):
    with pytest.raises(ValueError, match="betas must be in"):
        Adam(lr=1e-3, betas=betas)


def test_rmsprop_alpha_of_one_is_refused():
    with pytest.raises(ValueError, match="alpha must be in"):
        RMSProp(lr=0.01, alpha=1.0)


def test_optimizer_registry_maps_config_names_to_optimizers():
    assert OPTIMIZERS == {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}


# -- subnormal numbers in the buffers ----------------------------------------------------------------------------

SUBNORMAL_32 = np.float32(1e-40)  # below float32's smallest normal number, ~1.2e-38


def float32_model_and_zero_gradient() -> Sequential:
    """Every parameter has at least two entries; the gradient stays zero, as for a dead ReLU unit."""
    return Sequential([Linear(2, 2, rng=np.random.default_rng(0), dtype=np.float32)])


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: RMSProp(0.01), lambda: Adam(0.01)],
                         ids=["sgd-momentum", "rmsprop", "adam"])
def test_buffers_lose_their_subnormal_numbers_every_flush_every_steps_and_keep_the_rest(make):
    from nntui.nn.optimizers import FLUSH_EVERY

    model, optimizer = float32_model_and_zero_gradient(), make()
    optimizer.step(model)  # creates the buffers
    buffers = [b for slots in optimizer.state.values() for b in slots.values()]
    for buffer in buffers:
        buffer.ravel()[0] = SUBNORMAL_32
        buffer.ravel()[-1] = np.float32(3.0)
    decay = [b.ravel()[-1] for b in buffers]

    for _ in range(FLUSH_EVERY - 2):  # one step short of a flush: the subnormal numbers are still there
        optimizer.step(model)
    assert all(b.ravel()[0] != 0 for b in buffers)
    optimizer.step(model)  # step number FLUSH_EVERY flushes

    assert all(b.ravel()[0] == 0 for b in buffers)
    assert all(b.ravel()[-1] > 0 for b in buffers), "normal numbers are kept"
    assert all(b.ravel()[-1] <= d for b, d in zip(buffers, decay))


def test_flushing_keeps_the_smallest_normal_number_and_negative_subnormals_go_too():
    optimizer = Adam(0.01)
    tiny = np.finfo(np.float32).tiny
    optimizer.state = {"0.W": {"m": np.array([tiny, -tiny, SUBNORMAL_32, -SUBNORMAL_32, 0.0], np.float32)}}

    optimizer.flush_subnormals()

    np.testing.assert_array_equal(optimizer.state["0.W"]["m"], [tiny, -tiny, 0, 0, 0])
