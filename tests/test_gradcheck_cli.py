"""`nntui gradcheck`: the engine's gradients against finite differences, from the command line."""

import json

import numpy as np
import pytest

from nntui.cli import main
from nntui.nn.layers import Tanh


def run(capsys, *args):
    code = main(["gradcheck", "--json", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_every_activation_passes(capsys, activation):
    code, result = run(capsys, "--dataset", "spiral", "--hidden", "16,8", "--activation", activation)
    assert code == 0
    assert result["passed"] and result["max_rel_error"] < 1e-6
    assert set(result["params"]) == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}


@pytest.mark.parametrize("loss", ["softmax_ce", "bce"])
def test_the_classification_losses_pass(capsys, loss):
    code, result = run(capsys, "--dataset", "moons", "--hidden", "8", "--loss", loss)
    assert code == 0 and result["max_rel_error"] < 1e-6


def test_mean_squared_error_on_a_regression_file_passes(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 3))
    np.savez(tmp_path / "reg.npz", x=x, y=x @ np.array([1.0, -2.0, 0.5]))
    code, result = run(capsys, "--dataset", str(tmp_path / "reg.npz"), "--task", "regression", "--hidden", "8",
                       "--activation", "tanh")
    assert code == 0 and result["max_rel_error"] < 1e-6


def test_dropout_layers_are_checked_with_their_masks_fixed(capsys):
    code, result = run(capsys, "--dataset", "blobs", "--hidden", "8", "--dropout", "0.3")
    assert code == 0 and result["passed"]


def test_a_deliberately_broken_backward_fails_with_exit_code_1(capsys, monkeypatch):
    def wrong_backward(self, grad_y, input_grad=True):
        return grad_y * (1 - self.y)  # forgets to square y: dtanh/dx is 1 - y^2

    monkeypatch.setattr(Tanh, "backward", wrong_backward)
    code, result = run(capsys, "--dataset", "spiral", "--hidden", "16", "--activation", "tanh")
    assert code == 1
    assert not result["passed"]
    assert result["params"]["0.W"] > 1e-3  # the layer below the broken Tanh gets the wrong gradient
    assert result["params"]["2.W"] < 1e-6  # the output layer, above it, is still right


def test_the_plain_output_names_each_parameter_and_the_verdict(capsys):
    assert main(["gradcheck", "--hidden", "4"]) == 0
    out = capsys.readouterr().out
    assert "0.W" in out and "(2, 4)" in out and "passed" in out


def test_bad_flags_exit_2_with_one_line(capsys):
    assert main(["gradcheck", "--hidden", "0"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_data_that_puts_every_relu_input_on_its_kink_is_not_blamed_on_the_engine(capsys, tmp_path):
    # Constant features standardise to 0, and zero-initialised biases then put every ReLU input exactly on the
    # kink, where finite differences straddle two slopes: no verdict is possible, and the message says why.
    rows = "\n".join(f"1,1,{'xy'[i % 2]}" for i in range(12))
    (tmp_path / "constant.csv").write_text("a,b,label\n" + rows + "\n")
    assert main(["gradcheck", "--dataset", str(tmp_path / "constant.csv")]) == 2
    err = capsys.readouterr().err
    assert "kink" in err and len(err.strip().splitlines()) == 1


def test_a_wide_layer_after_training_still_passes(capsys):
    # Rounding noise grows with the number of terms in the loss; the 4-point stencil keeps the check exact.
    from nntui.train.checks import gradient_check
    from nntui.train.config import apply_overrides, default_config
    from nntui.train.session import TrainingSession

    session = TrainingSession(apply_overrides(default_config("digits"), {"model.hidden": [1024],
                                                                        "model.activations": ["relu"]}))
    for _ in range(3):
        session.step()
    result = gradient_check(session, max_checks=40)
    assert result.passed, result.errors


def test_an_entry_whose_finite_differences_straddle_a_kink_is_left_out():
    from nntui.nn import numerical_gradient

    x = np.array([0.0, 1.0])

    def f():
        return float(np.abs(x).sum())  # |x| has a kink at 0

    smooth = numerical_gradient(f, x, 1e-4, stencil=4)
    guarded = numerical_gradient(f, x, 1e-4, stencil=4, regime=lambda: tuple(x > 0))
    assert smooth[0] == pytest.approx(0.0)  # the kink's finite difference: a slope that does not exist
    assert np.isnan(guarded[0]) and guarded[1] == pytest.approx(1.0)


def test_the_datas_gradient_is_checked_too_and_shown_as_its_own_row(capsys):
    code, result = run(capsys, "--dataset", "moons", "--hidden", "8")
    assert code == 0 and result["input"] is not None and result["input"] < 1e-6
    assert main(["gradcheck", "--dataset", "moons", "--hidden", "8"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert any(row[0] == "dL/dx" and row[-1] == "ok" for row in rows if row)


def test_a_sessions_check_reports_the_engines_errors_worst_error_and_verdict(monkeypatch):
    from nntui.nn import GradcheckResult, gradcheck
    from nntui.train import checks
    from nntui.train.config import apply_overrides, default_config
    from nntui.train.session import TrainingSession

    session = TrainingSession(apply_overrides(default_config("moons"), {"model.hidden": [8]}))
    engine = []

    def recorded(*args, **kwargs):
        engine.append(gradcheck(*args, **kwargs))
        return engine[-1]

    monkeypatch.setattr(checks, "gradcheck", recorded)
    check = checks.gradient_check(session, max_checks=20)
    (result,) = engine
    assert check.result is result and check.meaningful
    assert dict(check.errors) == dict(result) and check.input_error == result.input_error
    assert check.max_rel_error == result.max_rel_error and check.passed is result.passed is True
    assert check.to_dict()["max_rel_error"] == result.max_rel_error

    # The verdict is the engine's, not worked out again: the same errors against a tighter tolerance fail.
    strict = GradcheckResult(dict(result), result.input_error, tolerance=result.max_rel_error / 2)
    monkeypatch.setattr(checks, "gradcheck", lambda *args, **kwargs: strict)
    check = checks.gradient_check(session, max_checks=20)
    assert check.meaningful and not check.passed
    assert check.to_dict()["passed"] is False and check.to_dict()["tolerance"] == strict.tolerance
