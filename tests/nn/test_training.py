"""The engine learns: small networks fit XOR and a three-armed spiral, quickly and reproducibly."""

from __future__ import annotations

import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nntui.nn import SGD, Adam, BinaryCrossEntropy, RMSProp, SoftmaxCrossEntropy, mlp

TIME_LIMIT_SECONDS = 5.0


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Train on one BLAS thread, as the app and ``nntui train`` (default ``--threads 1``) do.

    For matrices this small one thread is the fastest, and it keeps the timing steady on a busy machine, where
    several BLAS threads waiting on each other can make a 0.3 s run take ten times as long.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def train_full_batch(model, loss, optimizer, x, y, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        losses.append(loss.forward(model.forward(x), y))
        model.backward(loss.backward(), input_grad=False)
        optimizer.step(model)
    return losses


XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([[0.0], [1.0], [1.0], [0.0]])

XOR_OPTIMIZERS = {
    "adam": lambda: Adam(lr=0.05),
    "sgd-momentum": lambda: SGD(lr=0.5, momentum=0.9),
    "rmsprop": lambda: RMSProp(lr=0.01),
}


@pytest.mark.parametrize("optimizer_name", XOR_OPTIMIZERS)
def test_a_small_network_learns_xor_perfectly(optimizer_name):
    started = time.perf_counter()
    model = mlp([2, 8, 1], "tanh", rng=np.random.default_rng(0))
    optimizer = XOR_OPTIMIZERS[optimizer_name]()

    losses = train_full_batch(model, BinaryCrossEntropy(), optimizer, XOR_INPUTS, XOR_TARGETS, steps=500)

    predictions = model.forward(XOR_INPUTS, training=False) > 0  # logit > 0 means p > 1/2
    np.testing.assert_array_equal(predictions, XOR_TARGETS == 1)
    assert losses[-1] < 0.1 * losses[0], (losses[0], losses[-1])
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS


def make_spiral(n_per_class: int, n_classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` arms winding out from the origin, each arm one class, with a little noise in the angle."""
    radius = np.linspace(0.05, 1.0, n_per_class)
    points, labels = [], []
    for label in range(n_classes):
        # each arm starts at its own angle and turns by 4 radians on the way out
        angle = 2 * np.pi * label / n_classes + 4.0 * radius + 0.2 * rng.standard_normal(n_per_class)
        points.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        labels.append(np.full(n_per_class, label))
    return np.concatenate(points), np.concatenate(labels)


def test_the_spiral_has_three_balanced_classes_within_the_unit_disc():
    x, labels = make_spiral(100, 3, np.random.default_rng(0))

    assert x.shape == (300, 2)
    np.testing.assert_array_equal(np.bincount(labels), [100, 100, 100])
    assert np.linalg.norm(x, axis=1).max() <= 1.0 + 1e-12


def test_a_network_learns_a_three_class_spiral_to_95_percent_training_accuracy():
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    x, labels = make_spiral(100, 3, rng)
    model = mlp([2, 64, 64, 3], "relu", rng=rng)

    train_full_batch(model, SoftmaxCrossEntropy(), Adam(lr=0.01), x, labels, steps=1000)

    accuracy = np.mean(model.forward(x, training=False).argmax(axis=1) == labels)
    assert accuracy >= 0.95, f"training accuracy {accuracy:.1%}"
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS
