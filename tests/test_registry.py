"""A new activation, loss or optimizer is one class plus one registry line, and then it works everywhere.

Each test defines its class right here, registers it with one line, and uses it through a ``RunConfig``, a
training session and the ``nntui train`` command, exactly as the built-in ones are used.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nntui import nn
from nntui.cli import main
from nntui.train.config import RunConfig, apply_overrides, default_config
from nntui.train.session import TrainingSession


class Swish(nn.Layer):
    """Swish (SiLU): ``y = x · sigmoid(x)``, smooth, a little below zero for negative x."""

    name = "swish"
    init_hint = "he_normal"

    def forward(self, x, training=True):
        s = nn.sigmoid(x)
        if training:
            self.x, self.s = x, s
        return x * s

    def backward(self, grad_y):
        # dL/dx = dL/dy * (s + x s (1 - s)),  s = sigmoid(x)
        return grad_y * (self.s + self.x * self.s * (1 - self.s))


class MeanAbsoluteError(nn.Loss):
    """Mean absolute error: ``L = mean(|pred - target|)``."""

    name = "mae"
    title = "mean absolute error"
    formula = "L = mean(|pred - target|)"

    def forward(self, pred, target, training=True):
        diff = pred - np.asarray(target, dtype=pred.dtype).reshape(pred.shape)
        if training:
            self.diff = diff
        return float(np.abs(diff).mean())

    def backward(self):
        # dL/dpred = sign(pred - target) / number of elements
        return np.sign(self.diff) / self.diff.size


class SignSGD(nn.Optimizer):
    """Sign descent: ``w <- w - lr * sign(g)``."""

    def _update(self, param, grad, buffers):
        param -= self.lr * np.sign(grad)

    def update_rule(self):
        return "W ← W − lr · sign(g)"


@pytest.fixture
def registered(monkeypatch):
    """The three classes above, each registered with its one line (undone after the test)."""
    monkeypatch.setitem(nn.ACTIVATIONS, "swish", Swish)
    monkeypatch.setitem(nn.LOSSES, "mae", MeanAbsoluteError)
    monkeypatch.setitem(nn.OPTIMIZERS, "signsgd", SignSGD)


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_registered_activation_passes_the_gradient_check(registered):
    rng = np.random.default_rng(0)
    model = nn.mlp([3, 6, 5, 2], "swish", rng=rng, dtype=np.float64)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    assert nn.gradcheck(model, nn.SoftmaxCrossEntropy(), x, y).passed


def test_a_registered_activation_trains_through_a_run_config(registered):
    config = apply_overrides(default_config("moons"), {
        "model.hidden": [16, 16], "model.activations": ["swish", "swish"], "training.epochs": 15,
        "optimizer.name": "adam", "optimizer.lr": 0.01})
    session = TrainingSession(RunConfig.from_dict(config.to_dict()))  # through the TOML-shaped dict too
    session.train()
    assert [type(layer).__name__ for layer in session.model.layers[1::2]] == ["Swish", "Swish"]
    assert session.history.epochs[-1].val_accuracy > 0.8
    assert {stats.activation for stats in session.layer_stats()} == {"swish", None}


def test_the_command_offers_and_trains_a_registered_activation_and_optimizer(registered, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert "swish" in help_text and "signsgd" in help_text

    code = main(["train", "--dataset", "moons", "--samples", "300", "--hidden", "16", "--activation", "swish",
                 "--optimizer", "signsgd", "--lr", "0.01", "--epochs", "5", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out.splitlines()[-1])["val_accuracy"] > 0.7


def test_a_registered_loss_trains_a_regression_from_the_command(registered, tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.1 * rng.standard_normal(300)
    np.savetxt(tmp_path / "line.csv", np.column_stack([x, y]), delimiter=",", header="a,b,y", comments="")

    code = main(["train", "--dataset", "line.csv", "--task", "regression", "--loss", "mae", "--hidden", "8",
                 "--epochs", "40", "--lr", "0.01", "--json"])
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0
    assert summary["val_loss"] < 0.5  # mean |error|, standardised units: far below the target's spread


def test_an_unregistered_name_is_refused_everywhere_with_the_registered_ones_listed(registered, capsys):
    with pytest.raises(ValueError, match="swish"):
        apply_overrides(default_config("moons"), {"model.activations": ["swishy"], "model.hidden": [4]}).validate()
    code = main(["train", "--dataset", "moons", "--optimizer", "adamw"])
    err = capsys.readouterr().err
    assert code == 2 and "adamw" in err and "signsgd" in err
