"""Layers: each one a forward pass and, a few lines below it, its backward pass.

Every layer maps a batch ``x`` of shape ``(batch, features)`` to a batch ``y``. A *training* forward
(``training=True``) keeps what its ``backward`` will need (the input, the output or a mask); an *evaluation*
forward (``training=False``) keeps nothing, so a validation batch between a training forward and its backward
changes nothing. ``backward`` receives ``dL/dy``, the gradient of the loss with respect to the layer's output, and
returns ``dL/dx`` by the chain rule; a layer with parameters also writes ``dL/dparam`` into ``self.grads``.

Gradients are *overwritten* on every backward pass, never accumulated: in a layer stack each parameter is used
exactly once per pass, so there is nothing to add up and no ``zero_grad`` to forget.

Each layer also answers questions about itself, which the app and the trainer ask instead of reading its fields:
its config ``name``, the initialiser that suits the layer before it (``init_hint``), its formula
(``forward_formula``, ``backward_formula``), its health after the last training forward (``dead_fraction``,
``saturation``) and, for piecewise functions, which piece each unit was on (``regime``, used by the gradient
check to skip the kinks).

To write your own layer, subclass ``Layer``: call ``super().__init__()``, cache in ``forward`` only when
``training`` is true, and write ``backward(self, grad_y)``; register an activation with one line,
``ACTIVATIONS["swish"] = Swish``, and every config, command and menu offers it.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from nntui.nn.init import init_weights
from nntui.nn.registry import registered


class Layer:
    """Base class. ``params`` and ``grads`` are dicts with the same keys and shapes (empty without parameters)."""

    #: Activation layers keep the width of their input; ``Linear`` changes it.
    in_features: int | None = None
    out_features: int | None = None
    #: The name a run configuration uses for this layer ("relu"), for the layers in a registry.
    name: str | None = None
    #: The initialiser that suits the Linear layer feeding this one (variance-preserving for this activation).
    init_hint: str = "xavier_uniform"
    #: True for piecewise functions (ReLU): a finite difference across a kink measures no derivative.
    has_kinks: bool = False

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Given dL/dy of the last training forward, set ``self.grads`` and return dL/dx."""
        raise NotImplementedError

    # -- what the layer says about itself ----------------------------------------------------------------------

    def forward_formula(self) -> str:
        """The forward pass as a learner reads it: ``y = max(x, 0)``."""
        doc = inspect.getdoc(type(self)) or ""
        start = doc.find("``y = ")
        if start >= 0:
            end = doc.find("``", start + 2)
            if end > 0:
                return doc[start + 2:end]
        return f"y = {type(self).__name__}(x)"

    @classmethod
    def backward_formula(cls) -> str:
        """The derivative the class's ``backward`` states in its comment line (``dL/dx = ...``), or ""."""
        return backward_comment(cls)

    def dead_fraction(self) -> float | None:
        """Share of units that gave no gradient for the whole last training batch (None: not a ReLU-like layer)."""
        return None

    def saturation(self) -> float | None:
        """Share of outputs pinned near the limits in the last training batch (None: not a squashing layer)."""
        return None

    def regime(self) -> bytes:
        """Which piece of a piecewise function each unit was on in the last training forward (b"" if smooth)."""
        return b""

    def config(self) -> dict:
        """The constructor arguments that rebuild this layer (``nntui.nn.save`` writes them; no weights)."""
        return {}

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@functools.cache
def backward_comment(cls: type) -> str:
    """The ``# dL/... = ...`` comment line of a class's ``backward``: each backward states its derivative there,
    and the app shows that very line, so the view and the code cannot tell different stories."""
    try:
        source = inspect.getsource(cls.backward)
    except (OSError, TypeError):  # no source at hand (a frozen build): no formula to show
        return ""
    for line in source.splitlines():
        text = line.strip()
        if text.startswith("# dL/"):
            return text[1:].strip()
    return ""


class Linear(Layer):
    """A fully connected layer: ``y = x · W + b``.

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
        self.init: str | None = init
        rng = np.random.default_rng() if rng is None else rng
        self._hold(init_weights(init, self.in_features, self.out_features, rng=rng, dtype=dtype),
                   np.zeros(self.out_features, dtype=dtype))

    @classmethod
    def from_weights(cls, W: np.ndarray, b: np.ndarray) -> Linear:
        """A layer holding the given ``W: (in_features, out_features)`` and ``b: (out_features,)``, drawing
        nothing at random: how ``nntui.nn.load`` rebuilds a saved layer.

        The arrays are held as given, not copied (a ``Sequential`` copies them into its own buffer). ``init`` is
        None: these weights were not drawn by an initialiser.
        """
        W, b = np.asarray(W), np.asarray(b)
        if W.ndim != 2 or W.size == 0 or b.shape != W.shape[1:]:
            raise ValueError(f"Linear.from_weights: W must be (in_features, out_features) and b (out_features,), "
                             f"both non-empty; got W {W.shape} and b {b.shape}")
        if W.dtype != b.dtype or not np.issubdtype(W.dtype, np.floating):
            raise ValueError(f"Linear.from_weights: W and b need one floating dtype, got {W.dtype} and {b.dtype}")
        layer = cls.__new__(cls)  # not __init__: it would draw random weights only to throw them away
        Layer.__init__(layer)
        layer.in_features, layer.out_features = W.shape
        layer.init = None
        layer._hold(W, b)
        return layer

    def _hold(self, W: np.ndarray, b: np.ndarray) -> None:
        """Take ``W`` and ``b`` as the parameters, with gradient buffers of their shapes and no cached input."""
        self.params["W"], self.params["b"] = W, b
        # Gradient buffers are allocated once and overwritten by every backward pass.
        self.grads["W"] = np.zeros_like(W)
        self.grads["b"] = np.zeros_like(b)
        self.x: np.ndarray | None = None

    def forward(self, x, training=True):
        if training:
            self.x = x
        y = x @ self.params["W"]
        y += self.params["b"]
        return y

    def backward(self, grad_y, input_grad=True):
        # dL/dW = x^T @ dL/dy ;  dL/db = sum over the batch of dL/dy ;  dL/dx = dL/dy @ W^T
        if self.x is None:
            raise RuntimeError(f"{self!r}.backward() needs a forward() first (a training one: it uses the layer's "
                               "input, which forward(x, training=False) does not keep)")
        try:
            np.matmul(self.x.T, grad_y, out=self.grads["W"])
        except ValueError:  # (checked only on failure: the check would cost every step)
            raise ValueError(f"{self!r}.backward() got a gradient of shape {np.shape(grad_y)}; it needs "
                             f"{(self.x.shape[0], self.out_features)}, the shape of its last output") from None
        np.add.reduce(grad_y, 0, None, self.grads["b"])  # the batch sum (what .sum(axis=0) calls)
        # (``input_grad=False`` skips dL/dx: Sequential asks for it only when the caller wants the data's gradient)
        return grad_y @ self.params["W"].T if input_grad else None

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features}

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"


class _Rectifier(Layer):
    """What ReLU and LeakyReLU share: a kink at 0, He initialisation, units that can die."""

    init_hint = "he_normal"
    has_kinks = True

    def _active(self) -> np.ndarray | None:
        """Which inputs of the last training batch were positive (None before one)."""
        raise NotImplementedError

    def dead_fraction(self):
        active = self._active()
        return None if active is None else float(np.mean(~active.any(axis=0)))

    def regime(self):
        active = self._active()
        return b"" if active is None else np.packbits(active).tobytes()


class ReLU(_Rectifier):
    """Rectified linear unit: ``y = relu(x) = max(x, 0)``."""

    name = "relu"

    def forward(self, x, training=True):
        if training:
            self.x = x
        return np.maximum(x, 0)

    def backward(self, grad_y):
        # dL/dx = dL/dy where x > 0, else 0
        return grad_y * (self.x > 0)

    def _active(self):
        x = self.__dict__.get("x")
        return None if x is None else x > 0


class LeakyReLU(_Rectifier):
    """Leaky ReLU: ``y = x`` for ``x > 0``, else ``negative_slope * x`` (a small gradient keeps units alive).

    A unit is *dead* when no sample of the batch gets it above 0: only the small slope still passes a gradient.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x, training=True):
        positive = x > 0
        if training:
            self.active = positive
        return np.where(positive, x, self.negative_slope * x)

    def _active(self):
        return self.__dict__.get("active")

    def backward(self, grad_y):
        # dL/dx = dL/dy where x > 0, else negative_slope * dL/dy
        return np.where(self.active, grad_y, self.negative_slope * grad_y)

    def forward_formula(self):
        return f"y = x where x > 0, else {self.negative_slope:g} · x"

    def config(self):
        return {"negative_slope": self.negative_slope}

    def __repr__(self) -> str:
        return f"LeakyReLU({self.negative_slope:g})"


class Tanh(Layer):
    """Hyperbolic tangent: ``y = tanh(x)``, squashing into (-1, 1)."""

    name = "tanh"

    def forward(self, x, training=True):
        y = np.tanh(x)
        if training:
            self.y = y
        return y

    def backward(self, grad_y):
        # dL/dx = dL/dy * (1 - y^2)
        return grad_y * (1 - self.y * self.y)

    def saturation(self):
        y = self.__dict__.get("y")
        return None if y is None else float(np.mean(np.abs(y) > 0.99))


class Sigmoid(Layer):
    """Logistic sigmoid: ``y = sigmoid(x) = 1 / (1 + exp(-x))``, squashing into (0, 1).

    Computed as ``(1 + tanh(x / 2)) / 2``, the same function written without ``exp``, so a large ``|x|``
    can never overflow.
    """

    name = "sigmoid"

    def forward(self, x, training=True):
        y = np.tanh(0.5 * x)
        y += 1
        y *= 0.5
        if training:
            self.y = y
        return y

    def backward(self, grad_y):
        # dL/dx = dL/dy * y * (1 - y)
        return grad_y * (self.y * (1 - self.y))

    def saturation(self):
        y = self.__dict__.get("y")
        return None if y is None else float(np.mean((y < 0.01) | (y > 0.99)))


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
        if not training:
            return x
        if self.p == 0.0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float64) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self.mask

    def backward(self, grad_y):
        # dL/dx = dL/dy * mask / (1 - p)   (the identity when p is 0)
        return grad_y if self.mask is None else grad_y * self.mask

    def forward_formula(self):
        return "y = x   (dropout acts only in training; this pass evaluates)"

    def config(self):
        return {"p": self.p}

    def __repr__(self) -> str:
        return f"Dropout({self.p:g})"


#: The activations a run configuration can name. Add one with a line: ``ACTIVATIONS["swish"] = Swish``.
ACTIVATIONS: dict[str, type[Layer]] = {cls.name: cls for cls in (ReLU, LeakyReLU, Tanh, Sigmoid)}


def activation(name: str) -> Layer:
    """Build an activation layer from its config name (see ``ACTIVATIONS``)."""
    return registered(ACTIVATIONS, name, "activation")()
