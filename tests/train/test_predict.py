"""`nntui predict RUN DATA`: a saved run applied to new rows, checked against the network's math done by hand."""

import csv
import io
import json

import numpy as np
import pytest

from nntui.cli import main
from nntui.train.checkpoint import load_checkpoint
from nntui.train.data import DataError
from nntui.train.predict import predict_file, r_squared


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def species(tmp_path):
    """A 3-class CSV with word labels, a trained run saved from it, and the raw features."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 2)) + np.repeat([[0, 3], [3, 0], [-3, -3]], 80, axis=0)
    labels = np.repeat(["setosa", "versicolor", "virginica"], 80)
    path = write_csv(tmp_path / "iris.csv", ["length", "width", "species"],
                     [[f"{a:.5f}", f"{b:.5f}", label] for (a, b), label in zip(x, labels)])
    run = tmp_path / "run.npz"
    assert main(["train", "--dataset", str(path), "--epochs", "15", "--hidden", "8", "--save", str(run)]) == 0
    return path, run, np.array([[float(f"{v:.5f}") for v in row] for row in x]), labels


def by_hand(run_path, x_raw):
    """Softmax probabilities from the saved weights: standardise, run every layer in evaluation mode."""
    run = load_checkpoint(run_path)
    data = run.dataset
    z = ((x_raw - data.feature_mean) / data.feature_std).astype(np.float32)
    logits = run.model.forward(z, False).astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True), data.class_names


def read_output(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def test_predicting_the_training_file_gives_a_row_per_input_with_names_and_probabilities(species, capsys):
    path, run, x, labels = species
    capsys.readouterr()
    assert main(["predict", str(run), str(path)]) == 0
    out, err = capsys.readouterr()
    header, rows = read_output(out)
    assert header == ["prediction", "p_setosa", "p_versicolor", "p_virginica"]
    assert len(rows) == 240
    probabilities = np.array([[float(p) for p in row[1:]] for row in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    expected, class_names = by_hand(run, x)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-6)
    predicted = [row[0] for row in rows]
    assert predicted == [class_names[i] for i in expected.argmax(axis=1)]
    accuracy = np.mean(np.array(predicted) == labels)
    assert err == f"nntui predict: accuracy {accuracy:.1%} on 240 labelled rows\n"
    assert accuracy > 0.9


def test_columns_are_matched_by_name_and_the_label_is_optional(species, tmp_path, capsys):
    _path, run, x, _ = species
    new = write_csv(tmp_path / "new.csv", ["width", "length"], [[f"{b:.5f}", f"{a:.5f}"] for a, b in x[:7]])
    capsys.readouterr()
    assert main(["predict", str(run), str(new), "--out", str(tmp_path / "out.csv")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # no labels: nothing to score
    _, rows = read_output((tmp_path / "out.csv").read_text())
    expected, class_names = by_hand(run, x[:7])
    assert [row[0] for row in rows] == [class_names[i] for i in expected.argmax(axis=1)]


@pytest.mark.parametrize("header, message", [
    (["length"], "has no column 'width', which the run was trained on"),
    (["length", "width", "colour"], "has the column 'colour', which the run was not trained on"),
])
def test_a_missing_or_extra_feature_column_is_refused_by_name(species, tmp_path, capsys, header, message):
    _, run, _, _ = species
    new = write_csv(tmp_path / "new.csv", header, [["1"] * len(header)])
    capsys.readouterr()
    assert main(["predict", str(run), str(new)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("nntui predict: error:")


def test_json_holds_the_counts_the_accuracy_and_the_predictions(species, capsys):
    path, run, _x, labels = species
    capsys.readouterr()
    assert main(["predict", str(run), str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert err == ""
    assert summary["rows"] == summary["labelled"] == 240 and summary["r2"] is None
    assert summary["accuracy"] == pytest.approx(np.mean(np.array(summary["predictions"]) == labels))
    assert np.allclose(np.sum(summary["probabilities"], axis=1), 1.0)


def test_a_two_class_run_with_a_sigmoid_output_gives_both_probabilities(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    path = write_csv(tmp_path / "two.csv", ["a", "b", "label"],
                     [[f"{a:.4f}", f"{b:.4f}", "up" if a + b > 0 else "down"] for a, b in x])
    run = tmp_path / "run.npz"
    assert main(["train", "--dataset", str(path), "--epochs", "10", "--loss", "bce", "--save", str(run)]) == 0
    predictions = predict_file(run, path)
    assert predictions.probabilities.shape == (200, 2) and predictions.header() == ["prediction", "p_down", "p_up"]
    np.testing.assert_allclose(predictions.probabilities.sum(axis=1), 1.0)
    assert predictions.accuracy > 0.9


def test_regression_predictions_are_in_the_data_units_and_scored_with_r2(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    price = 250_000 + 40_000 * x[:, 0] - 15_000 * x[:, 1] + rng.normal(0, 2_000, 300)
    path = write_csv(tmp_path / "houses.csv", ["rooms", "age", "price"],
                     [[f"{a:.5f}", f"{b:.5f}", f"{p:.2f}"] for (a, b), p in zip(x, price)])
    run = tmp_path / "run.npz"
    assert main(["train", "--dataset", str(path), "--task", "regression", "--epochs", "40", "--hidden", "16",
                 "--save", str(run)]) == 0
    capsys.readouterr()
    assert main(["predict", str(run), str(path)]) == 0
    out, err = capsys.readouterr()
    header, rows = read_output(out)
    assert header == ["prediction"] and len(rows) == 300
    predicted = np.array([float(row[0]) for row in rows])
    # By hand: standardise, forward, then back into dollars with the targets' statistics.
    trained = load_checkpoint(run)
    data = trained.dataset
    z = ((np.round(x, 5) - data.feature_mean) / data.feature_std).astype(np.float32)
    by_hand = trained.model.forward(z, False)[:, 0].astype(np.float64) * data.target_std[0] + data.target_mean[0]
    np.testing.assert_allclose(predicted, by_hand, rtol=1e-6)
    actual = np.round(price, 2)
    r2 = 1 - np.sum((actual - predicted) ** 2) / np.sum((actual - actual.mean()) ** 2)
    assert r2 > 0.95
    mae = np.mean(np.abs(actual - predicted))
    assert err.startswith(f"nntui predict: R^2 {r2:.4f}, mean absolute error ")
    assert float(err.split("error ")[1].split()[0]) == pytest.approx(mae, rel=1e-5)


def test_an_npz_run_predicts_an_npz_file_with_or_without_y(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 3))
    y = (x[:, 0] > 0).astype(int)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "unlabelled.npz", x=x[:10])
    np.savez(tmp_path / "narrow.npz", x=x[:10, :2])
    run = tmp_path / "run.npz"
    assert main(["train", "--dataset", str(tmp_path / "train.npz"), "--epochs", "10", "--save", str(run)]) == 0
    labelled = predict_file(run, tmp_path / "train.npz")
    assert labelled.n_rows == 150 and labelled.accuracy > 0.9
    unlabelled = predict_file(run, tmp_path / "unlabelled.npz")
    assert unlabelled.n_labelled == 0 and unlabelled.predicted.tolist() == labelled.predicted[:10].tolist()
    with pytest.raises(DataError, match="x has 2 feature columns, but the run was trained on 3"):
        predict_file(run, tmp_path / "narrow.npz")


def test_r_squared_is_one_for_a_perfect_fit_and_zero_for_the_mean():
    actual = np.array([[1.0], [2.0], [3.0], [6.0]])
    assert r_squared(actual, actual) == 1.0
    assert r_squared(actual, np.full_like(actual, actual.mean())) == pytest.approx(0.0)
    assert r_squared(actual, actual[::-1]) == pytest.approx(1 - 52 / 14)  # squared errors 25+1+1+25, spread 14


def without_data_summary(run, old):
    """A copy of checkpoint `run` as written before checkpoints kept the data's summary (no meta["data"])."""
    with np.load(run, allow_pickle=False) as saved:
        arrays = {key: saved[key] for key in saved.files}
    meta = json.loads(arrays["meta"].item())
    del meta["data"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(old, **arrays)
    return old


def test_predict_needs_no_training_file_the_checkpoint_keeps_the_standardisation(species, tmp_path, capsys):
    path, run, _, _ = species
    new_rows = tmp_path / "new.csv"
    new_rows.write_bytes(path.read_bytes())
    capsys.readouterr()
    assert main(["predict", str(run), str(new_rows), "--out", str(tmp_path / "before.csv")]) == 0
    path.unlink()  # the file the run was trained on
    assert main(["predict", str(run), str(new_rows), "--out", str(tmp_path / "after.csv")]) == 0
    assert (tmp_path / "after.csv").read_text() == (tmp_path / "before.csv").read_text()
    said = capsys.readouterr()
    assert "accuracy" in said.err + said.out


def test_an_older_checkpoint_reads_its_training_file_again_and_says_so_when_it_is_gone(species, tmp_path,
                                                                                         capsys):
    path, run, _, _ = species
    old = without_data_summary(run, tmp_path / "old.npz")
    capsys.readouterr()
    assert main(["predict", str(run), str(path), "--out", str(tmp_path / "new-format.csv")]) == 0
    assert main(["predict", str(old), str(path), "--out", str(tmp_path / "old-format.csv")]) == 0
    assert (tmp_path / "old-format.csv").read_text() == (tmp_path / "new-format.csv").read_text()
    new_rows = tmp_path / "new.csv"
    new_rows.write_bytes(path.read_bytes())
    path.unlink()
    capsys.readouterr()
    assert main(["predict", str(old), str(new_rows)]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "its training data is read again" in err
    assert err.count("\n") == 1


def test_a_regression_run_predicts_in_the_data_units_without_its_training_file(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    price = 200_000 + 50_000 * x[:, 0] - 20_000 * x[:, 1]
    train = write_csv(tmp_path / "houses.csv", ["a", "b", "price"],
                      [[f"{a:.6f}", f"{b:.6f}", f"{p:.2f}"] for (a, b), p in zip(x, price)])
    run = tmp_path / "run.npz"
    assert main(["train", "--dataset", str(train), "--task", "regression", "--epochs", "30", "--hidden", "16",
                 "--save", str(run)]) == 0
    restored = load_checkpoint(run)  # the whole run, training file read again: the reference
    expected = restored.dataset.targets_in_units(restored.predict_scores(restored.dataset.standardize(x)))
    rows = tmp_path / "rows.csv"
    rows.write_bytes(train.read_bytes())
    train.unlink()
    predictions = predict_file(run, rows)
    np.testing.assert_allclose(predictions.predicted, expected, rtol=1e-6)
    assert predictions.r2 > 0.9


def test_the_output_csv_quotes_class_names_that_need_it_and_reads_back_the_same_in_any_block_size(tmp_path):
    from nntui.train.predict import Predictions

    names = ["plain", "a, b", 'say "hi"']
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet([1, 1, 1], size=10)
    predicted = np.array(names)[probabilities.argmax(axis=1)]
    predictions = Predictions("classification", names, predicted, probabilities, 0)
    whole = predictions.csv_text()
    blocks = io.StringIO()
    predictions.write_csv(blocks, rows_at_a_time=3)
    assert blocks.getvalue() == whole
    predictions.write_file(tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == whole
    header, rows = read_output(whole)
    assert header == ["prediction", "p_plain", "p_a, b", 'p_say "hi"']
    assert [row[0] for row in rows] == predicted.tolist()
    np.testing.assert_allclose([[float(v) for v in row[1:]] for row in rows], probabilities, rtol=1e-5)


def test_a_label_the_run_never_saw_counts_as_a_mistake(species, tmp_path):
    _path, run, x, labels = species
    rows = [[f"{a:.5f}", f"{b:.5f}", "unheard-of" if i < 40 else label]
            for i, ((a, b), label) in enumerate(zip(x, labels))]
    new = write_csv(tmp_path / "new.csv", ["length", "width", "species"], rows)
    expected, class_names = by_hand(run, x)
    right = np.array([class_names[i] for i in expected.argmax(axis=1)]) == labels
    assert predict_file(run, new).accuracy == pytest.approx(np.mean(right[40:]) * 200 / 240)


@pytest.mark.parametrize("name, task", [("digits", "classification"), ("regression", "regression")])
def test_a_dataset_summary_through_json_standardises_and_names_as_the_dataset_does(tmp_path, name, task):
    from nntui.train.data import Dataset, load_dataset

    if task == "regression":
        rng = np.random.default_rng(1)
        x = rng.normal(size=(100, 3)) * [1e-3, 1.0, 1e6]
        np.savez(tmp_path / "r.npz", x=x, y=x @ [1e3, 2.0, 1e-6] + 5.0)
        name = str(tmp_path / "r.npz")
    data = load_dataset(name, task=task)
    again = Dataset.from_summary(json.loads(json.dumps(data.summary())))
    raw = data.unstandardize(data.x_val)
    np.testing.assert_array_equal(again.standardize(raw), data.standardize(raw))
    assert (again.class_names, again.feature_names, again.target_name, again.image_shape, again.task) == \
        (data.class_names, data.feature_names, data.target_name, data.image_shape, data.task)
    if task == "regression":
        np.testing.assert_array_equal(again.targets_in_units(data.y_val), data.targets_in_units(data.y_val))
    assert len(again.x_train) == 0 and again.n_features == data.n_features
