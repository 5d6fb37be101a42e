"""Layers: each one a forward pass and, a few lines below it, its backward pass.

Every layer maps a batch ``x`` of shape ``(batch, features)`` to a batch ``y``. During ``forward`` it keeps what
its ``backward`` will need (the input, the output or a mask). ``backward`` receives ``dL/dy``, the gradient of
the loss with respect to the layer's output, and returns ``dL/dx`` by the chain rule; a layer with parameters
also writes ``dL/dparam`` into ``self.grads``.

Gradients are *overwritten* on every backward pass, never accumulated: in a layer stack each parameter is used
exactly once per pass, so there is nothing to add up and no ``zero_grad`` to forget.
"""

from __future__ import annotations

import numpy as np

from nntui.nn.init import init_weights


class Layer:
    """Base class. ``params`` and ``grads`` are dicts with the same keys and shapes (empty without parameters)."""

    #: Activation layers keep the width of their input; ``Linear`` changes it.
    in_features: int | None = None
    out_features: int | None = None

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Given dL/dy, set ``self.grads`` and return dL/dx (or None when ``input_grad`` is False)."""
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Layer):
    """A fully connected layer: ``y = x @ W + b``.

    Shapes: ``x: (batch, in_features)``, ``W: (in_features, out_features)``, ``b: (out_features,)``,
    ``y: (batch, out_features)``; any batch size, including 1.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ) -> None:
        super().__init__()
        if any(isinstance(n, bool) or int(n) != n or n < 1 for n in (in_features, out_features)):
            raise ValueError(f"Linear({in_features} -> {out_features}): widths must be whole numbers of at least 1")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"Linear(dtype={np.dtype(dtype)}): weights need a floating dtype, e.g. np.float32")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        rng = np.random.default_rng() if rng is None else rng
        self.params["W"] = init_weights(init, self.in_features, self.out_features, rng=rng, dtype=dtype)
        self.params["b"] = np.zeros(self.out_features, dtype=dtype)
        # Gradient buffers are allocated once and overwritten by every backward pass.
        self.grads["W"] = np.zeros_like(self.params["W"])
        self.grads["b"] = np.zeros_like(self.params["b"])
        self.x: np.ndarray | None = None

    def forward(self, x, training=True):
        self.x = x
        y = x @ self.params["W"]
        y += self.params["b"]
        return y

    def backward(self, grad_y, input_grad=True):
        # dL/dW = x^T @ dL/dy ;  dL/db = sum over the batch of dL/dy ;  dL/dx = dL/dy @ W^T
        if self.x is None:
            raise RuntimeError(f"{self!r}.backward() needs a forward() first (it uses the layer's input)")
        try:
            np.matmul(self.x.T, grad_y, out=self.grads["W"])
        except ValueError:  # (checked only on failure: the check would cost every step)
            raise ValueError(f"{self!r}.backward() got a gradient of shape {np.shape(grad_y)}; it needs "
                             f"{(self.x.shape[0], self.out_features)}, the shape of its last output") from None
        grad_y.sum(axis=0, out=self.grads["b"])
        return grad_y @ self.params["W"].T if input_grad else None

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"


class ReLU(Layer):
    """Rectified linear unit: ``y = max(x, 0)``."""

    def forward(self, x, training=True):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad_y, input_grad=True):
        # dL/dx = dL/dy where x > 0, else 0
        return grad_y * (self.x > 0)


class LeakyReLU(Layer):
    """Leaky ReLU: ``y = x`` for ``x > 0``, else ``negative_slope * x`` (a small gradient keeps units alive)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x, training=True):
        self.positive = x > 0
        return np.where(self.positive, x, self.negative_slope * x)

    def backward(self, grad_y, input_grad=True):
        # dL/dx = dL/dy where x > 0, else negative_slope * dL/dy
        return np.where(self.positive, grad_y, self.negative_slope * grad_y)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.negative_slope:g})"


class Tanh(Layer):
    """Hyperbolic tangent: ``y = tanh(x)``, squashing into (-1, 1)."""

    def forward(self, x, training=True):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_y, input_grad=True):
        # dL/dx = dL/dy * (1 - y^2)
        return grad_y * (1 - self.y * self.y)


class Sigmoid(Layer):
    """Logistic sigmoid: ``y = 1 / (1 + exp(-x))``, squashing into (0, 1).

    Computed as ``(1 + tanh(x / 2)) / 2``, the same function written without ``exp``, so a large ``|x|``
    can never overflow.
    """

    def forward(self, x, training=True):
        self.y = np.tanh(0.5 * x)
        self.y += 1
        self.y *= 0.5
        return self.y

    def backward(self, grad_y, input_grad=True):
        # dL/dx = dL/dy * y * (1 - y)
        return grad_y * (self.y * (1 - self.y))


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale survivors by ``1/(1-p)``.

    The scaling keeps the expected activation unchanged, so at evaluation (``training=False``) the layer is the
    identity.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None

    def forward(self, x, training=True):
        if not training or self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float64) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def backward(self, grad_y, input_grad=True):
        # dL/dx = dL/dy * mask / (1 - p)   (the identity when the last forward was not training)
        return grad_y if self.mask is None else grad_y * self.mask

    def __repr__(self) -> str:
        return f"Dropout({self.p:g})"


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def activation(name: str) -> Layer:
    """Build an activation layer from its config name (``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None
