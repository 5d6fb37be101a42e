"""Optimizers: turn the gradients in a model's layers into a step on its parameters.

Each follows the update rule PyTorch documents under the same name (weight decay as an L2 term added to the
gradient, momentum buffers that start at zero), so results can be compared number for number; each states its rule
in ``update_rule()``, which is what the app shows. ``lr`` is a plain attribute that may change between any two steps
and is read afresh by each one.

The whole model is updated at once. ``Sequential`` keeps every parameter and gradient in one flat buffer
(``model.flat_parameters()``), so a step is a handful of NumPy calls on those buffers, whatever the depth of the
network, as "fused" optimizers do. The optimizer's own buffers (momentum, running averages) are flat too; per
parameter they are seen through views in ``self.state``, keyed by the parameter's name in the model (``"0.W"``),
which is also how ``state_dict()`` stores them.

Every ``FLUSH_EVERY`` steps the state buffers' subnormal numbers (below ``finfo(dtype).tiny``, about 1e-38 in
float32) are set to zero. A buffer entry whose gradient has stopped (a dead ReLU unit) decays geometrically
towards zero and spends hundreds of steps in that range, where x86 arithmetic is many times slower; the values
are far too small to move any weight, so flushing them changes the speed, not the result.

To add an optimizer: subclass ``Optimizer``, name its buffers in ``buffers()``, write ``_update`` on flat arrays
and ``update_rule``, and add one line to ``OPTIMIZERS``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping

import numpy as np

from nntui.nn.registry import registered

FLUSH_EVERY = 16  # steps between two flushes of subnormal numbers from the optimizer's buffers


class Optimizer:
    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        if isinstance(lr, str) or isinstance(weight_decay, str):
            raise TypeError(f"lr and weight_decay must be numbers, got lr={lr!r}, weight_decay={weight_decay!r}")
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0  # steps taken
        #: Per parameter name, its buffers: views into the flat buffers in ``self._flat_state``.
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._flat_state: dict[str, np.ndarray] = {}
        self._layout = None  # the model layout the flat buffers were made for

    @classmethod
    def from_config(cls, options: Mapping[str, object]) -> Optimizer:
        """Build from a run configuration's optimizer fields, taking those this optimizer has a parameter for."""
        accepted = inspect.signature(cls.__init__).parameters
        return cls(**{key: value for key, value in options.items() if key in accepted})

    # -- the step ----------------------------------------------------------------------------------------------

    def buffers(self) -> tuple[str, ...]:
        """The names of the per-parameter buffers this optimizer keeps with its settings (none for plain SGD)."""
        return ()

    def step(self, model) -> None:
        """Update every parameter of ``model`` from the gradients its last backward pass wrote."""
        flat = model.flat_parameters()
        if flat.layout is not self._layout:
            self._bind(flat.layout, flat.params.dtype)
        self.t += 1
        param, grad = flat.params, flat.grads
        if self.weight_decay:  # the L2 term: g + weight_decay * w
            grad = np.multiply(param, self.weight_decay, out=self._scratch[1])
            grad += flat.grads
        self._update(param, grad, self._flat_state)
        if self.t % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def _update(self, param: np.ndarray, grad: np.ndarray, buffers: dict[str, np.ndarray]) -> None:
        """Apply one step to the flat ``param`` in place, given the flat gradient (weight decay included).

        ``self._scratch[0]`` is a buffer of the same size for intermediate results: a temporary array as large
        as a big network would be allocated and freed on every step, which costs more than the arithmetic.
        """
        raise NotImplementedError

    def update_rule(self) -> str:
        """The update this optimizer applies with its current settings, one formula per line; the last line is
        the step on the weights (``W ← W − ...``), which the app's Weights view shows under the update."""
        raise NotImplementedError

    def _bind(self, layout, dtype) -> None:
        """(Re)make the flat buffers for a model's layout, keeping the values of parameters seen before."""
        total = sum(part.stop - part.start for _name, part, _shape in layout)
        flat_state = {kind: np.zeros(total, dtype) for kind in self.buffers()}
        state = {}
        for name, part, shape in layout:
            old = self.state.get(name, {})
            state[name] = {}
            for kind, buffer in flat_state.items():
                view = buffer[part].reshape(shape)
                if kind in old and np.shape(old[kind]) == shape:
                    view[...] = old[kind]
                state[name][kind] = view
        self.state, self._flat_state, self._layout = state, flat_state, layout
        self._scratch = (np.empty(total, dtype), np.empty(total, dtype))  # not state: nothing to save

    def flush_subnormals(self) -> None:
        """Set the state buffers' subnormal entries to zero (see the module docstring for why)."""
        if self._layout is not None:
            buffers = list(self._flat_state.values())
        else:  # not packed yet (restored, or set by hand): the per-name arrays
            buffers = [buffer for slots in self.state.values() for buffer in slots.values()]
        for buffer in buffers:
            np.copyto(buffer, 0, where=np.abs(buffer) < np.finfo(buffer.dtype).tiny)

    # -- checkpoints -------------------------------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, float]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: hyperparameters, step count and per-parameter buffers."""
        return {
            "type": type(self).__name__,
            "t": self.t,
            "hyperparameters": self.hyperparameters(),
            "state": {name: {k: v.copy() for k, v in slots.items()} for name, slots in self.state.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"optimizer state is for {state['type']}, not {type(self).__name__}")
        for key, value in state.get("hyperparameters", {}).items():
            setattr(self, key, type(getattr(self, key))(value))
        self.t = int(state["t"])
        # Kept per name until the next step packs them into flat buffers laid out like the model.
        self.state = {name: {k: np.array(v) for k, v in slots.items()} for name, slots in state["state"].items()}
        self._flat_state, self._layout = {}, None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With ``g = grad + weight_decay * w``:
      - plain:     ``w <- w - lr * g``
      - momentum:  ``v <- momentum * v + g`` ; ``w <- w - lr * v``
      - Nesterov:  ``v <- momentum * v + g`` ; ``w <- w - lr * (g + momentum * v)``
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}

    def buffers(self):
        return ("velocity",) if self.momentum else ()

    def _update(self, param, grad, buffers):
        lr, scratch = self.lr, self._scratch[0]
        if not self.momentum:
            param -= np.multiply(grad, lr, out=scratch)
            return
        velocity = buffers["velocity"]
        velocity *= self.momentum
        velocity += grad
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=scratch)
            scratch += grad
            scratch *= lr
            param -= scratch  # lr * (g + momentum * v)
        else:
            param -= np.multiply(velocity, lr, out=scratch)

    def update_rule(self):
        g = "g = dL/dW + wd · W" if self.weight_decay else "g = dL/dW"
        if not self.momentum:
            return f"{g}\nW ← W − lr · g"
        if self.nesterov:
            return f"{g}\nv ← μ · v + g\nW ← W − lr · (g + μ · v)"
        return f"{g}\nv ← μ · v + g\nW ← W − lr · v"


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of recent gradients.

    ``s <- alpha * s + (1 - alpha) * g^2`` ; ``u = g / (sqrt(s) + eps)`` ;
    without momentum ``w <- w - lr * u``; with it ``v <- momentum * v + u`` ; ``w <- w - lr * v``.
    """

    def __init__(self, lr: float, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), float(momentum)

    def hyperparameters(self):
        return {**super().hyperparameters(), "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum}

    def buffers(self):
        return ("square_avg", "momentum_buffer") if self.momentum else ("square_avg",)

    def _update(self, param, grad, buffers):
        square_avg, scratch = buffers["square_avg"], self._scratch[0]
        square_avg *= self.alpha
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.alpha
        square_avg += scratch  # (1 - alpha) g^2
        np.sqrt(square_avg, out=scratch)
        scratch += self.eps
        update = np.divide(grad, scratch, out=scratch)  # u = g / (sqrt(s) + eps)
        if self.momentum:
            buffer = buffers["momentum_buffer"]
            buffer *= self.momentum
            buffer += update
            update = buffer
        param -= np.multiply(update, self.lr, out=scratch)

    def update_rule(self):
        g = "g = dL/dW + wd · W" if self.weight_decay else "g = dL/dW"
        rule = f"{g}\ns ← α · s + (1 − α) · g²\nu = g / (√s + ε)"
        return rule + ("\nv ← μ · v + u\nW ← W − lr · v" if self.momentum else "\nW ← W − lr · u")


class Adam(Optimizer):
    """Adam: momentum on the gradient and a per-weight step size from its running second moment.

    ``m <- b1 m + (1 - b1) g`` ; ``v <- b2 v + (1 - b2) g^2`` ; with the bias corrections
    ``m^ = m / (1 - b1^t)`` and ``v^ = v / (1 - b2^t)``: ``w <- w - lr * m^ / (sqrt(v^) + eps)``.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.beta1, self.beta2, self.eps = float(b1), float(b2), float(eps)

    @classmethod
    def from_config(cls, options):
        options = dict(options)
        if "beta1" in options or "beta2" in options:
            options["betas"] = (options.pop("beta1", 0.9), options.pop("beta2", 0.999))
        return super().from_config(options)

    def hyperparameters(self):
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def buffers(self):
        return ("m", "v")

    def _update(self, param, grad, buffers):
        # The bias corrections, folded into the step size and the denominator (the same for every weight).
        step_size = self.lr / (1 - self.beta1**self.t)
        root_correction = math.sqrt(1 - self.beta2**self.t)
        m, v, scratch = buffers["m"], buffers["v"], self._scratch[0]
        m *= self.beta1
        m += np.multiply(grad, 1 - self.beta1, out=scratch)
        v *= self.beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.beta2
        v += scratch  # (1 - b2) g^2
        denom = np.sqrt(v, out=scratch)
        denom /= root_correction
        denom += self.eps
        np.divide(m, denom, out=scratch)
        scratch *= step_size
        param -= scratch  # step_size * m / denom

    def update_rule(self):
        g = "g = dL/dW + wd · W" if self.weight_decay else "g = dL/dW"
        return (f"{g}\nm ← β1 · m + (1 − β1) · g\nv ← β2 · v + (1 − β2) · g²\n"
                "m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)\nW ← W − lr · m̂/(√v̂ + ε)")


#: The optimizers a run configuration can name. Add one with a line: ``OPTIMIZERS["lion"] = Lion``.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}


def optimizer(name: str, options: Mapping[str, object]) -> Optimizer:
    """Build the optimizer a config names, from its fields (an unknown name is an error, never a fallback)."""
    return registered(OPTIMIZERS, name, "optimizer").from_config(options)
