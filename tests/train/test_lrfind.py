"""The learning-rate range test: rates that grow exponentially, a stop at the explosion, a suggestion at the
steepest descent, and the run itself left exactly as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nntui.cli import main
from nntui.train.config import apply_overrides, default_config
from nntui.train.lrfind import EXPLODED, LR_END, LR_START, SKIP_START, lr_range_test, steepest_descent
from nntui.train.session import TrainingSession


def spiral_session(**overrides) -> TrainingSession:
    settings = {"data.n_samples": 300, "model.hidden": [32, 32], "training.epochs": 50}
    return TrainingSession(apply_overrides(default_config("spiral"), {**settings, **overrides}))


def test_the_rate_grows_exponentially_from_the_start_and_the_test_stops_when_the_loss_explodes():
    session = spiral_session()
    result = lr_range_test(session.trainer)
    assert result.lrs[0] == pytest.approx(LR_START)
    ratios = np.array(result.lrs[1:]) / np.array(result.lrs[:-1])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # a constant factor: a straight line on a log axis
    assert ratios[0] == pytest.approx((LR_END / LR_START) ** (1 / 99))
    assert result.stopped_early and result.lrs[-1] < LR_END  # Adam at a rate of several units blows up
    assert max(result.raw_losses[-1], result.losses[-1]) > EXPLODED * min(result.losses)  # what stopped it
    assert all(max(raw, smooth) <= EXPLODED * min(result.losses[:i + 1])  # and nothing before
               for i, (raw, smooth) in enumerate(zip(result.raw_losses[:-1], result.losses[:-1])))


def test_the_suggestion_is_a_rate_at_which_a_run_learns():
    session = spiral_session()
    result = lr_range_test(session.trainer)
    assert result.suggested_lr is not None and 1e-4 < result.suggested_lr < 1
    trained = spiral_session(**{"optimizer.lr": result.suggested_lr, "training.epochs": 60})
    trained.train()
    assert trained.history.epochs[-1].val_accuracy > 0.85


def test_the_run_is_left_exactly_as_it_was():
    tested, untouched = spiral_session(), spiral_session()
    for _ in range(7):
        tested.step()
        untouched.step()
    before = tested.trainer.state_dict()
    lr_range_test(tested.trainer)
    after = tested.trainer.state_dict()
    assert before.keys() == after.keys()
    for _ in range(30):  # training on gives exactly the numbers it would have given without the test
        assert tested.step().loss == untouched.step().loss
    for (name, mine, _), (_, reference, _) in zip(tested.model.parameters(), untouched.model.parameters()):
        assert np.array_equal(mine, reference), name


def test_steepest_descent_finds_the_middle_of_a_smooth_drop_and_ignores_the_noisy_start():
    lrs = list(np.logspace(-7, 1, 100))
    log_lr = np.log10(lrs)
    losses = 1.0 - 0.8 / (1 + np.exp(-(log_lr + 2) * 3))  # falls fastest at 1e-2
    losses[: SKIP_START] += np.random.default_rng(0).normal(0, 0.2, SKIP_START)  # wild early noise
    losses[90:] += np.linspace(0, 5, 10)  # the explosion
    suggested, note = steepest_descent(lrs, list(losses))
    assert note == "" and 10**-2.3 < suggested < 10**-1.7


def test_no_suggestion_when_the_loss_never_falls():
    lrs = list(np.logspace(-7, 1, 60))
    suggested, note = steepest_descent(lrs, list(np.linspace(1, 3, 60)))
    assert suggested is None and "never fell" in note


def test_the_command_prints_one_json_line_and_a_readable_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lr-find", "--dataset", "moons", "--samples", "300", "--hidden", "16", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    found = json.loads(lines[0])
    assert set(found) == {"suggested_lr", "lrs", "losses"} and len(found["lrs"]) == len(found["losses"]) > 20

    assert main(["lr-find", "--dataset", "moons", "--samples", "300", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert f"suggested learning rate: {found['suggested_lr']:.2g}" in out


def test_a_bad_flag_exits_2_with_one_line(capsys):
    assert main(["lr-find", "--dataset", "nope"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nope" in err
