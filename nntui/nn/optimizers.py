"""Optimizers: turn the gradients in a model's layers into a step on its parameters.

Each follows the update rule PyTorch documents under the same name (weight decay as an L2 term added to the
gradient, momentum buffers that start at zero), so results can be compared number for number. Per-parameter
state lives in ``self.state``, keyed by the parameter's name in the model (``"0.W"``); ``lr`` is a plain
attribute that may change between any two steps and is read afresh by each one.

Every ``FLUSH_EVERY`` steps the state buffers' subnormal numbers (below ``finfo(dtype).tiny``, about 1e-38 in
float32) are set to zero. A buffer entry whose gradient has stopped (a dead ReLU unit) decays geometrically
towards zero and spends hundreds of steps in that range, where x86 arithmetic is many times slower; the values
are far too small to move any weight, so flushing them changes the speed, not the result.
"""

from __future__ import annotations

import math

import numpy as np

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
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._slots: list | None = None  # [(params dict, grads dict, key, state)] for the last model seen
        self._model_key: list | None = None  # that model's layers

    def _parameters(self, model):
        """Yield (param, grad, state) for every parameter, reading the layers' dicts afresh on every step.

        Only the walk over the model is cached (rebuilt when its list of layers changes), so a parameter or
        gradient array replaced by assignment (``layer.grads["W"] = ...``) is still seen.
        """
        if self._slots is None or self._model_key != model.layers:
            self._slots = [
                (layer.params, layer.grads, key, self.state.setdefault(f"{index}.{key}", {}))
                for index, layer in enumerate(model.layers) for key in layer.params
            ]
            self._model_key = list(model.layers)
        for params, grads, key, state in self._slots:
            yield params[key], grads[key], state

    def step(self, model) -> None:
        """Update every parameter of ``model`` from the gradients its last backward pass wrote."""
        self.t += 1
        lr, weight_decay = self.lr, self.weight_decay
        for param, grad, state in self._parameters(model):
            if weight_decay:
                grad = grad + weight_decay * param  # the L2 term: g + weight_decay * w
            self._update(param, grad, state, lr)
        if self.t % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def _update(self, param, grad, state, lr) -> None:
        raise NotImplementedError

    def flush_subnormals(self) -> None:
        """Set the state buffers' subnormal entries to zero (see the module docstring for why)."""
        for slots in self.state.values():
            for buffer in slots.values():
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
        # Copy into fresh arrays, then drop the cached slots so the next step rebinds them.
        self.state = {name: {k: np.array(v) for k, v in slots.items()} for name, slots in state["state"].items()}
        self._slots = self._model_key = None

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

    def _update(self, param, grad, state, lr):
        if not self.momentum:
            param -= lr * grad
            return
        velocity = state.get("velocity")
        if velocity is None:
            velocity = state["velocity"] = np.zeros_like(param)
        velocity *= self.momentum
        velocity += grad
        if self.nesterov:
            param -= lr * (grad + self.momentum * velocity)
        else:
            param -= lr * velocity


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

    def _update(self, param, grad, state, lr):
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = np.zeros_like(param)
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * (grad * grad)
        update = grad / (np.sqrt(square_avg) + self.eps)
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.zeros_like(param)
            buffer *= self.momentum
            buffer += update
            update = buffer
        param -= lr * update


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

    def hyperparameters(self):
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def step(self, model):
        self.t += 1
        # The bias corrections are the same for every parameter in a step: work them out once.
        step_size = self.lr / (1 - self.beta1**self.t)
        root_correction = math.sqrt(1 - self.beta2**self.t)
        for param, grad, state in self._parameters(model):
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            self._update(param, grad, state, step_size, root_correction)
        if self.t % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def _update(self, param, grad, state, step_size, root_correction):
        m = state.get("m")
        if m is None:
            m = state["m"] = np.zeros_like(param)
            state["v"] = np.zeros_like(param)
        v = state["v"]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * (grad * grad)
        denom = np.sqrt(v)
        denom /= root_correction
        denom += self.eps
        param -= step_size * (m / denom)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}
