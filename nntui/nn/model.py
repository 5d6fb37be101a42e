"""``Sequential``: a stack of layers, run forward in order and backward in reverse."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from nntui.nn.layers import Layer, Linear


@dataclass(eq=False)
class FlatParameters:
    """A model's parameters and gradients as two 1-D buffers; ``layout`` says where each named array lives."""

    params: np.ndarray
    grads: np.ndarray
    layout: tuple[tuple[str, slice, tuple[int, ...]], ...]  # (name, its slice of the buffers, its shape)
    views: list  # (params dict, grads dict, key, param view, grad view), to see whether a layer replaced one
    layers: list  # the layers packed

    def intact(self) -> bool:
        """True while every layer still holds the views made for it."""
        for params, grads, key, param, grad in self.views:
            if params[key] is not param or grads[key] is not grad:
                return False
        return True


@cache
def _can_skip_input_grad(layer_type: type) -> bool:
    """Whether a layer class's ``backward`` takes ``input_grad`` (Linear does, to skip dL/dx of the data)."""
    return "input_grad" in inspect.signature(layer_type.backward).parameters


class Sequential:
    """A feed-forward network: ``y = layers[-1](... layers[1](layers[0](x)))``.

    The constructor checks that consecutive widths agree, so a mismatched network is refused when it is built,
    with a message that names the layer, rather than failing somewhere inside a matrix product.
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers: list[Layer] = list(layers)
        if not self.layers:
            raise ValueError("a Sequential model needs at least one layer")
        width = None  # the width flowing out of the previous layer, once known
        source = None
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} is {layer!r}, not an nntui.nn Layer")
            if not isinstance(getattr(layer, "params", None), dict) or not isinstance(getattr(layer, "grads", None), dict):
                raise AttributeError(f"layer {index} {type(layer).__name__} has no params and grads: its __init__ "  # noqa: TRY004
                                     "must call super().__init__() (which creates them)")
            if layer.in_features is not None and width is not None and layer.in_features != width:
                raise ValueError(
                    f"layer {index} {layer!r} expects {layer.in_features} input features, "
                    f"but layer {source} {self.layers[source]!r} outputs {width}"
                )
            if layer.out_features is not None:
                width, source = layer.out_features, index
        dtypes = {p.dtype for layer in self.layers for p in layer.params.values()}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype, got {sorted(str(d) for d in dtypes)}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self._in_features = self.in_features
        self._flat: FlatParameters | None = None
        self._pack()

    # -- the two passes ----------------------------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Run ``x: (batch, in_features)`` through every layer; returns ``(batch, out_features)``.

        ``training=True`` keeps what ``backward`` needs; ``training=False`` (evaluation: validation, predictions)
        keeps nothing and leaves what the last training forward kept untouched, and turns dropout off.
        """
        x = np.asarray(x, dtype=self.dtype)  # no copy when it already is; never a silent upcast inside
        if x.ndim != 2 or (self._in_features is not None and x.shape[1] != self._in_features):
            raise ValueError(f"{self.layers[0]!r} expects input of shape (batch, {self._in_features}) "
                             f"(one row per sample, {self._in_features} features); got {x.shape}")
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_y: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Back-propagate ``dL/dy`` of the last training forward, filling each layer's ``grads``.

        Returns ``dL/dx``, the gradient with respect to the data, only with ``input_grad=True`` (else None):
        training never needs it, and for a wide input it is the most expensive product of the pass, so it is
        computed only when asked for, as PyTorch does only for inputs that require it.
        """
        layers = self.layers
        for i in range(len(layers) - 1, 0, -1):
            grad_y = layers[i].backward(grad_y)
        first = layers[0]
        if input_grad:
            return first.backward(grad_y)
        if _can_skip_input_grad(type(first)):
            first.backward(grad_y, input_grad=False)
        else:  # a layer that always returns dL/dx (any custom layer): computed, then dropped
            first.backward(grad_y)
        return None

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)

    # -- one buffer for every parameter -------------------------------------------------------------------------

    def flat_parameters(self) -> FlatParameters:
        """Every parameter and every gradient of the model as one 1-D array each (for the optimizers).

        At construction the layers' ``params`` and ``grads`` arrays become views into two flat buffers, so an
        optimizer updates the whole network in a handful of NumPy calls, whatever its depth, the way fused
        optimizers work. Everything a layer does in place (``backward`` writing ``grads["W"]``, ``W[...] = ...``)
        lands in the buffers; an array *replaced* by assignment (``layer.grads["W"] = g``), or a changed list of
        layers, is noticed here and packed in again.
        """
        flat = self._flat
        if flat is None or flat.layers != self.layers or not flat.intact():
            flat = self._pack()
        return flat

    def _pack(self) -> FlatParameters:
        """Copy every parameter and gradient into fresh flat buffers and make the layers' arrays views of them."""
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                grad = layer.grads.get(key)
                if grad is None or np.shape(grad) != np.shape(param):
                    raise ValueError(f"layer {index} {layer!r}: grads[{key!r}] must exist with the shape of "
                                     f"params[{key!r}] {np.shape(param)}, got {np.shape(grad)}")
        entries = [(f"{i}.{key}", layer, key) for i, layer in enumerate(self.layers) for key in layer.params]
        total = sum(layer.params[key].size for _name, layer, key in entries)
        params, grads = np.empty(total, self.dtype), np.zeros(total, self.dtype)
        layout, views, offset = [], [], 0
        for name, layer, key in entries:
            shape, size = np.shape(layer.params[key]), np.size(layer.params[key])
            part = slice(offset, offset + size)
            param_view, grad_view = params[part].reshape(shape), grads[part].reshape(shape)
            param_view[...] = layer.params[key]
            grad_view[...] = layer.grads[key]
            layer.params[key], layer.grads[key] = param_view, grad_view
            layout.append((name, part, shape))
            views.append((layer.params, layer.grads, key, param_view, grad_view))
            offset += size
        self._flat = FlatParameters(params, grads, tuple(layout), views, list(self.layers))
        return self._flat

    def __getstate__(self) -> dict:
        # A copy (deepcopy, pickle) loses the link between the views and their buffer: it packs afresh.
        return {**self.__dict__, "_flat": None}

    # -- state -------------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed like ``parameters()``: ``{"0.W": ..., "0.b": ..., "2.W": ...}``."""
        return {name: param.copy() for name, param, _grad in self.parameters()}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy saved parameters into the model, in place; every name, shape and dtype must match.

        A mismatch raises ``ValueError`` naming the parameter, before anything is changed.
        """
        mine = {name: param for name, param, _grad in self.parameters()}
        missing = [name for name in mine if name not in state]
        unexpected = [name for name in state if name not in mine]
        if missing or unexpected:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"unexpected {', '.join(unexpected)}"] if unexpected else [])
            raise ValueError(f"state dict does not fit {self!r}: {'; '.join(parts)}")
        for name, param in mine.items():
            value = np.asarray(state[name])
            if value.shape != param.shape:
                raise ValueError(f"parameter {name}: saved shape {value.shape}, the model's is {param.shape}")
            if value.dtype != param.dtype:
                raise ValueError(f"parameter {name}: saved dtype {value.dtype}, the model's is {param.dtype}")
        for name, param in mine.items():
            param[...] = state[name]

    # -- inspection --------------------------------------------------------------------------------------------

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, param, grad)`` for every parameter, named ``"<layer index>.<key>"`` (``"0.W"``)."""
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                yield f"{index}.{key}", param, layer.grads[key]

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    @property
    def in_features(self) -> int | None:
        for layer in self.layers:
            if layer.in_features is not None:
                return layer.in_features
        return None

    @property
    def out_features(self) -> int | None:
        for layer in reversed(self.layers):
            if layer.out_features is not None:
                return layer.out_features
        return None

    def output_widths(self) -> list[int | None]:
        """The width of each layer's output (None until a layer with a known width has been seen)."""
        widths, width = [], None
        for layer in self.layers:
            if layer.out_features is not None:
                width = layer.out_features
            widths.append(width)
        return widths

    def summary(self) -> str:
        """A table of layer, output shape and parameter count, with the total."""
        rows = [("#", "layer", "output shape", "params")]
        for index, (layer, width) in enumerate(zip(self.layers, self.output_widths())):
            rows.append((str(index), repr(layer), f"(batch, {width})", f"{layer.n_params:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        rule = "-" * (sum(widths) + 6)

        def line(row):
            return f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}"

        body = [line(rows[0]), rule, *(line(r) for r in rows[1:]), rule]
        body.append(f"total parameters: {self.n_params:,}  (dtype {self.dtype})")
        return "\n".join(body)

    def __repr__(self) -> str:
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"


def mlp(
    sizes: Sequence[int],
    activations: Sequence[str] | str = "relu",
    *,
    init: str = "auto",
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
    dtype=np.float32,
) -> Sequential:
    """Build a multilayer perceptron: ``sizes = [in, hidden..., out]``, an activation after each hidden layer.

    ``init="auto"`` asks each activation which initialiser suits the layer before it (``init_hint``: He for the
    ReLU family, Xavier for Tanh and Sigmoid), and uses Xavier for the output layer, which feeds a loss.
    """
    from nntui.nn.layers import Dropout, activation  # local: keeps the module graph flat

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        raise ValueError("an MLP needs at least an input and an output size")
    n_hidden = len(sizes) - 2
    if isinstance(activations, str):
        activations = [activations] * n_hidden
    if len(activations) != n_hidden:
        raise ValueError(f"{n_hidden} hidden layers but {len(activations)} activations")
    rng = np.random.default_rng() if rng is None else rng
    layers: list[Layer] = []
    for i in range(len(sizes) - 1):
        act = activation(activations[i]) if i < n_hidden else None
        layer_init = init if init != "auto" else (act.init_hint if act is not None else Layer.init_hint)
        layers.append(Linear(sizes[i], sizes[i + 1], init=layer_init, rng=rng, dtype=dtype))
        if act is not None:
            layers.append(act)
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
    return Sequential(layers)
