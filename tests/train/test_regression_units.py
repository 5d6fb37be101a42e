"""Regression reported in the data's own units: the network learns standardised targets, a person reads R^2 and
errors in the target's units (house prices, not fractions of a standard deviation).

The reference numbers are worked out here by hand from the raw file: each validation row is found in the file
by its features, so the targets compared against are the file's own values, not the dataset's conversion.
"""

import csv
import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from nntui.cli import main
from nntui.train.config import apply_overrides, default_config
from nntui.train.metrics import EpochRecord, History, LossUnits
from nntui.train.session import TrainingSession

PRICE_MEAN, PRICE_SCALE = 250_000.0, 60_000.0


def house_prices(path, n=600, seed=0):
    """A house-price-like CSV: price = 250k + 60k * (1.5 a - b + 0.5 c) + noise (variance ~1e10)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    price = PRICE_MEAN + PRICE_SCALE * (1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2]) + 5_000 * rng.normal(size=n)
    rows = np.column_stack([x.round(6), price.round(2)])
    path.write_text("a,b,c,price\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")
    return rows


def file_targets_of(rows, features_raw):
    """The file's target of each row with these raw features (nearest row by features: exact up to float32)."""
    distance = ((features_raw[:, None, :] - rows[None, :, :3]) ** 2).sum(axis=2)
    nearest = distance.argmin(axis=1)
    assert np.all(distance[np.arange(len(nearest)), nearest] < 1e-6)  # each found, not guessed
    return rows[nearest, 3]


def regression_session(path, epochs=15):
    config = apply_overrides(default_config(str(path)), {
        "data.task": "regression", "model.hidden": [32], "training.epochs": epochs, "optimizer.lr": 0.01})
    return TrainingSession(config)


def test_an_epoch_reports_r2_mae_and_mse_of_the_validation_set_in_the_data_units(tmp_path):
    rows = house_prices(tmp_path / "houses.csv")
    session = regression_session(tmp_path / "houses.csv")
    session.train()
    record = session.history.epochs[-1]

    data = session.dataset
    actual = file_targets_of(rows, data.unstandardize(data.x_val))
    predicted = session.predict(data.x_val)[:, 0]  # in the data's units
    by_hand_r2 = 1 - np.sum((actual - predicted) ** 2) / np.sum((actual - actual.mean()) ** 2)
    assert record.val_r2 == pytest.approx(by_hand_r2, rel=1e-9, abs=1e-9)
    assert record.val_mae == pytest.approx(np.mean(np.abs(actual - predicted)), rel=1e-9)
    assert record.val_mse == pytest.approx(np.mean((actual - predicted) ** 2), rel=1e-9)
    assert by_hand_r2 > 0.95  # it learned the (nearly) linear price
    assert 1_000 < record.val_mae < 0.2 * PRICE_SCALE  # dollars, not standard deviations
    # the loss it minimised is that of standardised targets: the same error, divided by the target's variance
    assert record.val_loss == pytest.approx(record.val_mse / float(data.target_std[0]) ** 2, rel=1e-4)


def test_classification_epochs_have_no_regression_scores():
    session = TrainingSession(apply_overrides(default_config("moons"), {"training.epochs": 1}))
    session.train()
    record = session.history.epochs[-1]
    assert math.isnan(record.val_r2) and math.isnan(record.val_mae) and math.isnan(record.val_mse)
    assert math.isfinite(record.val_accuracy)


def test_a_history_saved_before_the_regression_fields_loads_with_them_unknown():
    old = {"epoch": 1, "step": 5, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.6,
           "val_accuracy": 0.75, "seconds": 0.1}  # the fields of an EpochRecord before val_r2 existed
    state = History().state()
    state["epochs"] = [old]
    record = History.from_state(json.loads(json.dumps(state))).epochs[0]
    assert record == EpochRecord(**old) and math.isnan(record.val_r2)


def test_nntui_train_json_has_val_r2_and_val_mae_in_the_data_units(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    house_prices(tmp_path / "houses.csv")
    code = main(["train", "--dataset", "houses.csv", "--task", "regression", "--hidden", "32",
                 "--epochs", "15", "--lr", "0.01", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["val_r2"] > 0.95
    assert 1_000 < summary["val_mae"] < 0.2 * PRICE_SCALE
    assert summary["val_mse"] > summary["val_mae"] ** 2 * 0.99  # E[e^2] >= E[|e|]^2
    assert summary["val_accuracy"] is None


def test_nntui_train_says_r2_and_mae_for_regression_and_accuracy_for_classes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    house_prices(tmp_path / "houses.csv")
    assert main(["train", "--dataset", "houses.csv", "--task", "regression", "--epochs", "3"]) == 0
    done = capsys.readouterr().out.strip().splitlines()[-1]
    assert "val R^2 " in done and "MAE " in done and "accuracy" not in done
    assert main(["train", "--dataset", "moons", "--epochs", "1"]) == 0
    assert "val accuracy" in capsys.readouterr().out


def test_the_status_line_shows_r2_and_mae_for_regression(tmp_path):
    from nntui.tui.widgets.status import status_text

    house_prices(tmp_path / "houses.csv")
    session = regression_session(tmp_path / "houses.csv", epochs=2)
    session.train()
    last = session.history.epochs[-1]
    lines = status_text(session.snapshot(), 78).splitlines()
    assert lines[1].startswith(f"val R² {last.val_r2:.3f}  MAE {last.val_mae:.4g}  ·  ")
    assert all(len(line) <= 78 for line in lines)


@pytest.mark.filterwarnings("error")  # no raw NumPy warning either
def test_a_target_of_1e200_gets_its_r2_though_its_squared_errors_overflow(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (2 * x[:, 0] + x[:, 1]) * 1e200
    np.savez(tmp_path / "huge.npz", x=x, y=y)
    assert main(["train", "--dataset", "huge.npz", "--task", "regression", "--epochs", "10", "--json",
                 "--save", "run.npz"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["val_r2"] > 0.9
    assert 0 < summary["val_mae"] < 0.5 * np.mean(np.abs(y))  # in the data's units
    assert summary["val_mse"] is None  # (1e200)^2 is beyond float64: not a number JSON can hold
    assert main(["predict", "run.npz", "huge.npz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["r2"] > 0.9


# -- the loss a person sees: the MSE in the data's units (LossUnits) -------------------------------------------

BIG_SCALE = 1e4


def big_scale_line(path, n=400, seed=1):
    """Targets 1e4 times a linear function (plus noise): variance ~1.4e9, so a loss in standardised units and one
    in the data's differ by a factor no rounding hides."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 20_000 + BIG_SCALE * (3 * x[:, 0] - 2 * x[:, 1] + x[:, 2] + 0.3 * rng.normal(size=n))
    rows = np.column_stack([x.round(6), y.round(3)])
    path.write_text("a,b,c,y\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")
    return rows


def next_batch_mse_by_hand(session, rows):
    """The MSE in the data's units of the batch the next step trains on, with the weights it will see: the
    network's predictions (in the data's units) against the file's own targets of those rows."""
    start = session.batch_index * session.batch_size
    x = session.x_train[session.order[start:start + session.batch_size]]
    actual = file_targets_of(rows, session.dataset.unstandardize(x))
    return float(np.mean((actual - session.predict(x)[:, 0]) ** 2))


def val_mse_by_hand(session, rows):
    x = session.x_val
    actual = file_targets_of(rows, session.dataset.unstandardize(x))
    return float(np.mean((actual - session.predict(x)[:, 0]) ** 2))


def test_the_loss_of_one_target_is_shown_in_the_data_units_squared(tmp_path):
    rows = big_scale_line(tmp_path / "line.csv")
    session = regression_session(tmp_path / "line.csv", epochs=3)
    units = session.loss_units
    assert (units.name, units.units, units.label) == ("MSE", "data units", "loss (MSE, data units)")
    assert units.scale == pytest.approx(float(np.var(session.dataset.targets_in_units(session.y_train))), rel=1e-9)

    by_hand = next_batch_mse_by_hand(session, rows)
    session.step()
    shown = units.shown(session.snapshot().batch_loss)
    assert shown == pytest.approx(by_hand, rel=1e-4), f"mine {shown} reference {by_hand}"
    assert shown > 1e6 * session.last_loss  # not standard deviations

    session.train()
    record = session.history.epochs[-1]
    assert units.shown(record.val_loss) == pytest.approx(val_mse_by_hand(session, rows), rel=1e-4)
    assert units.shown(record.val_loss) == pytest.approx(record.val_mse, rel=1e-4)  # as --json reports it


def test_the_status_line_shows_the_batch_mse_in_the_data_units_and_says_so(tmp_path):
    from nntui.tui.widgets.status import status_text

    rows = big_scale_line(tmp_path / "line.csv")
    session = regression_session(tmp_path / "line.csv", epochs=3)
    by_hand = next_batch_mse_by_hand(session, rows)
    session.step()
    for width in (None, 120, 78):
        first = status_text(session.snapshot(), width).splitlines()[0]
        match = re.search(r"MSE (\S+) \(data units\)", first)
        assert match, first
        assert float(match.group(1)) == pytest.approx(by_hand, rel=1e-3)  # 4 significant digits
        assert "acc" not in first and (width is None or len(first) <= width)
    assert "batch MSE " in status_text(session.snapshot(), 120)
    assert re.search(r"MSE \S+ \(data\)  lr", status_text(session.snapshot(), 50).splitlines()[0])


def test_several_targets_keep_the_standardised_loss_and_say_so(tmp_path):
    from nntui.tui.widgets.status import status_text

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    y = np.column_stack([1e4 * x[:, 0], 3 * x[:, 1]])  # a price and a count: their squares do not add up
    np.savez(tmp_path / "two.npz", x=x, y=y)
    session = regression_session(tmp_path / "two.npz", epochs=1)
    session.step()
    units = session.loss_units
    assert (units.scale, units.label) == (1.0, "loss (MSE, standardised)")
    assert units.shown(session.last_loss) == session.last_loss
    assert f"batch MSE {session.last_loss:.4g} (standardised)" in status_text(session.snapshot(), 120)


def test_a_target_whose_variance_overflows_keeps_the_standardised_loss():
    def dataset(std):
        return SimpleNamespace(task="regression", target_std=np.array([std]))

    assert LossUnits.of(dataset(1e200), "mse") == LossUnits(1.0, "MSE", "standardised")  # (1e200)^2 = inf
    assert LossUnits.of(dataset(1e-200), "mse") == LossUnits(1.0, "MSE", "standardised")  # squared: 0
    assert LossUnits.of(dataset(3.0), "mse") == LossUnits(9.0, "MSE", "data units")
    assert LossUnits.of(SimpleNamespace(task="classification", target_std=None), "softmax_ce") == LossUnits()
    assert LossUnits(1e300, "MSE", "data units").shown(1e10) == math.inf  # beyond float64: inf, no error


def test_classification_losses_are_shown_as_they_are():
    from nntui.tui.widgets.status import status_text

    session = TrainingSession(apply_overrides(default_config("moons"), {"training.epochs": 1}))
    session.step()
    snap = session.snapshot()
    assert snap.loss_units == LossUnits() and snap.loss_units.label == "loss"
    assert snap.loss_units.shown(snap.batch_loss) == snap.batch_loss
    assert f"batch loss {snap.batch_loss:.4f}  acc {snap.batch_accuracy:.1%}" in status_text(snap, 120)


# -- nntui train --metrics: the regression scores per epoch -----------------------------------------------------

def test_the_metrics_file_has_each_epochs_r2_mae_and_mse_as_json_and_the_records_say(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    house_prices(tmp_path / "houses.csv")
    code = main(["train", "--dataset", "houses.csv", "--task", "regression", "--hidden", "32", "--epochs", "4",
                 "--lr", "0.01", "--json", "--metrics", "metrics.csv", "--save", "run.npz"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    with open(tmp_path / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    records = TrainingSession.from_checkpoint("run.npz").history.epochs

    assert len(rows) == len(records) == 4
    for row, record in zip(rows, records):
        for name in ("val_mse", "val_mae", "val_r2", "train_loss", "val_loss"):
            assert float(row[name]) == getattr(record, name), name  # every digit
        assert math.isnan(float(row["val_accuracy"]))
    for name in ("val_mse", "val_mae", "val_r2", "val_loss"):
        assert float(rows[-1][name]) == summary[name], name
    assert 1_000 < float(rows[-1]["val_mae"]) < 0.2 * PRICE_SCALE  # dollars


def test_the_progress_line_of_a_regression_gives_the_training_mse_in_the_data_units(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    big_scale_line(tmp_path / "line.csv")
    assert main(["train", "--dataset", "line.csv", "--task", "regression", "--epochs", "2", "--json",
                 "--save", "run.npz"]) == 0
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    session = TrainingSession.from_checkpoint("run.npz")
    record = session.history.epochs[-1]
    match = re.search(r"train MSE (\S+) \(data units\)  val R\^2 ", last_line)
    assert last_line.startswith("epoch 2/2  ") and match, last_line
    assert float(match.group(1)) == pytest.approx(record.train_loss * float(session.dataset.target_std[0]) ** 2,
                                                  rel=1e-3)
