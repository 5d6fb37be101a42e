"""The engine as a notebook uses it: evaluation that leaves training alone, probabilities, state, save and load,
the data's gradient on request, custom layers anywhere, and a gradient check with a verdict."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

from nntui import nn
from nntui.nn import (
    MSE,
    SGD,
    Adam,
    BinaryCrossEntropy,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    RMSProp,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    gradcheck,
    mlp,
)


def make_model(dtype=np.float32, dropout=0.0, seed=0):
    return mlp([4, 8, 6, 3], ["relu", "tanh"], dropout=dropout, rng=np.random.default_rng(seed), dtype=dtype)


def batch(rng, n=5, features=4, classes=3, dtype=np.float32):
    return rng.standard_normal((n, features)).astype(dtype), rng.integers(0, classes, n)


# -- 1. inference that leaves training alone -------------------------------------------------------------------


@pytest.mark.parametrize("val_size", [5, 17])  # the same size as the batch (silently wrong before), and another
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_an_evaluation_between_forward_and_backward_changes_no_gradient_bit_for_bit(val_size, dropout):
    rng = np.random.default_rng(1)
    x, y = batch(rng)
    x_val, y_val = batch(rng, n=val_size)
    plain, logged = make_model(dropout=dropout), make_model(dropout=dropout)
    loss_plain, loss_logged = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()

    loss_plain.forward(plain.forward(x), y)
    plain.backward(loss_plain.backward())

    loss_logged.forward(logged.forward(x), y)
    val_loss = loss_logged.forward(logged.forward(x_val, training=False), y_val, training=False)  # logging
    logged.forward(x_val, training=False)
    logged.backward(loss_logged.backward())

    assert np.isfinite(val_loss)
    for (name, _p, mine), (_n, _q, reference) in zip(logged.parameters(), plain.parameters()):
        assert np.array_equal(mine, reference), name


def test_an_evaluation_forward_keeps_nothing_in_the_layers():
    model = make_model(dropout=0.5)
    before = {i: dict(vars(layer)) for i, layer in enumerate(model.layers)}
    model.forward(np.ones((3, 4), np.float32), training=False)
    for i, layer in enumerate(model.layers):
        assert set(vars(layer)) == set(before[i]), layer
        for key, value in vars(layer).items():
            assert value is before[i][key], (layer, key)


def test_backward_after_only_an_evaluation_forward_says_a_training_forward_is_needed():
    model = make_model()
    model.forward(np.ones((3, 4), np.float32), training=False)
    with pytest.raises(RuntimeError, match="training one"):
        model.backward(np.ones((3, 3), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_sigmoid_are_exact_and_stable_at_plus_minus_a_thousand(dtype):
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -999.0], [1.0, 2.0, 3.0]], dtype=dtype)
    z = np.array([-1000.0, -40.0, -1.0, 0.0, 2.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no invalid value
        p, s = nn.softmax(logits), nn.sigmoid(z)
    assert p.dtype == dtype and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p[0], [1, 0, 0])
    e = np.exp(1.0)
    np.testing.assert_allclose(p[1], [1 / (2 + e), 1 / (2 + e), e / (2 + e)], rtol=1e-6)
    np.testing.assert_allclose(p[2], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-6)

    assert np.all(np.isfinite(s)) and s.dtype == dtype
    with np.errstate(over="ignore"):  # the naive formula overflows at -1000 (to the right answer, 0)
        reference = 1 / (1 + np.exp(-np.array([-1000.0, -40.0, -1.0, 0.0, 2.0, 1000.0], dtype=np.float64)))
    np.testing.assert_allclose(s, reference, rtol=1e-6, atol=0)  # small values kept (sigmoid(-40) ~ 4e-18)


def test_each_loss_turns_logits_into_predictions_and_probabilities():
    logits = np.array([[2.0, -1.0, 0.5], [-3.0, 4.0, 0.0]])
    assert SoftmaxCrossEntropy().predict(logits).tolist() == [0, 1]
    np.testing.assert_allclose(SoftmaxCrossEntropy().probabilities(logits), nn.softmax(logits))
    column = np.array([[2.0], [-0.5]])
    assert BinaryCrossEntropy().predict(column).tolist() == [1, 0]
    np.testing.assert_allclose(BinaryCrossEntropy().probabilities(column), 1 / (1 + np.exp(-column)))
    np.testing.assert_array_equal(MSE().predict(column), column)
    with pytest.raises(TypeError, match="regression loss"):
        MSE().probabilities(column)


def test_a_second_backward_of_one_forward_is_refused_with_a_message():
    loss = SoftmaxCrossEntropy()
    loss.forward(np.zeros((2, 3)), np.array([0, 1]))
    loss.backward()
    with pytest.raises(RuntimeError, match="call forward"):
        loss.backward()


# -- 2. state ----------------------------------------------------------------------------------------------------


def test_state_dict_holds_copies_keyed_like_parameters():
    model = make_model()
    state = model.state_dict()
    assert list(state) == [name for name, _p, _g in model.parameters()] == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    state["0.W"][...] = 99
    assert not np.any(model.layers[0].params["W"] == 99)


def test_load_state_dict_restores_the_outputs_of_another_model():
    source, target = make_model(seed=1), make_model(seed=2)
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    target.load_state_dict(source.state_dict())
    assert np.array_equal(target.forward(x, training=False), source.forward(x, training=False))


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("2.W"), "missing 2.W"),
    (lambda d: d.update({"9.W": np.zeros(1)}), "unexpected 9.W"),
    (lambda d: d.update({"2.W": np.zeros((8, 5), np.float32)}), r"parameter 2.W: saved shape \(8, 5\)"),
    (lambda d: d.update({"0.b": np.zeros(8, np.float64)}), "parameter 0.b: saved dtype float64"),
])
def test_load_state_dict_refuses_a_mismatch_naming_the_parameter_and_changes_nothing(change, message):
    model = make_model()
    before = model.state_dict()
    state = make_model(seed=5).state_dict()
    change(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name])


def test_save_and_load_round_trip_without_pickle(tmp_path):
    model = Sequential([Linear(4, 8, rng=np.random.default_rng(0)), LeakyReLU(0.2), Dropout(0.1),
                        Linear(8, 3, rng=np.random.default_rng(1))])
    path = nn.save(model, tmp_path / "net")
    assert path.name == "net.npz"
    with np.load(path, allow_pickle=False) as archive:  # a plain npz: no code runs on opening it
        header = json.loads(str(archive["__model__"]))
    assert [layer["type"] for layer in header["layers"]] == ["Linear", "LeakyReLU", "Dropout", "Linear"]

    loaded = nn.load(path)
    assert repr(loaded) == repr(model)
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    assert np.array_equal(loaded.forward(x, training=False), model.forward(x, training=False))
    assert loaded.layers[1].negative_slope == 0.2 and loaded.layers[2].p == 0.1


def test_saving_an_unregistered_layer_says_how_to_register_it(tmp_path):
    class Doubler(Layer):
        def forward(self, x, training=True):
            return 2 * x

        def backward(self, grad_y):
            return 2 * grad_y

    with pytest.raises(ValueError, match="not a registered layer"):
        nn.save(Sequential([Linear(2, 2), Doubler()]), tmp_path / "m.npz")


def test_loading_a_file_that_is_not_a_model_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a model saved by nntui.nn.save"):
        nn.load(tmp_path / "other.npz")


class NoDraws:
    """Stands in for every generator made while loading: any use of it is a random draw."""

    def __getattr__(self, name):
        raise AssertionError(f"loading used a random generator ({name})")


def forbid_randomness(monkeypatch):
    def no_initialiser(*args, **kwargs):
        raise AssertionError("loading drew weights with an initialiser, to throw them away")

    monkeypatch.setattr("nntui.nn.layers.init_weights", no_initialiser)
    monkeypatch.setattr(np.random, "default_rng", lambda *args, **kwargs: NoDraws())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(nn.ACTIVATIONS))
def test_loading_draws_no_random_numbers_and_gives_back_the_saved_model_bit_for_bit(tmp_path, monkeypatch,
                                                                                    activation, dtype):
    model = mlp([4, 8, 6, 3], activation, dropout=0.25, rng=np.random.default_rng(3), dtype=dtype)
    path = nn.save(model, tmp_path / "net")
    forbid_randomness(monkeypatch)
    loaded = nn.load(path)
    monkeypatch.undo()

    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in model.layers]
    assert loaded.dtype == model.dtype
    saved, back = model.state_dict(), loaded.state_dict()
    assert list(back) == list(saved)
    for name in saved:
        assert back[name].dtype == saved[name].dtype and back[name].tobytes() == saved[name].tobytes(), name
    x = np.random.default_rng(4).standard_normal((5, 4)).astype(dtype)
    assert loaded.forward(x, training=False).tobytes() == model.forward(x, training=False).tobytes()


def test_a_loaded_linear_layer_says_its_weights_were_given_not_drawn(tmp_path):
    path = nn.save(Sequential([Linear(3, 2, init="xavier_uniform", rng=np.random.default_rng(0))]), tmp_path / "m")
    layer = nn.load(path).layers[0]
    assert layer.init is None and repr(layer) == "Linear(3 -> 2)"


def test_linear_from_weights_refuses_arrays_that_do_not_make_a_layer():
    with pytest.raises(ValueError, match=r"got W \(3, 2\) and b \(3,\)"):
        Linear.from_weights(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="one floating dtype, got float64 and float32"):
        Linear.from_weights(np.zeros((3, 2)), np.zeros(2, np.float32))


def test_a_registered_layer_with_weights_of_its_own_gets_its_saved_ones_back(tmp_path, monkeypatch):
    class Scaled(Scale):
        name = "scaled"

        def __init__(self):
            super().__init__(3, dtype=np.float32)

    monkeypatch.setitem(nn.ACTIVATIONS, "scaled", Scaled)
    model = Sequential([Linear(2, 3, rng=np.random.default_rng(0)), Scaled()])
    model.layers[1].params["s"][...] = [7, 8, 9]
    loaded = nn.load(nn.save(model, tmp_path / "m"))
    assert loaded.layers[1].params["s"].tolist() == [7, 8, 9]


def test_a_file_whose_arrays_do_not_fit_its_architecture_is_refused_naming_the_array(tmp_path):
    model = make_model()
    arrays = model.state_dict()
    header = {"format": "nntui-model", "version": 1, "dtype": "float32",
              "layers": [{"type": type(layer).__name__, "config": layer.config()} for layer in model.layers]}
    np.savez(tmp_path / "missing.npz", __model__=np.array(json.dumps(header)),
             **{k: v for k, v in arrays.items() if k != "2.b"})
    with pytest.raises(ValueError, match="layer 2 Linear.* has no saved 2.b"):
        nn.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "extra.npz", __model__=np.array(json.dumps(header)), **arrays, **{"1.W": np.zeros(2)})
    with pytest.raises(ValueError, match="the arrays 1.W belong to no layer"):
        nn.load(tmp_path / "extra.npz")


# -- 3. the documented loop: the data's gradient only on request, one flat buffer ----------------------------------


def test_backward_returns_the_datas_gradient_only_when_asked_and_it_matches_finite_differences():
    rng = np.random.default_rng(3)
    model = make_model(dtype=np.float64)
    x, y = batch(rng, dtype=np.float64)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), y)
    assert model.backward(loss.backward()) is None
    loss.forward(model.forward(x), y)
    grad_x = model.backward(loss.backward(), input_grad=True)
    numeric = nn.numerical_gradient(lambda: loss.forward(model.forward(x), y), x)
    np.testing.assert_allclose(grad_x, numeric, rtol=1e-6, atol=1e-9)


OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "sgd-momentum-wd": lambda: SGD(0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda: SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: RMSProp(0.01, momentum=0.5, weight_decay=0.01),
    "adam-wd": lambda: Adam(0.01, weight_decay=0.01),
}


def reference_step(name, params, grads, state, t):
    """The published update rules, one parameter array at a time (as PyTorch documents them)."""
    for key in params:
        w, g = params[key], grads[key]
        buffers = state.setdefault(key, {})
        if "wd" in name or name == "rmsprop":
            g = g + 0.01 * w
        if name == "sgd":
            w -= 0.1 * g
        elif name.startswith("sgd") or name == "nesterov":
            v = buffers["v"] = 0.9 * buffers.get("v", 0) + g
            w -= 0.1 * (g + 0.9 * v if name == "nesterov" else v)
        elif name == "rmsprop":
            s = buffers["s"] = 0.99 * buffers.get("s", 0) + 0.01 * g * g
            u = g / (np.sqrt(s) + 1e-8)
            b = buffers["b"] = 0.5 * buffers.get("b", 0) + u
            w -= 0.01 * b
        else:
            m = buffers["m"] = 0.9 * buffers.get("m", 0) + 0.1 * g
            v = buffers["v"] = 0.999 * buffers.get("v", 0) + 0.001 * g * g
            w -= 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_fused_optimizer_step_equals_the_rule_applied_to_each_parameter(name):
    rng = np.random.default_rng(4)
    model, optimizer = make_model(dtype=np.float64), OPTIMIZERS[name]()
    params = {n: p.copy() for n, p, _g in model.parameters()}
    state: dict = {}
    for t in range(1, 6):
        grads = {n: rng.standard_normal(p.shape) for n, p, _g in model.parameters()}
        for (n, _p, g) in model.parameters():
            g[...] = grads[n]
        optimizer.step(model)
        reference_step(name, params, grads, state, t)
        for n, p, _g in model.parameters():
            np.testing.assert_allclose(p, params[n], rtol=1e-12, atol=1e-14, err_msg=f"{name} step {t} {n}")


def test_parameters_and_gradients_are_views_of_one_buffer_each():
    model = make_model()
    flat = model.flat_parameters()
    assert flat.params.size == model.n_params
    model.layers[2].params["W"][0, 0] = 123.0
    assert 123.0 in flat.params
    for _name, param, grad in model.parameters():
        assert np.shares_memory(param, flat.params) and np.shares_memory(grad, flat.grads)


@pytest.mark.parametrize("make_copy", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_a_copied_model_trains_on_its_own_weights(make_copy):
    rng = np.random.default_rng(6)
    x, y = batch(rng)
    original = make_model()
    copied = make_copy(original)
    before = original.state_dict()
    loss, optimizer = SoftmaxCrossEntropy(), SGD(0.5)
    loss.forward(copied.forward(x), y)
    copied.backward(loss.backward())
    optimizer.step(copied)
    assert all(np.array_equal(v, before[k]) for k, v in original.state_dict().items())  # the original untouched
    assert not all(np.array_equal(v, before[k]) for k, v in copied.state_dict().items())  # the copy moved


def test_a_layer_added_after_construction_is_trained_too():
    model = Sequential([Linear(3, 3, rng=np.random.default_rng(0), dtype=np.float64)])
    model.layers.append(Linear(3, 2, rng=np.random.default_rng(1), dtype=np.float64))
    optimizer = SGD(0.1)
    model.forward(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    expected = model.layers[1].params["W"] - 0.1 * model.layers[1].grads["W"]
    optimizer.step(model)
    np.testing.assert_allclose(model.layers[1].params["W"], expected)


# -- 5. custom layers -------------------------------------------------------------------------------------------


class Scale(Layer):
    """A learnable per-feature scale: ``y = x * s``."""

    def __init__(self, width, dtype=np.float64):
        super().__init__()
        self.params["s"] = np.linspace(0.5, 1.5, width).astype(dtype)
        self.grads["s"] = np.zeros(width, dtype)

    def forward(self, x, training=True):
        if training:
            self.x = x
        return x * self.params["s"]

    def backward(self, grad_y):
        # dL/ds = sum over the batch of x * dL/dy ;  dL/dx = dL/dy * s
        self.grads["s"][...] = (self.x * grad_y).sum(axis=0)
        return grad_y * self.params["s"]


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_a_custom_layer_with_a_plain_backward_works_at_every_position_and_passes_gradcheck(position):
    rng = np.random.default_rng(7)
    lin = [Linear(3, 3, rng=rng, dtype=np.float64) for _ in range(2)]
    layers = {"first": [Scale(3), lin[0], Tanh(), lin[1]], "middle": [lin[0], Scale(3), Tanh(), lin[1]],
              "last": [lin[0], Tanh(), lin[1], Scale(3)]}[position]
    model = Sequential(layers)
    x, y = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(x), y)
    assert model.backward(loss.backward()) is None  # no TypeError at the front
    result = gradcheck(model, SoftmaxCrossEntropy(), x, y)
    assert result.passed, result


def test_a_layer_whose_init_skipped_super_init_is_told_so():
    class Forgetful(Layer):
        def __init__(self):
            self.width = 3  # no super().__init__()

    with pytest.raises(AttributeError, match=r"must call super\(\).__init__\(\)"):
        Sequential([Linear(2, 3), Forgetful()])


# -- gradcheck with a verdict -----------------------------------------------------------------------------------


class ScaleWithWrongInputGradient(Scale):
    def backward(self, grad_y):
        super().backward(grad_y)
        return grad_y * self.params["s"] * 1.01  # the bug: dL/dx off by 1%


def test_gradcheck_catches_a_wrong_input_gradient_in_the_first_layer():
    rng = np.random.default_rng(8)
    model = Sequential([ScaleWithWrongInputGradient(3), Linear(3, 2, rng=rng, dtype=np.float64)])
    x, y = rng.standard_normal((4, 3)), rng.integers(0, 2, 4)
    result = gradcheck(model, SoftmaxCrossEntropy(), x, y)
    assert max(result.values()) < 1e-8  # every parameter is right...
    assert result.input_error > 1e-3  # ...but dL/dx is not
    assert not result.passed and result.max_rel_error == result.input_error


def test_gradcheck_passes_a_right_model_with_dropout_and_says_so():
    rng = np.random.default_rng(9)
    model = mlp([3, 6, 2], "tanh", dropout=0.4, rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    result = gradcheck(model, SoftmaxCrossEntropy(), x, y)
    assert result.passed and result.max_rel_error < 1e-7 and result.tolerance == nn.TOLERANCE
    assert "passed" in repr(result) and "dL/dx" in repr(result)


# -- each layer answers for itself --------------------------------------------------------------------------------


def test_dead_units_are_measured_for_relu_and_leaky_relu_alike():
    x = np.array([[-1.0, 2.0, -3.0], [-0.5, -1.0, -2.0]])
    for layer in (ReLU(), LeakyReLU()):
        assert layer.dead_fraction() is None  # nothing measured yet
        layer.forward(x)
        assert layer.dead_fraction() == pytest.approx(2 / 3), layer  # units 0 and 2 never positive
        layer.forward(np.ones((2, 3)), training=False)  # an evaluation changes nothing
        assert layer.dead_fraction() == pytest.approx(2 / 3)
    tanh = Tanh()
    tanh.forward(np.array([[10.0, 0.0], [-10.0, 0.1]]))
    assert tanh.saturation() == pytest.approx(0.5) and tanh.dead_fraction() is None


def test_layers_state_their_formulas_and_init_hints():
    assert ReLU().forward_formula() == "y = relu(x) = max(x, 0)"
    assert LeakyReLU(0.1).forward_formula() == "y = x where x > 0, else 0.1 · x"
    assert Linear.backward_formula().startswith("dL/dW = x^T @ dL/dy")
    assert ReLU.init_hint == LeakyReLU.init_hint == "he_normal"
    assert Tanh.init_hint == Layer.init_hint == "xavier_uniform"
    assert ReLU.has_kinks and not Tanh.has_kinks


def test_each_optimizer_states_the_update_it_applies():
    assert "W ← W − lr · (g + μ · v)" in SGD(0.1, momentum=0.9, nesterov=True).update_rule()
    assert "W ← W − lr · v" in SGD(0.1, momentum=0.9).update_rule()
    assert "√v̂" in Adam().update_rule() and "√s" in RMSProp(0.01).update_rule()
    assert "wd · W" in Adam(weight_decay=0.1).update_rule()


def test_unknown_names_are_errors_in_every_registry():
    for build, name in ((nn.activation, "swishy"), (nn.loss, "hinge"),
                        (lambda n: nn.optimizer(n, {"lr": 0.1}), "adamw")):
        with pytest.raises(ValueError, match=f"unknown .*'{name}'; choose one of"):
            build(name)
