"""Show the math: one sample's forward and backward pass, layer by layer, with the actual numbers.

``trace_sample(session, index)`` pushes one sample (a batch of one) through the session's own engine, its
layers' ``forward`` and ``backward`` and a loss of the session's class, and records every number each step
computes: inputs, pre-activations, activations, the loss, then each gradient on the way back.

It runs on a deep copy of the model and a fresh loss object: the backward needs a training forward, which keeps
what it needs in the layers, and ``Linear.backward`` overwrites ``layer.grads`` in place; the optimizer and the
other views read those, so tracing on the session's own objects would change what training does next. Dropout is
off, as when the model predicts. The formulas shown are the layers' and losses' own (``forward_formula``, the
comment line of each ``backward``), and the probabilities shown are computed exactly, in float64, as the formula
says (the training loss floors tiny ones for speed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from nntui.nn.layers import Dropout, Layer, Linear, backward_comment
from nntui.nn.losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy

PHASES = ("forward", "loss", "backward")


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
        # A training forward (the backward below needs it), but dropout stays off, as when the model predicts.
        y = layer.forward(x, not isinstance(layer, Dropout))
        name = layer_name(layer)
        if isinstance(layer, Linear):
            last = index == len(model.layers) - 1
            title = f"Layer {index} · {name}: " + ("the model's output, pred" if last else "pre-activation")
            arrays = {"x": x, "W": layer.params["W"], "b": layer.params["b"], "y": y}
        else:
            role = "off when evaluating" if isinstance(layer, Dropout) else "activation"
            title = f"Layer {index} · {name}: {role}"
            arrays = {"x": x, **{key: value for key, value in layer.params.items()}, "y": y}
        steps.append(TraceStep("forward", index, title, layer.forward_formula(),
                               {key: _frozen(value) for key, value in arrays.items()}))
        x = y
    return x


def _loss_step(loss: Loss, pred: np.ndarray, target: np.ndarray, value: float, session) -> TraceStep:
    arrays: dict[str, np.ndarray] = {"pred": pred}
    note = ""
    if isinstance(loss, SoftmaxCrossEntropy):
        label = int(target[0])
        arrays["p"] = loss.probabilities(pred.astype(np.float64))  # exactly the formula's softmax
        arrays["target"] = np.eye(pred.shape[1], dtype=pred.dtype)[[label]]  # one-hot, as L reads it
        guess = int(np.argmax(pred[0]))
        note = (f"predicted class {guess} (p = {format_number(arrays['p'][0, guess])}), label {label}: "
                + ("right" if guess == label else "wrong"))
        if not np.all(np.isfinite(pred)):
            note = f"no prediction: the output holds NaN or inf (label {label})"
    elif isinstance(loss, BinaryCrossEntropy):
        label = int(np.asarray(target).ravel()[0])
        arrays["p"] = loss.probabilities(pred.astype(np.float64))  # p(class 1) = sigmoid(pred)
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
    title = f"Loss: {loss.title or session.loss_name}"
    formula = loss.formula
    return TraceStep("loss", None, title, formula,
                     {key: _frozen(array) for key, array in arrays.items()}, note)


def _backward(layer: Layer, index: int, grad_y: np.ndarray, steps: list[TraceStep]) -> np.ndarray:
    """Run ``layer.backward`` (the engine's) and record dL/dy, the parameter gradients and dL/dx."""
    name = layer_name(layer)
    formula = _formula_lines(layer.backward_formula())
    if isinstance(layer, Dropout):  # off in this pass: the identity, whatever mask training last drew
        grad_x = grad_y
        arrays = {"dL/dy": grad_y, "f'(x)": np.ones_like(grad_y), "dL/dx": grad_x}
        steps.append(TraceStep("backward", index, f"Layer {index} · {layer_name(layer)}: gradient through the "
                               "dropout (identity)", "dL/dx = dL/dy   (dropout is off in this pass)",
                               {key: _frozen(value) for key, value in arrays.items()}, ""))
        return grad_x
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
        title = f"Layer {index} · {name}: gradient through the activation"
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


def _formula_lines(comment: str) -> str:
    """"dL/dW = ... ;  dL/db = ..." as one formula per line."""
    return "\n".join(part.strip() for part in comment.split(";") if part.strip())


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
