"""The decision boundary of a 2-D classifier: which class the network picks at every point of the plane.

The plane is the one the model sees: the two *standardised* features, so the training points fall where the
network's inputs put them. ``decision_grid`` lays a grid of ``rows x columns`` cells over the training points
(plus a margin on every side), asks the session's own model for its class at every cell centre, in one batched
call, and keeps how sure it was. ``points_to_cells`` says which cell a point falls in, ``training_points``
gathers the training points with their true and predicted classes, to draw on top.

Orientation, as on a screen: row 0 is the top of the plane (the largest value of the second feature) and
column 0 its left edge (the smallest value of the first feature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntui.train.session import TrainingSession

#: When every training point has the same value of a feature, the grid spans this much either side of it.
FLAT_HALF_WIDTH = 1.0


@dataclass(frozen=True)
class Grid:
    """The model's decision over a grid of cells.

    x_edges: (columns + 1,) increasing, from the left edge to the right one (first feature).
    y_edges: (rows + 1,) *decreasing*, from the top edge down to the bottom one (second feature), so that
        cell (row, column) spans x_edges[column]..x_edges[column + 1] and y_edges[row + 1]..y_edges[row].
    classes: (rows, columns) int64, the class ``session.predict`` gives at each cell's centre.
    confidence: (rows, columns) float64, the probability the model gives that class there: the largest softmax
        probability, or for a single-logit (bce) model max(p, 1 - p) with p = sigmoid(logit). 0 where the
        model's output is not finite.
    n_classes: how many classes the data has.
    step: the session's step when the grid was computed.
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray
    n_classes: int
    step: int

    @property
    def rows(self) -> int:
        return len(self.y_edges) - 1

    @property
    def columns(self) -> int:
        return len(self.x_edges) - 1

    @property
    def x_centres(self) -> np.ndarray:
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2

    @property
    def y_centres(self) -> np.ndarray:
        return (self.y_edges[:-1] + self.y_edges[1:]) / 2

    def centres(self) -> np.ndarray:
        """Every cell centre as a (rows * columns, 2) array, row by row from the top left (C order)."""
        return _cell_centres(self.x_edges, self.y_edges)


@dataclass(frozen=True)
class TrainingPoints:
    """The training points placed on a grid: cell, true class and the class the model predicts for each."""

    rows: np.ndarray  # (n,) int64 grid row of each point
    columns: np.ndarray  # (n,) int64 grid column of each point
    true_classes: np.ndarray  # (n,) int64 labels, as in session.y_train
    predicted: np.ndarray  # (n,) int64 session.predict(session.x_train)

    @property
    def wrong(self) -> np.ndarray:
        """(n,) bool: the points the network currently classifies wrongly."""
        return self.true_classes != self.predicted


def applies(session: TrainingSession) -> str | None:
    """Why a decision boundary cannot be drawn for this session, or None when it can."""
    data = session.dataset
    if data.task != "classification":
        return (f"the decision boundary shows classes, but {data.name} is a regression task "
                "(the network predicts numbers, not classes)")
    if data.n_features != 2:
        return f"the decision boundary needs 2 input features; {data.name} has {data.n_features}"
    return None


def decision_grid(session: TrainingSession, columns: int, rows: int, margin: float = 0.1) -> Grid:
    """The model's class and confidence at the centre of each of ``rows x columns`` cells.

    The grid spans the training points' range in each feature, widened by ``margin`` times that range on every
    side. Raises ValueError (with the reason) for a regression task or data without exactly 2 features.
    """
    reason = applies(session)
    if reason is not None:
        raise ValueError(reason)
    if columns < 1 or rows < 1:
        raise ValueError(f"a decision grid needs at least 1 row and 1 column, got {rows} x {columns}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    x = np.asarray(session.x_train, dtype=np.float64)
    if len(x) == 0:
        raise ValueError(f"{session.dataset.name} has no training points to draw a boundary around")
    (x_low, x_high), (y_low, y_high) = (_span(x[:, feature], margin) for feature in (0, 1))
    x_edges = np.linspace(x_low, x_high, columns + 1)
    y_edges = np.linspace(y_high, y_low, rows + 1)  # top edge first
    grid_shape = (rows, columns)
    points = _cell_centres(x_edges, y_edges)
    classes = np.asarray(session.predict(points), dtype=np.int64).reshape(grid_shape)
    confidence = class_confidence(session.predict_scores(points)).reshape(grid_shape)
    return Grid(x_edges, y_edges, classes, confidence, session.dataset.n_classes, session.step_count)


def class_confidence(scores: np.ndarray) -> np.ndarray:
    """(n,) the probability of the predicted class, from raw outputs (n, n_classes) or single logits (n, 1).

    softmax: max_k exp(s_k) / sum_j exp(s_j), computed as exp(s_k - max s) to stay finite.
    bce: p = sigmoid(s) is the probability of class 1, so the chosen class has max(p, 1 - p).
    """
    scores = np.asarray(scores, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if scores.shape[1] == 1:
            p = 0.5 * (1.0 + np.tanh(0.5 * scores[:, 0]))  # sigmoid without overflow
            confidence = np.maximum(p, 1.0 - p)
        else:
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            confidence = shifted.max(axis=1) / shifted.sum(axis=1)
    return np.where(np.isfinite(confidence), confidence, 0.0)


def points_to_cells(grid: Grid, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the cell holding each point of ``x`` (n, 2); -1 in both for a point off the grid.

    A point on the edge between two cells goes to the cell right of it / below it, the outer edges belong to
    the grid. The cells are found by searching the grid's own edges, so the answer agrees with them exactly.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    columns = np.searchsorted(grid.x_edges, x[:, 0], side="right") - 1
    columns = np.minimum(columns, grid.columns - 1)  # the right edge itself belongs to the last column
    y_rising = grid.y_edges[::-1]
    rows_from_bottom = np.searchsorted(y_rising, x[:, 1], side="left") - 1
    rows = grid.rows - 1 - np.maximum(rows_from_bottom, 0)  # the bottom edge belongs to the last row
    inside = ((x[:, 0] >= grid.x_edges[0]) & (x[:, 0] <= grid.x_edges[-1])
              & (x[:, 1] >= grid.y_edges[-1]) & (x[:, 1] <= grid.y_edges[0]))
    return np.where(inside, rows, -1).astype(np.int64), np.where(inside, columns, -1).astype(np.int64)


def training_points(session: TrainingSession, grid: Grid) -> TrainingPoints:
    """Where each training point lies on ``grid``, its label, and what the model predicts for it now."""
    rows, columns = points_to_cells(grid, session.x_train)
    predicted = np.asarray(session.predict(session.x_train), dtype=np.int64).reshape(-1)
    return TrainingPoints(rows, columns, np.asarray(session.y_train, dtype=np.int64), predicted)


def _cell_centres(x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    xs, ys = np.meshgrid((x_edges[:-1] + x_edges[1:]) / 2, (y_edges[:-1] + y_edges[1:]) / 2)
    return np.column_stack([xs.ravel(), ys.ravel()])


def _span(values: np.ndarray, margin: float) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    if high - low <= 0:
        return low - FLAT_HALF_WIDTH, high + FLAT_HALF_WIDTH
    pad = margin * (high - low)
    return low - pad, high + pad


__all__ = ["Grid", "TrainingPoints", "applies", "class_confidence", "decision_grid", "points_to_cells",
           "training_points"]
