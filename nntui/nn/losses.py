"""Loss functions: ``forward(pred, target) -> float`` then ``backward() -> dL/dpred``.

Each loss returns one number (a Python float) and, in a training forward, keeps what its backward needs; with
``training=False`` (a validation loss between a batch's forward and its backward, say) it keeps nothing. The
classification losses take raw scores ("logits") and fold the final sigmoid or softmax into the loss: the fused
gradient is simpler (``p - y``) and it cannot overflow or take the log of zero. Each loss also turns logits into
what a person wants to see: ``probabilities(logits)`` and ``predict(logits)`` (class numbers, or values).

``softmax`` and ``sigmoid`` are here too, exact and stable for logits of +-1000.
"""

from __future__ import annotations

import numpy as np

from nntui.nn.registry import registered


def _as_target(target, pred: np.ndarray) -> np.ndarray:
    """``target`` as an array shaped like ``pred``; a vector of n values also fits an (n, 1) prediction."""
    target = np.asarray(target, dtype=pred.dtype)
    if target.shape == pred.shape:
        return target
    if target.ndim == 1 and pred.shape == (target.shape[0], 1):
        return target[:, None]
    raise ValueError(f"targets of shape {target.shape} do not fit predictions of shape {pred.shape}")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise ``exp(z) / sum(exp(z))``; each row's maximum is subtracted first, so no ``exp`` overflows."""
    logits = np.asarray(logits)
    if not np.issubdtype(logits.dtype, np.floating):
        logits = logits.astype(np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    exp /= exp.sum(axis=-1, keepdims=True)
    return exp


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))``, written with ``exp(-|z|)`` so that it neither overflows nor loses small values."""
    logits = np.asarray(logits)
    if not np.issubdtype(logits.dtype, np.floating):
        logits = logits.astype(np.float64)
    e = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1 / (1 + e), e / (1 + e))


class Loss:
    #: The name a run configuration uses for this loss ("softmax_ce").
    name: str | None = None
    #: What a person calls it, and its formula for one sample, as the app shows them.
    title: str = ""
    formula: str = ""

    def forward(self, pred: np.ndarray, target: np.ndarray, training: bool = True) -> float:
        raise NotImplementedError

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """What the model's outputs say about each class, as probabilities (classification losses only)."""
        raise TypeError(f"{type(self).__name__} is a regression loss: its outputs are values, not probabilities")

    def predict(self, logits: np.ndarray) -> np.ndarray:
        """The prediction for each row: a class number, or for regression the output itself."""
        return np.asarray(logits)

    def _forward_first(self) -> AttributeError:
        """The error for a backward with no training forward before it."""
        return AttributeError(f"{type(self).__name__}.backward() has nothing to work on yet: call forward(pred, "
                              "target) before backward() (a training forward: training=False keeps nothing)")

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, pred: np.ndarray, target: np.ndarray, training: bool = True) -> float:
        return self.forward(pred, target, training)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error over every element: ``L = mean((pred - target)^2)``.

    ``pred`` and ``target``: same shape, e.g. ``(batch, outputs)``. As in the common frameworks, the mean runs
    over every element, not only over the batch.
    """

    name = "mse"
    title = "mean squared error"
    formula = "L = mean((pred - target)^2)"

    diff = None  # pred - target, from the last training forward

    def forward(self, pred, target, training=True):
        target = _as_target(target, pred)
        diff = pred - target
        if training:
            self.diff = diff
        return float((diff * diff).sum()) / diff.size

    def backward(self):
        # dL/dpred = 2 (pred - target) / number of elements
        if self.diff is None:
            raise self._forward_first()
        return self.diff * (2.0 / self.diff.size)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on logits ``z`` with targets ``y`` in {0, 1}, mean over every element.

    ``L = mean(-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)))``, computed in the stable form
    ``max(z, 0) - z y + log(1 + exp(-|z|))``, which never overflows, even for logits of +-1e4.
    """

    name = "bce"
    title = "binary cross-entropy"
    formula = "p = sigmoid(pred)\nL = -(target · log p + (1 - target) · log(1 - p))"

    z = None  # the logits of the last training forward

    def forward(self, pred, target, training=True):
        target = _as_target(target, pred)
        if training:
            self.z, self.y = pred, target
        losses = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        return float(losses.sum()) / losses.size

    def probabilities(self, logits):
        """p(class 1) = sigmoid(z), the shape of the logits."""
        return sigmoid(logits)

    def predict(self, logits):
        """Class 1 where the logit is positive: shape (batch,) for one output column, else like the logits."""
        logits = np.asarray(logits)
        predicted = (logits > 0).astype(np.int64)
        return predicted[:, 0] if logits.ndim == 2 and logits.shape[1] == 1 else predicted

    def backward(self):
        # dL/dz = (sigmoid(z) - y) / number of elements; sigmoid written via tanh so it cannot overflow
        if self.z is None:
            raise self._forward_first()
        p = 0.5 * (1 + np.tanh(0.5 * self.z))
        p -= self.y
        p *= 1.0 / p.size
        return p


def _class_indices(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Labels as integer class indices 0..n_classes-1, or a ValueError that says what is wrong with them.

    (Without the check a label of -1 would silently mean the last class, and 3 of 3 classes an IndexError.)
    """
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "b" or (labels.dtype.kind == "f" and np.array_equal(labels, np.floor(labels))):
            labels = labels.astype(np.int64)  # whole numbers written as floats (or booleans) are fine
        else:
            raise ValueError(f"labels must be whole class numbers 0..{n_classes - 1}, got {labels.dtype} values "
                             f"such as {labels.ravel()[:3].tolist()}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)]
        raise ValueError(f"labels must be class numbers 0..{n_classes - 1} for {n_classes} logits per row, got "
                         f"{bad[:3].tolist()}")
    return labels


def _exp_floor(dtype) -> float:
    """A quarter of log(smallest normal number): exp() of anything above it, and its square, stay normal."""
    floor = _EXP_FLOORS.get(dtype)
    if floor is None:
        floor = _EXP_FLOORS[dtype] = 0.25 * float(np.log(np.finfo(dtype).tiny))
    return floor


_EXP_FLOORS: dict = {}


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused, mean over the batch.

    ``pred``: logits ``(batch, classes)``. ``target``: integer class labels ``(batch,)`` or one-hot rows
    ``(batch, classes)``. With ``p = softmax(z)``, ``L = -mean over the batch of log p[target]``.
    Subtracting each row's maximum before ``exp`` changes nothing mathematically and prevents overflow.
    """

    name = "softmax_ce"
    probs = None  # softmax of the last training forward's logits, until backward turns it into the gradient
    _rows = np.arange(0)  # 0, 1, ..., n-1 for the last batch size: which row each label picks from
    title = "softmax cross-entropy"
    formula = "p = softmax(pred) = exp(pred) / sum(exp(pred))\nL = -log p[target]"

    def forward(self, pred, target, training=True):
        n, n_classes = pred.shape
        labels = target
        if not (type(labels) is np.ndarray and labels.ndim == 1 and labels.dtype.kind == "i" and len(labels) == n):
            labels = self._labels_or_onehot(pred, target)  # anything but a plain vector of integer labels
        elif n and np.minimum.reduce(labels) < 0:
            labels = _class_indices(labels, n_classes)  # raises: -1 would silently mean the last class
        # (np.maximum.reduce and np.add.reduce are what .max() and .sum() call, minus a Python wrapper per call)
        shifted = pred - np.maximum.reduce(pred, axis=1, keepdims=True)
        # exp() of a very negative logit gap is a subnormal number (below ~1e-38 in float32), and arithmetic
        # on those is many times slower on x86; a well-trained net makes them for every confidently right
        # sample, and the optimizers square the gradients made from them. So the gaps are floored at a quarter
        # of the exponent range: a probability is then at least ~3e-10 in float32 (~1e-77 in float64), far
        # below what changes p[target] (float32 resolves 6e-8 near 1) or the loss.
        floor = _EXP_FLOORS.get(shifted.dtype) or _exp_floor(shifted.dtype)
        exp = np.maximum(shifted, floor)
        np.exp(exp, out=exp)
        sums = np.add.reduce(exp, axis=1)
        exp /= sums[:, None]
        # -log p[target] = log(sum of exp) - shifted[target]: only the target entries are needed.
        # (sum() / n rather than mean(): the same number, without mean()'s Python-level overhead.)
        if labels.ndim == 2:  # one-hot rows
            if training:
                self.probs, self.labels, self.onehot = exp, None, labels
            return float((np.log(sums) - (labels * shifted).sum(axis=1)).sum()) / n
        rows = self._rows if len(self._rows) == n else np.arange(n)  # (read only: kept for the next batch)
        self._rows = rows
        try:
            picked = shifted[rows, labels]
        except IndexError:
            picked = None
        if picked is None:  # a label of n_classes or more
            _class_indices(labels, n_classes)  # raises, naming it
        if training:
            self.probs, self.labels, self.onehot, self.rows = exp, labels, None, rows
        return float(np.add.reduce(np.log(sums) - picked)) / n

    @staticmethod
    def _labels_or_onehot(pred, target) -> np.ndarray:
        """``target`` as integer class labels (n,) or one-hot rows (n, C) as float, checked against ``pred``."""
        target = np.asarray(target)
        if target.ndim == 2 and target.shape[1] == 1 and pred.shape[1] != 1:
            target = target[:, 0]  # a column of labels, not one-hot rows
        if target.shape[0] != pred.shape[0] or (target.ndim == 2 and target.shape != pred.shape) or target.ndim > 2:
            raise ValueError(f"targets of shape {target.shape} do not fit logits of shape {pred.shape}; give "
                             "integer labels (batch,) or one-hot rows (batch, classes)")
        if target.ndim == 2:
            return target.astype(pred.dtype, copy=False)
        return _class_indices(target, pred.shape[1])  # whole numbers as floats are fine; anything else refused

    def probabilities(self, logits):
        """softmax(z), each row summing to 1 (exact: without the floor the training forward applies)."""
        return softmax(logits)

    def predict(self, logits):
        """The class with the largest logit, per row."""
        return np.asarray(logits).argmax(axis=1)

    def backward(self):
        # dL/dz = (softmax(z) - onehot(target)) / batch
        grad = self.probs
        if grad is None and "labels" not in vars(self):
            raise self._forward_first()
        if grad is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward() was already called for this forward (it turns the "
                               "forward's probabilities into the gradient, in place): call forward() again")
        self.probs = None  # (a view of the probabilities: use probabilities(logits))
        n = grad.shape[0]
        if self.onehot is None:
            grad[self.rows, self.labels] -= 1
        else:
            grad -= self.onehot
        grad *= 1.0 / n
        return grad


#: The losses a run configuration can name. Add one with a line: ``LOSSES["huber"] = Huber``.
LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (SoftmaxCrossEntropy, BinaryCrossEntropy, MSE)}


def loss(name: str) -> Loss:
    """Build the loss a config names (an unknown name is an error)."""
    return registered(LOSSES, name, "loss")()
