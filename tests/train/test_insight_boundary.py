"""The decision grid: the model's class over the plane, checked against the session's own predictions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nntui.train.config import apply_overrides, default_config
from nntui.train.insight.boundary import (
    Grid,
    applies,
    class_confidence,
    decision_grid,
    points_to_cells,
    training_points,
)
from nntui.train.session import TrainingSession


def spiral_session(steps: int = 60) -> TrainingSession:
    config = apply_overrides(default_config("spiral"), {"model.hidden": [16, 16], "training.epochs": 1000})
    session = TrainingSession(config)
    for _ in range(steps):
        session.step()
    return session


@pytest.fixture(scope="module")
def spiral() -> TrainingSession:
    return spiral_session()


@pytest.fixture(scope="module")
def trained_moons() -> TrainingSession:
    # Noisy moons overlap, so even a trained network gets some points wrong (about 1 in 10).
    config = apply_overrides(default_config("moons"), {"data.noise": 0.3, "training.epochs": 20})
    session = TrainingSession(config)
    session.train()
    return session


def softmax_by_hand(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------------------
# The grid agrees with the session


def test_grid_classes_are_session_predict_at_each_cell_centre(spiral):
    grid = decision_grid(spiral, columns=17, rows=11)

    assert grid.classes.shape == grid.confidence.shape == (11, 17)
    # The centres, built point by point from the edges: row 0 is the top (largest second feature).
    for row in range(11):
        y = (grid.y_edges[row] + grid.y_edges[row + 1]) / 2
        points = np.array([[(grid.x_edges[c] + grid.x_edges[c + 1]) / 2, y] for c in range(17)])
        np.testing.assert_array_equal(grid.classes[row], spiral.predict(points), err_msg=f"row {row}")
    assert grid.y_edges[0] > grid.y_edges[-1] and grid.x_edges[0] < grid.x_edges[-1]
    assert grid.step == spiral.step_count == 60
    assert grid.n_classes == 3


def test_grid_confidence_is_the_largest_softmax_probability(spiral):
    grid = decision_grid(spiral, columns=9, rows=7)
    probabilities = softmax_by_hand(spiral.predict_scores(grid.centres()))

    np.testing.assert_allclose(grid.confidence.ravel(), probabilities.max(axis=1), rtol=1e-6)
    assert np.all(grid.confidence >= 1 / 3 - 1e-9) and np.all(grid.confidence <= 1)


def test_bce_confidence_is_the_sigmoid_probability_of_the_chosen_class():
    config = apply_overrides(default_config("moons"), {"model.loss": "bce"})
    session = TrainingSession(config)
    for _ in range(20):
        session.step()
    grid = decision_grid(session, columns=8, rows=6)
    logits = session.predict_scores(grid.centres())[:, 0].astype(np.float64)
    p_class_1 = 1 / (1 + np.exp(-logits))

    np.testing.assert_array_equal(grid.classes.ravel(), (logits > 0).astype(int))
    np.testing.assert_allclose(grid.confidence.ravel(), np.where(logits > 0, p_class_1, 1 - p_class_1),
                               rtol=1e-6)


def test_confidence_of_non_finite_outputs_is_zero_not_nan():
    scores = np.array([[1.0, 2.0], [np.nan, 0.0], [np.inf, 1.0]])
    confidence = class_confidence(scores)
    assert confidence[0] == pytest.approx(np.exp(2) / (np.exp(1) + np.exp(2)))
    assert confidence[1] == 0.0 and np.isfinite(confidence).all()


def test_grid_spans_the_training_points_plus_the_margin_on_every_side(spiral):
    grid = decision_grid(spiral, columns=20, rows=10, margin=0.25)
    x = spiral.x_train.astype(np.float64)
    (x_low, y_low), (x_high, y_high) = x.min(axis=0), x.max(axis=0)

    assert grid.x_edges[0] == pytest.approx(x_low - 0.25 * (x_high - x_low))
    assert grid.x_edges[-1] == pytest.approx(x_high + 0.25 * (x_high - x_low))
    assert grid.y_edges[0] == pytest.approx(y_high + 0.25 * (y_high - y_low))
    assert grid.y_edges[-1] == pytest.approx(y_low - 0.25 * (y_high - y_low))
    rows, columns = points_to_cells(grid, x)
    assert np.all(rows >= 0) and np.all(columns >= 0), "every training point lies on the grid"


def test_a_feature_with_a_single_value_still_gets_a_grid_of_some_width(spiral):
    flat = spiral.dataset.x_train.copy()
    flat[:, 1] = 0.5
    data = dataclasses.replace(spiral.dataset, x_train=flat)
    session = TrainingSession(spiral.config, dataset=data)

    grid = decision_grid(session, columns=4, rows=4)

    assert grid.y_edges[0] == pytest.approx(1.5) and grid.y_edges[-1] == pytest.approx(-0.5)


# ---------------------------------------------------------------------------------------------------------
# points_to_cells


def test_points_to_cells_on_a_hand_made_grid():
    # Columns [0,1) [1,2) [2,3]; rows from the top: y in [1,2] is row 0, y in [0,1) is row 1.
    grid = Grid(x_edges=np.array([0.0, 1.0, 2.0, 3.0]), y_edges=np.array([2.0, 1.0, 0.0]),
                classes=np.zeros((2, 3), np.int64), confidence=np.ones((2, 3)), n_classes=2, step=0)
    points = np.array([[2.5, 0.5], [0.2, 1.9], [1.0, 1.5], [3.0, 0.0], [0.0, 2.0], [1.5, 1.0],
                       [-0.1, 1.0], [1.0, 2.01]])
    rows, columns = points_to_cells(grid, points)

    assert rows.tolist() == [1, 0, 0, 1, 0, 1, -1, -1]
    assert columns.tolist() == [2, 0, 1, 2, 0, 1, -1, -1]


def test_points_to_cells_puts_each_point_in_the_cell_that_contains_it(spiral):
    grid = decision_grid(spiral, columns=31, rows=23)
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.uniform(grid.x_edges[0], grid.x_edges[-1], 500),
                              rng.uniform(grid.y_edges[-1], grid.y_edges[0], 500)])
    points = np.vstack([points, grid.centres()])
    rows, columns = points_to_cells(grid, points)

    for (x, y), row, column in zip(points, rows, columns):
        assert grid.x_edges[column] <= x <= grid.x_edges[column + 1]
        assert grid.y_edges[row + 1] <= y <= grid.y_edges[row]


def test_training_points_carry_true_and_predicted_classes(spiral):
    grid = decision_grid(spiral, columns=10, rows=10)
    points = training_points(spiral, grid)

    np.testing.assert_array_equal(points.true_classes, spiral.y_train)
    np.testing.assert_array_equal(points.predicted, spiral.predict(spiral.x_train))
    assert points.wrong.sum() == np.count_nonzero(spiral.predict(spiral.x_train) != spiral.y_train)


def test_a_trained_moons_grid_classifies_the_training_points_about_as_well_as_the_model(trained_moons):
    grid = decision_grid(trained_moons, columns=200, rows=200)
    rows, columns = points_to_cells(grid, trained_moons.x_train)
    grid_accuracy = np.mean(grid.classes[rows, columns] == trained_moons.y_train)
    _loss, model_accuracy = trained_moons.evaluate(trained_moons.x_train, trained_moons.y_train)

    assert 0.8 < model_accuracy < 0.97, "the test needs a model that is good but not perfect"
    assert grid_accuracy == pytest.approx(model_accuracy, abs=0.02), (grid_accuracy, model_accuracy)


# ---------------------------------------------------------------------------------------------------------
# When a boundary does not apply


def test_digits_have_64_features_so_there_is_no_boundary():
    session = TrainingSession(default_config("digits"))
    reason = "the decision boundary needs 2 input features; digits has 64"

    assert applies(session) == reason
    with pytest.raises(ValueError, match="needs 2 input features; digits has 64"):
        decision_grid(session, columns=10, rows=10)


def test_a_regression_task_has_no_classes_to_draw(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    path = tmp_path / "plane.npz"
    np.savez(path, x=x, y=x @ np.array([1.0, -2.0]))
    session = TrainingSession(apply_overrides(default_config(str(path)), {"data.task": "regression"}))

    reason = applies(session)
    assert reason is not None and "regression" in reason
    with pytest.raises(ValueError, match="regression"):
        decision_grid(session, columns=10, rows=10)


def test_the_spiral_applies_and_a_grid_needs_at_least_one_cell(spiral):
    assert applies(spiral) is None
    with pytest.raises(ValueError, match="at least 1 row"):
        decision_grid(spiral, columns=0, rows=5)
