"""Show the math: one sample's forward and backward pass, layer by layer, with the actual numbers.

``trace_sample(session, index)`` pushes one sample (a batch of one) through the session's own engine, its
layers' ``forward`` and ``backward`` and a loss of the session's class, and records every number each step
computes: inputs, pre-activations, activations, the loss, then each gradient on the way back.

It runs on a deep copy of the model and a fresh loss object. During a pass the layers cache their inputs
(``Linear.x``, ``ReLU.x``, ``Tanh.y`` ...) and ``Linear.backward`` overwrites ``layer.grads`` in place; the
optimizer and the other views read those, so tracing on the session's own objects would change what training
does next. The copy is evaluated (``training=False``): dropout is off, as when the model predicts.
"""

from __future__ import annotations

import copy
import functools
import inspect
from dataclasses import dataclass, field

import numpy as np

from nntui.nn.layers import Dropout, Layer, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from nntui.nn.losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy

PHASES = ("forward", "loss", "backward")

#: What each layer computes on the way forward; every layer maps its input x to its output y.
FORWARD_FORMULAS: dict[type[Layer], str] = {
    Linear: "y = x · W + b",
    ReLU: "y = relu(x) = max(x, 0)",
    Tanh: "y = tanh(x)",
    Sigmoid: "y = sigmoid(x) = 1 / (1 + exp(-x))",
    Dropout: "y = x   (dropout acts only in training; this pass evaluates)",
}

#: How each loss turns the model's output ("pred") into probabilities and one number, for a batch of one.
LOSS_FORMULAS: dict[type[Loss], str] = {
    SoftmaxCrossEntropy: "p = softmax(pred) = exp(pred) / sum(exp(pred))\nL = -log p[target]",
    BinaryCrossEntropy: "p = sigmoid(pred)\nL = -(target · log p + (1 - target) · log(1 - p))",
}

LOSS_NAMES = {"softmax_ce": "softmax cross-entropy", "bce": "binary cross-entropy", "mse": "mean squared error"}


@dataclass(frozen=True, eq=False)
class TraceStep:
    """One step of the pass: what a layer (or the loss) computed for the traced sample.

    ``arrays`` maps a name ("x", "W", "y", "dL/dy", "dL/dW" ...) to its value, in the order to show them; they
    are read-only copies. Vectors keep the batch axis of the pass, shape ``(1, width)``; ``layer`` is the
    layer's position in ``model.layers``, or None for the loss and its gradient.
    """

    phase: str  # "forward", "loss" or "backward"
    layer: int | None
    title: str
    formula: str  # one or more lines
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""


def trace_sample(session, index: int, split: str = "train") -> list[TraceStep]:
    """Trace sample ``index`` of the ``split`` ("train" or "val") through the session's model and loss.

    Returns the forward steps (one per layer), the loss, then the backward steps: dL/dpred, then one per layer
    from the last to the first. The session's model, loss and optimizer are left exactly as they were.
    """
    xs, ys = split_arrays(session, split)
    if not 0 <= index < len(xs):
        raise IndexError(f"sample {index} is not in the {split} split, which has {len(xs)} samples "
                         f"(0 to {len(xs) - 1})")
    model = copy.deepcopy(session.model)
    loss = type(session.loss)()
    x, target = xs[index:index + 1], ys[index:index + 1]
    steps: list[TraceStep] = []
    with np.errstate(all="ignore"):  # a diverged model is traced too: its NaNs are part of the story
        pred = _forward(model, x, steps)
        value = loss.forward(pred, target)
        steps.append(_loss_step(loss, pred, target, value, session))
        grad = loss.backward()
        steps.append(TraceStep(
            "backward", None, "Loss gradient: dL/dpred", _formula_lines(backward_comment(type(loss))),
            {"dL/dpred": _frozen(grad)},
            "pred (z above) is the last layer's output; for this one sample the batch is 1. "
            "This is the dL/dy the last layer receives"))
        for layer_index in range(len(model.layers) - 1, -1, -1):
            grad = _backward(model.layers[layer_index], layer_index, grad, steps)
    return steps


def split_arrays(session, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The session's (x, y) of the "train" or "val" split."""
    if split == "train":
        return session.x_train, session.y_train
    if split == "val":
        return session.x_val, session.y_val
    raise ValueError(f"split must be 'train' or 'val', got {split!r}")


def sample_label(session, index: int, split: str = "train") -> str:
    """The sample's label as a person reads it: "class 2", "class cat" or "target [1.5]"."""
    y = split_arrays(session, split)[1][index]
    dataset = session.dataset
    if dataset.task != "classification":
        return "target " + format_vector(y, max_items=4)
    names = dataset.class_names or []
    name = names[int(y)] if 0 <= int(y) < len(names) else str(int(y))
    return f"class {name}" if name == str(int(y)) else f"class {int(y)} ({name})"


# -- the two passes, recorded ----------------------------------------------------------------------------------


def _forward(model, x: np.ndarray, steps: list[TraceStep]) -> np.ndarray:
    x = np.asarray(x, dtype=model.dtype)  # what Sequential.forward does first
    for index, layer in enumerate(model.layers):
        y = layer.forward(x, False)
        name = layer_name(layer)
        if isinstance(layer, Linear):
            last = index == len(model.layers) - 1
            title = f"Layer {index} · {name}: " + ("the model's output, pred" if last else "pre-activation")
            arrays = {"x": x, "W": layer.params["W"], "b": layer.params["b"], "y": y}
        else:
            role = "off when evaluating" if isinstance(layer, Dropout) else "activation"
            title = f"Layer {index} · {name}: {role}"
            arrays = {"x": x, **{key: value for key, value in layer.params.items()}, "y": y}
        steps.append(TraceStep("forward", index, title, forward_formula(layer),
                               {key: _frozen(value) for key, value in arrays.items()}))
        x = y
    return x


def _loss_step(loss: Loss, pred: np.ndarray, target: np.ndarray, value: float, session) -> TraceStep:
    arrays: dict[str, np.ndarray] = {"pred": pred}
    note = ""
    if isinstance(loss, SoftmaxCrossEntropy):
        label = int(target[0])
        arrays["p"] = loss.probs  # the loss's own softmax
        arrays["target"] = np.eye(pred.shape[1], dtype=pred.dtype)[[label]]  # one-hot, as L reads it
        guess = int(np.argmax(pred[0]))
        note = (f"predicted class {guess} (p = {format_number(loss.probs[0, guess])}), label {label}: "
                + ("right" if guess == label else "wrong"))
        if not np.all(np.isfinite(pred)):
            note = f"no prediction: the output holds NaN or inf (label {label})"
    elif isinstance(loss, BinaryCrossEntropy):
        label = int(np.asarray(target).ravel()[0])
        # sigmoid written as in BinaryCrossEntropy.backward: via tanh, so it cannot overflow
        arrays["p"] = 0.5 * (1 + np.tanh(0.5 * pred))
        arrays["target"] = np.asarray(target, dtype=pred.dtype).reshape(pred.shape)
        guess = int(pred[0, 0] > 0)
        p_guess = arrays["p"][0, 0] if guess == 1 else 1 - arrays["p"][0, 0]  # p is p(class 1)
        note = (f"predicted class {guess} (p = {format_number(p_guess)}), label {label}: "
                + ("right" if guess == label else "wrong"))
        if not np.all(np.isfinite(pred)):
            note = f"no prediction: the output holds NaN or inf (label {label})"
    else:
        arrays["target"] = np.asarray(target, dtype=pred.dtype).reshape(pred.shape)
    arrays["L"] = np.asarray(value)
    formula = LOSS_FORMULAS.get(type(loss), _loss_docstring_formula(loss))
    title = f"Loss: {LOSS_NAMES.get(session.loss_name, session.loss_name)}"
    return TraceStep("loss", None, title, formula,
                     {key: _frozen(array) for key, array in arrays.items()}, note)


def _backward(layer: Layer, index: int, grad_y: np.ndarray, steps: list[TraceStep]) -> np.ndarray:
    """Run ``layer.backward`` (the engine's) and record dL/dy, the parameter gradients and dL/dx."""
    name = layer_name(layer)
    formula = _formula_lines(backward_comment(type(layer)))
    if isinstance(layer, Linear):
        grad_x = layer.backward(grad_y)
        arrays = {"dL/dy": grad_y, "x": layer.x, "dL/dW": layer.grads["W"], "dL/db": layer.grads["b"],
                  "dL/dx": grad_x}
        title = f"Layer {index} · {name}: gradients of W, b and the input"
        note = "each dL/dW[i, j] = x[i] · dL/dy[j]: an input times an output's gradient"
    elif not layer.params:
        grad_x = layer.backward(grad_y)
        # The local derivative f'(x), as this layer's own backward computes it: the gradient of a 1 upstream.
        local = layer.backward(np.ones_like(grad_y))
        arrays = {"dL/dy": grad_y, "f'(x)": local, "dL/dx": grad_x}
        title = f"Layer {index} · {name}: gradient through the " + (
            "dropout (identity)" if isinstance(layer, Dropout) else "activation")
        if not isinstance(layer, Dropout):
            formula = (formula + "\n" if formula else "") + "that is, dL/dx = dL/dy * f'(x), element by element"
        note = ""
    else:  # a layer type with parameters that the trace does not know: its gradients, by name
        grad_x = layer.backward(grad_y)
        arrays = {"dL/dy": grad_y, **{f"dL/d{key}": value for key, value in layer.grads.items()},
                  "dL/dx": grad_x}
        title, note = f"Layer {index} · {name}: gradients", ""
    steps.append(TraceStep("backward", index, title, formula,
                           {key: _frozen(value) for key, value in arrays.items()}, note))
    return grad_x


# -- names and formulas ----------------------------------------------------------------------------------------


def layer_name(layer: Layer) -> str:
    """"Linear 2→64", "ReLU", "LeakyReLU(0.01)", "Dropout(0.2)"."""
    if isinstance(layer, Linear):
        return f"Linear {layer.in_features}→{layer.out_features}"
    return repr(layer).removesuffix("()")


def forward_formula(layer: Layer) -> str:
    if isinstance(layer, LeakyReLU):
        return f"y = x where x > 0, else {layer.negative_slope:g} · x"
    return FORWARD_FORMULAS.get(type(layer), f"y = {layer_name(layer)}(x)")


@functools.cache
def backward_comment(cls: type) -> str:
    """The derivative a class's ``backward`` states in its comment line ("dL/dx = ..."), or "" if none.

    The formulas shown are the engine's own comments, so the view and the code cannot tell different stories.
    """
    try:
        source = inspect.getsource(cls.backward)
    except (OSError, TypeError, AttributeError):  # no source at hand (a frozen build): show no formula
        return ""
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("# dL/"):
            return text[1:].strip()
    return ""


def _formula_lines(comment: str) -> str:
    """"dL/dW = ... ;  dL/db = ..." as one formula per line."""
    return "\n".join(part.strip() for part in comment.split(";") if part.strip())


def _loss_docstring_formula(loss: Loss) -> str:
    """The first ``L = ...`` of a loss's docstring (MSE: "L = mean((pred - target)^2)")."""
    doc = inspect.getdoc(type(loss)) or ""
    start = doc.find("``L = ")
    if start < 0:
        return ""
    end = doc.find("``", start + 2)
    return doc[start + 2:end] if end > 0 else ""


def _frozen(array) -> np.ndarray:
    """A read-only copy: the steps are handed to a view and must not change under it."""
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


# -- numbers as text -------------------------------------------------------------------------------------------


def format_number(value, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits: 0.123, -4.57, 1.23e-05, nan; zero is "0", never "-0"."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def format_vector(v, max_items: int = 8, digits: int = 3) -> str:
    """A vector as "[0.12, -0.4, 0.05, … 56 more …, 0.31]": at most ``max_items`` numbers, the rest counted.

    The first and last entries are kept (about a quarter of ``max_items`` from the end); a ``(1, n)`` row or
    any other shape is read as its ``n`` entries in order.
    """
    flat = np.asarray(v).ravel()
    max_items = max(2, int(max_items))
    if flat.size <= max_items:
        return "[" + ", ".join(format_number(x, digits) for x in flat) + "]"
    tail = max(1, max_items // 4)
    head = max_items - tail
    items = [format_number(x, digits) for x in flat[:head]]
    items.append(f"… {flat.size - max_items} more …")
    items.extend(format_number(x, digits) for x in flat[flat.size - tail:])
    return "[" + ", ".join(items) + "]"


__all__ = [
    "TraceStep",
    "backward_comment",
    "format_number",
    "format_vector",
    "layer_name",
    "sample_label",
    "split_arrays",
    "trace_sample",
]
