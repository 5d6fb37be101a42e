"""``Sequential``: a stack of layers, run forward in order and backward in reverse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from nntui.nn.layers import Layer, Linear


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

    # -- the two passes ----------------------------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Run ``x: (batch, in_features)`` through every layer; returns ``(batch, out_features)``."""
        x = np.asarray(x, dtype=self.dtype)  # no copy when it already is; never a silent upcast inside
        if x.ndim != 2 or (self._in_features is not None and x.shape[1] != self._in_features):
            raise ValueError(f"{self.layers[0]!r} expects input of shape (batch, {self._in_features}) "
                             f"(one row per sample, {self._in_features} features); got {x.shape}")
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate ``dL/dy`` through every layer, filling each layer's ``grads``; returns ``dL/dx``.

        With ``input_grad=False`` the first layer skips ``dL/dx`` (training never needs the gradient with
        respect to the data, and for a wide input it is the most expensive product of the pass).
        """
        layers = self.layers
        for layer in layers[:0:-1]:
            grad_y = layer.backward(grad_y)
        grad_x = layers[0].backward(grad_y, input_grad)
        return grad_x if input_grad else None

    def __call__(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self.forward(x, training)

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

    ``init="auto"`` picks He for ReLU-family activations and Xavier for Tanh/Sigmoid (and Xavier for the
    output layer, which feeds a loss rather than a ReLU).
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
        act = activations[i] if i < n_hidden else None
        if init == "auto":
            layer_init = "he_normal" if act in ("relu", "leaky_relu") else "xavier_normal"
        else:
            layer_init = init
        layers.append(Linear(sizes[i], sizes[i + 1], init=layer_init, rng=rng, dtype=dtype))
        if act is not None:
            layers.append(activation(act))
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
    return Sequential(layers)
