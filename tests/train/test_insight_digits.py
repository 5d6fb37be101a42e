"""The digits insights: confusion matrix, misclassified images and first-layer weight images.

Every expectation is an independent computation from the session's own predictions, weights and data (a plain
Python count, the raw digits file, W's columns), never the module's output from an earlier run. One small network
(a hidden layer of 32 units) trained 2 seeded epochs serves most tests: about 90% validation accuracy, so there are
mistakes to look at.
"""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from nntui.nn import Linear
from nntui.train.config import apply_overrides, default_config
from nntui.train.data import load_dataset, load_digits
from nntui.train.insight import digits as insight
from nntui.train.session import TrainingSession


def digits_session(epochs: int = 2, **overrides) -> TrainingSession:
    settings = {"model.hidden": [32], "model.activations": ["relu"], "training.epochs": epochs,
                "training.seed": 0}
    settings.update({key.replace("__", "."): value for key, value in overrides.items()})
    session = TrainingSession(apply_overrides(default_config("digits"), settings))
    session.train()
    return session


@pytest.fixture(scope="module")
def trained() -> TrainingSession:
    return digits_session()


# -- applies -------------------------------------------------------------------------------------------------


def test_applies_to_the_digits(trained):
    assert insight.applies(trained) is None


def test_does_not_apply_to_the_spiral_and_says_why():
    session = TrainingSession(default_config("spiral"))
    assert insight.applies(session) == "needs image data such as the digits; spiral has 2 features"


def test_does_not_apply_to_image_regression():
    data = replace(load_dataset("digits", seed=0), task="regression")
    reason = insight.applies(SimpleNamespace(dataset=data))
    assert reason is not None and "classification" in reason


# -- confusion matrix ----------------------------------------------------------------------------------------


def test_confusion_matrix_sums_to_the_validation_size(trained):
    counts = insight.confusion_matrix(trained)
    assert counts.shape == (10, 10)
    assert counts.sum() == len(trained.y_val) == len(trained.x_val)
    assert np.array_equal(counts.sum(axis=1), np.bincount(trained.y_val, minlength=10))  # rows: true classes


def test_confusion_matrix_equals_a_plain_count_of_the_predictions(trained):
    predicted = trained.predict(trained.x_val)
    reference = [[0] * 10 for _ in range(10)]
    for true_class, guess in zip(trained.y_val.tolist(), predicted.tolist()):
        reference[true_class][guess] += 1
    mine = insight.confusion_matrix(trained)
    assert mine.tolist() == reference, f"mine\n{mine}\nreference\n{np.array(reference)}"


def test_diagonal_share_is_the_validation_accuracy_the_session_reports(trained):
    counts = insight.confusion_matrix(trained)
    share = np.trace(counts) / counts.sum()
    _loss, accuracy = trained.evaluate(trained.x_val, trained.y_val)
    assert share == pytest.approx(accuracy, abs=1e-12)
    assert share == pytest.approx(trained.history.epochs[-1].val_accuracy, abs=1e-12)  # the epoch's record
    assert 0.5 < share < 1.0  # trained, yet with mistakes to show


# -- misclassified -------------------------------------------------------------------------------------------


def test_misclassified_entries_really_are_misclassified(trained):
    predicted = trained.predict(trained.x_val)
    scores = trained.predict_scores(trained.x_val).astype(np.float64)
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    mistakes = insight.misclassified(trained, limit=1000)
    assert len(mistakes) == np.count_nonzero(predicted != trained.y_val) > 0
    for m in mistakes:
        assert m.true_label == trained.y_val[m.index]
        assert m.predicted_label == predicted[m.index] != m.true_label
        assert m.confidence == pytest.approx(probabilities[m.index].max(), rel=1e-6)
    confidences = [m.confidence for m in mistakes]
    assert confidences == sorted(confidences, reverse=True)  # the most confident mistakes first


def test_misclassified_keeps_to_the_limit(trained):
    assert len(insight.misclassified(trained)) == 12
    assert len(insight.misclassified(trained, limit=5)) == 5
    assert insight.misclassified(trained, limit=0) == []
    assert [m.index for m in insight.misclassified(trained, limit=5)] == \
        [m.index for m in insight.misclassified(trained, limit=12)][:5]


def test_misclassified_images_are_the_raw_digits(trained):
    raw_x, raw_y = load_digits()
    data = trained.dataset
    for m in insight.misclassified(trained, limit=1000):
        assert m.image.shape == (8, 8)
        # Undo the standardisation by hand (the float32 features carry ~1e-7 of rounding) and find the very
        # image in the shipped file: the view gives its pixels exactly, whole numbers 0..16.
        by_hand = data.x_val[m.index].astype(np.float64) * data.feature_std + data.feature_mean
        assert np.allclose(m.image.ravel(), by_hand, rtol=0, atol=1e-5)
        distance = np.abs(raw_x - m.image.ravel()).max(axis=1)
        row = int(distance.argmin())
        assert distance[row] == 0, f"mistake {m.index} is not a row of the digits file"
        assert raw_y[row] == m.true_label
        assert m.image.min() >= -1e-6 and m.image.max() <= 16 + 1e-6  # pixel units, not standardised


def test_binary_image_classifier_reports_sigmoid_confidence():
    full = load_dataset("digits", seed=0)
    keep_train, keep_val = full.y_train < 2, full.y_val < 2  # zeros against ones
    data = replace(full, x_train=full.x_train[keep_train], y_train=full.y_train[keep_train],
                   x_val=full.x_val[keep_val], y_val=full.y_val[keep_val], n_classes=2, class_names=["0", "1"])
    config = apply_overrides(default_config("digits"), {"model.hidden": [], "model.loss": "bce",
                                                        "training.epochs": 1})
    session = TrainingSession(config, dataset=data)
    probabilities = insight.class_probabilities(session, session.x_val)
    logits = session.predict_scores(session.x_val)[:, 0].astype(np.float64)
    assert np.allclose(probabilities[:, 1], 1 / (1 + np.exp(-logits)))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    for m in insight.misclassified(session, limit=1000):  # untrained: some mistakes, each less than sure
        assert m.predicted_label == session.predict(session.x_val)[m.index] != m.true_label
        assert 0.5 <= m.confidence <= 1.0


# -- first-layer weights -------------------------------------------------------------------------------------


def test_first_layer_images_are_W_columns_reshaped_strongest_first(trained):
    weights = next(layer for layer in trained.model.layers if isinstance(layer, Linear)).params["W"]
    assert weights.shape == (64, 32)
    norms = [float(np.sqrt((weights[:, unit].astype(np.float64) ** 2).sum())) for unit in range(32)]
    expected_order = sorted(range(32), key=lambda unit: -norms[unit])
    images = insight.first_layer_images(trained)
    units = insight.first_layer_units(trained)
    assert len(images) == len(units) == 16
    for image, unit, expected in zip(images, units, expected_order):
        assert unit.unit == expected
        assert unit.norm == pytest.approx(norms[expected], rel=1e-9)
        assert image.shape == (8, 8)
        assert np.array_equal(image, weights[:, expected].reshape(8, 8))
    assert len(insight.first_layer_images(trained, limit=100)) == 32  # no more than the layer has


def test_without_hidden_layers_the_first_layer_is_the_class_templates():
    session = digits_session(epochs=1, model__hidden=[], model__activations=[])
    units = insight.first_layer_units(session, limit=100)
    assert sorted(unit.unit for unit in units) == list(range(10))
    assert insight.first_linear(session) is session.model.layers[-1]
