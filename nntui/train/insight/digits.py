"""What the Digits view shows, computed from the session's own model and validation data.

Three questions a learner asks of an image classifier, one function each:

* ``confusion_matrix``: which digits does it take for which? Row = the true class, column = the predicted one,
  so the diagonal holds the correct answers and everything off it is a mistake.
* ``misclassified``: what do its mistakes look like? The validation images it got wrong, in raw pixel units
  (the standardisation undone), with how sure it was.
* ``first_layer_images``: what does the first layer look for? Each hidden unit of the first Linear layer has one
  weight per pixel; laid out as an image, that weight column is the pattern the unit responds to most.

Everything here reads the session; nothing trains or changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntui.nn import Linear
from nntui.train.session import TrainingSession


@dataclass(frozen=True)
class Mistake:
    """One validation sample the model got wrong."""

    index: int  # row in the validation set (session.x_val, session.y_val)
    true_label: int
    predicted_label: int
    confidence: float  # the model's probability for the class it predicted, 0..1
    image: np.ndarray  # (height, width), raw pixel values (0..16 for the digits)


@dataclass(frozen=True)
class UnitImage:
    """The incoming weights of one unit of the first Linear layer, laid out as an image."""

    unit: int  # column of W, i.e. which unit of the layer
    norm: float  # ||W[:, unit]||, the length of the unit's weight vector
    image: np.ndarray  # (height, width) = W[:, unit].reshape(image_shape)


def applies(session: TrainingSession) -> str | None:
    """Why the digits insights do not apply to this session, or None when they do."""
    data = session.dataset
    if data.image_shape is None:
        return f"needs image data such as the digits; {data.name} has {data.n_features} features"
    if data.task != "classification":
        return f"needs a classification task; {data.name} is {data.task}"
    height, width = data.image_shape
    if height * width != data.n_features:
        return f"the images of {data.name} are {height}x{width} but there are {data.n_features} features"
    return None


def confusion_matrix(session: TrainingSession) -> np.ndarray:
    """Counts over the validation set: entry [t, p] is how many samples of class t were predicted as p.

    Shape (n_classes, n_classes), int64. Rows sum to the class sizes; the whole matrix to the validation size.
    """
    n_classes = session.dataset.n_classes
    predicted = session.predict(session.x_val)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    # np.add.at counts repeated (true, predicted) pairs once each, unlike counts[y, p] += 1.
    np.add.at(counts, (session.y_val, predicted), 1)
    return counts


def class_probabilities(session: TrainingSession, x: np.ndarray) -> np.ndarray:
    """The model's probability for every class, (n, n_classes): softmax of the logits, or sigmoid for bce."""
    scores = session.predict_scores(x).astype(np.float64)
    if session.loss_name == "bce":
        p1 = 1.0 / (1.0 + np.exp(-np.clip(scores[:, 0], -500, 500)))
        return np.column_stack([1.0 - p1, p1])
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))  # minus the max: exp never overflows
    return shifted / shifted.sum(axis=1, keepdims=True)


def raw_validation_images(session: TrainingSession, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Validation images in raw pixel units, (n, height, width): x_val * feature_std + feature_mean."""
    data = session.dataset
    raw = data.unstandardize(data.x_val[rows])
    return raw.reshape(-1, *data.image_shape)


def misclassified(session: TrainingSession, limit: int = 12) -> list[Mistake]:
    """Up to ``limit`` validation samples the model gets wrong, the most confident mistakes first.

    A confident mistake is the most telling one: the model is sure, and wrong. Ties keep validation order.
    """
    if limit <= 0 or len(session.x_val) == 0:
        return []
    probabilities = class_probabilities(session, session.x_val)
    predicted = session.predict(session.x_val)
    wrong = np.flatnonzero(predicted != session.y_val)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    images = raw_validation_images(session, order)
    return [
        Mistake(index=int(row), true_label=int(session.y_val[row]), predicted_label=int(predicted[row]),
                confidence=float(probabilities[row, predicted[row]]), image=image)
        for row, image in zip(order, images)
    ]


def first_linear(session: TrainingSession) -> Linear | None:
    """The model's first Linear layer (the one that sees the pixels), or None if it has none."""
    return next((layer for layer in session.model.layers if isinstance(layer, Linear)), None)


def first_layer_units(session: TrainingSession, limit: int = 16) -> list[UnitImage]:
    """The first Linear layer's weight columns as images, the units with the largest weight norm first.

    W has shape (pixels, units), so column j holds the weight from every pixel to unit j. A large norm means the
    unit reacts strongly to its pattern, so those come first. Ties keep unit order.
    """
    layer = first_linear(session)
    if layer is None or limit <= 0:
        return []
    weights = layer.params["W"].astype(np.float64)
    norms = np.linalg.norm(weights, axis=0)
    strongest = np.argsort(-norms, kind="stable")[:limit]
    shape = session.dataset.image_shape
    return [UnitImage(unit=int(j), norm=float(norms[j]), image=weights[:, j].reshape(shape)) for j in strongest]


def first_layer_images(session: TrainingSession, limit: int = 16) -> list[np.ndarray]:
    """Just the images of ``first_layer_units``: W[:, j].reshape(image_shape), strongest units first."""
    return [unit.image for unit in first_layer_units(session, limit)]


__all__ = [
    "Mistake",
    "UnitImage",
    "applies",
    "class_probabilities",
    "confusion_matrix",
    "first_layer_images",
    "first_layer_units",
    "first_linear",
    "misclassified",
    "raw_validation_images",
]
