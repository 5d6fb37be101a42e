"""Losses: values worked out by hand, gradients against finite differences, and stability at extreme logits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nntui.nn import LOSSES, MSE, BinaryCrossEntropy, SoftmaxCrossEntropy

# (batch, outputs): a batch of 1, and a few odd sizes.
SHAPES = [(1, 1), (1, 3), (6, 3), (11, 2)]
# (batch, classes): softmax needs at least two classes.
CLASS_SHAPES = [(1, 2), (1, 5), (7, 3), (16, 4)]

# The stable formulas must not overflow, divide by zero or produce NaN. (An ``exp`` that underflows to 0 for a
# logit of 1e4 is the correct, harmless answer, so underflow stays allowed.)
NO_OVERFLOW = {"over": "raise", "divide": "raise", "invalid": "raise"}


def shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[labels]


def check_loss_gradient(loss, pred, target, finite_differences, assert_gradients_close) -> None:
    loss.forward(pred, target)
    mine = loss.backward()
    reference = finite_differences(lambda: loss.forward(pred, target), pred)
    assert_gradients_close("pred", mine, reference)


# -- gradients against finite differences ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_mse_gradient_matches_finite_differences(shape, finite_differences, assert_gradients_close):
    rng = np.random.default_rng(100 + shape[0] * 10 + shape[1])
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    check_loss_gradient(MSE(), pred, target, finite_differences, assert_gradients_close)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_binary_cross_entropy_gradient_matches_finite_differences(
    shape, finite_differences, assert_gradients_close
):
    rng = np.random.default_rng(200 + shape[0] * 10 + shape[1])
    logits = 3 * rng.standard_normal(shape)
    target = rng.integers(0, 2, size=shape).astype(np.float64)
    check_loss_gradient(BinaryCrossEntropy(), logits, target, finite_differences, assert_gradients_close)


@pytest.mark.parametrize("target_form", ["labels", "one_hot"])
@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=shape_id)
def test_softmax_cross_entropy_gradient_matches_finite_differences(
    shape, target_form, finite_differences, assert_gradients_close
):
    batch, n_classes = shape
    rng = np.random.default_rng(300 + batch * 10 + n_classes)
    logits = 3 * rng.standard_normal(shape)
    labels = rng.integers(0, n_classes, size=batch)
    target = labels if target_form == "labels" else one_hot(labels, n_classes)
    check_loss_gradient(SoftmaxCrossEntropy(), logits, target, finite_differences, assert_gradients_close)


# -- mean squared error ------------------------------------------------------------------------------------------


def test_mse_is_the_mean_over_every_element_of_a_batch_with_three_outputs():
    pred = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    target = np.array([[1.5, 2.0, 1.0], [1.0, 1.0, 0.5]])
    loss = MSE()

    value = loss(pred, target)
    grad = loss.backward()

    # squared errors: 0.25, 0, 4 and 1, 4, 0; their mean over all 6 elements (not over the 2 rows)
    assert value == pytest.approx((0.25 + 0 + 4 + 1 + 4 + 0) / 6, rel=1e-12)
    # dL/dpred = 2 (pred - target) / 6
    np.testing.assert_allclose(grad, [[2 * -0.5 / 6, 0.0, 2 * 2.0 / 6], [2 * -1.0 / 6, 2 * -2.0 / 6, 0.0]])


@pytest.mark.parametrize("loss_class", [MSE, BinaryCrossEntropy, SoftmaxCrossEntropy])
def test_every_loss_returns_a_python_float_not_an_array(loss_class):
    rng = np.random.default_rng(4)
    pred = rng.standard_normal((5, 3))
    target = rng.integers(0, 3, size=5) if loss_class is SoftmaxCrossEntropy else rng.integers(0, 2, (5, 3))

    value = loss_class()(pred, target)

    assert type(value) is float


def test_mse_accepts_a_flat_target_for_a_single_output():
    pred = np.array([[1.0], [2.0], [4.0]])

    assert MSE()(pred, np.array([1.0, 1.0, 1.0])) == pytest.approx((0 + 1 + 9) / 3)


@pytest.mark.parametrize("loss_class", [MSE, BinaryCrossEntropy])
def test_a_target_of_another_shape_with_as_many_elements_is_refused(loss_class):
    # A (3, 2) target against (2, 3) predictions has the right number of elements but pairs them up wrongly;
    # reshaping it to fit would train on scrambled targets without a word.
    pred = np.zeros((2, 3))
    target = np.zeros((3, 2))

    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        loss_class()(pred, target)


# -- binary cross-entropy ----------------------------------------------------------------------------------------


def test_binary_cross_entropy_matches_the_textbook_formula():
    logits = np.array([[0.0], [2.0], [-1.0], [0.5]])
    target = np.array([[1.0], [0.0], [0.0], [1.0]])

    loss = BinaryCrossEntropy()(logits, target)

    def sigmoid(z):
        return 1 / (1 + math.exp(-z))

    # -log p when the target is 1, -log(1 - p) when it is 0; the mean over the four examples
    expected = (-math.log(sigmoid(0.0)) - math.log(1 - sigmoid(2.0))
                - math.log(1 - sigmoid(-1.0)) - math.log(sigmoid(0.5))) / 4
    assert loss == pytest.approx(expected, rel=1e-12)
    assert BinaryCrossEntropy()(np.array([[0.0]]), np.array([[1.0]])) == pytest.approx(math.log(2))


def test_binary_cross_entropy_is_stable_for_logits_of_ten_thousand():
    loss = BinaryCrossEntropy()
    right = np.array([[1e4], [-1e4]]), np.array([[1.0], [0.0]])
    wrong = np.array([[1e4], [-1e4]]), np.array([[0.0], [1.0]])

    with np.errstate(**NO_OVERFLOW):
        loss_right = loss(*right)
        grad_right = loss.backward()
        loss_wrong = loss(*wrong)
        grad_wrong = loss.backward()

    assert loss_right == pytest.approx(0.0, abs=1e-12)
    assert loss_wrong == pytest.approx(1e4)  # -log sigmoid(-1e4) = 1e4 + log(1 + e^-1e4)
    np.testing.assert_allclose(grad_right, [[0.0], [0.0]], atol=1e-12)
    # dL/dz = (sigmoid(z) - y) / batch: fully wrong and saturated gives +-1/2
    np.testing.assert_allclose(grad_wrong, [[0.5], [-0.5]])


# -- softmax cross-entropy ---------------------------------------------------------------------------------------


def test_softmax_cross_entropy_matches_the_textbook_formula():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = np.array([1, 0])

    loss = SoftmaxCrossEntropy()(logits, labels)

    # -log(e^z_label / sum_j e^z_j) for each row, then the mean over the two rows
    row_0 = -math.log(math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5)))
    row_1 = -math.log(math.exp(0.0) / (math.exp(0.0) + math.exp(-1.0) + math.exp(3.0)))
    assert loss == pytest.approx((row_0 + row_1) / 2, rel=1e-12)


def test_softmax_cross_entropy_gives_the_same_loss_and_gradient_for_labels_and_one_hot():
    rng = np.random.default_rng(21)
    logits = rng.standard_normal((9, 4))
    labels = rng.integers(0, 4, size=9)
    by_labels, by_one_hot = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()

    loss_labels = by_labels(logits, labels)
    loss_one_hot = by_one_hot(logits, one_hot(labels, 4))

    assert loss_labels == pytest.approx(loss_one_hot, rel=1e-12)
    np.testing.assert_allclose(by_labels.backward(), by_one_hot.backward(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_softmax_cross_entropy_of_uniform_logits_is_log_of_the_number_of_classes(n_classes):
    logits = np.full((5, n_classes), 0.7)

    loss = SoftmaxCrossEntropy()(logits, np.arange(5) % n_classes)

    assert loss == pytest.approx(math.log(n_classes), rel=1e-12)


def test_softmax_cross_entropy_is_stable_for_logits_of_ten_thousand():
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 0.0]])
    loss = SoftmaxCrossEntropy()

    with np.errstate(**NO_OVERFLOW):
        confident_and_right = loss(logits[:1], np.array([0]))
        confident_and_wrong = loss(logits[:1], np.array([1]))
        grad = loss.backward()
        tied = loss(logits[1:], np.array([0]))

    assert confident_and_right == pytest.approx(0.0, abs=1e-12)
    assert confident_and_wrong == pytest.approx(1e4)
    assert tied == pytest.approx(math.log(2))
    # softmax is (1, 0, 0) and the label is class 1
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-12)


def test_softmax_cross_entropy_reads_a_column_of_labels_as_labels():
    # Labels stored as a (batch, 1) column are common in hand-made data. Broadcast against the (batch, classes)
    # log-probabilities as if it were one-hot rows, the column would give a wrong number silently.
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1])
    flat, column = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()

    assert column(logits, labels[:, None]) == pytest.approx(flat(logits, labels), rel=1e-12)
    np.testing.assert_allclose(column.backward(), flat.backward(), rtol=1e-12)


@pytest.mark.parametrize(
    "target",
    [np.array([0, 1, 2]), np.eye(3)[[0, 1, 2, 0]][:, :2], np.zeros((4, 4))],
    ids=["three-labels-for-four-rows", "one-hot-with-too-few-classes", "one-hot-with-too-many-classes"],
)
def test_softmax_cross_entropy_refuses_targets_that_do_not_fit_the_logits(target):
    with pytest.raises(ValueError, match=r"do not fit logits of shape \(4, 3\)"):
        SoftmaxCrossEntropy()(np.zeros((4, 3)), target)


def test_loss_registry_maps_config_names_to_losses():
    assert LOSSES == {"softmax_ce": SoftmaxCrossEntropy, "bce": BinaryCrossEntropy, "mse": MSE}


# -- subnormal numbers -------------------------------------------------------------------------------------------


def _subnormal_count(array: np.ndarray) -> int:
    return int(np.count_nonzero((array != 0) & (np.abs(array) < np.finfo(array.dtype).tiny)))


def test_softmax_cross_entropy_of_a_confident_float32_net_makes_no_subnormal_numbers():
    # A logit gap of 95 makes exp() a subnormal float32 (e^-95 ~ 5e-42): slow arithmetic in every later step.
    logits = np.array([[0.0, -95.0, -120.0], [30.0, 0.0, -60.0]], dtype=np.float32)
    assert _subnormal_count(np.exp(logits[:1])) > 0  # the case this test is about
    loss = SoftmaxCrossEntropy()

    value = loss(logits, np.array([0, 0]))
    probs = loss.probs.copy()  # (backward turns them into the gradient)
    grad = loss.backward()

    assert _subnormal_count(probs) == 0
    assert _subnormal_count(grad) == 0
    assert _subnormal_count(grad * grad) == 0  # Adam and RMSProp square the gradients
    assert value == pytest.approx(0.0, abs=1e-7)
    # The floored probabilities are far below anything that changes the right class's probability.
    np.testing.assert_allclose(probs[:, 0], 1.0, rtol=0, atol=0)
    assert np.all(probs[:, 1:] < 1e-9)


def test_softmax_cross_entropy_still_charges_the_whole_gap_of_a_confident_mistake_in_float32():
    logits = np.array([[0.0, -95.0, -120.0]], dtype=np.float32)

    assert SoftmaxCrossEntropy()(logits, np.array([2])) == pytest.approx(120.0, rel=1e-6)


def test_softmax_cross_entropy_in_float64_is_exact_for_gaps_far_beyond_float32s_range():
    logits = np.array([[0.0, -95.0, -150.0]])
    loss = SoftmaxCrossEntropy()

    loss(logits, np.array([0]))

    np.testing.assert_allclose(loss.probs[0, 1:], np.exp([-95.0, -150.0]), rtol=1e-12)


@pytest.mark.parametrize("labels, message", [
    ([0, 1, 2, 3, 0], r"class numbers 0\.\.2 for 3 logits per row, got \[3\]"),
    ([0, -1, 2, 1, 0], r"class numbers 0\.\.2 for 3 logits per row, got \[-1\]"),
    ([0.0, 1.5, 2.0, 1.0, 0.0], r"whole class numbers 0\.\.2, got float64"),
])
def test_softmax_cross_entropy_refuses_labels_that_are_not_class_numbers(labels, message):
    with pytest.raises(ValueError, match=message):
        SoftmaxCrossEntropy()(np.zeros((5, 3)), np.array(labels))


def test_softmax_cross_entropy_takes_whole_numbers_written_as_floats():
    logits = np.random.default_rng(0).standard_normal((5, 3))
    as_int, as_float = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert as_int(logits, np.array([0, 1, 2, 1, 0])) == as_float(logits, np.array([0.0, 1.0, 2.0, 1.0, 0.0]))
    np.testing.assert_array_equal(as_int.backward(), as_float.backward())
