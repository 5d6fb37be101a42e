"""The nntui engine: a neural network written from scratch in NumPy, no autograd.

Read in this order: ``layers.py`` (each layer's forward and backward side by side), ``losses.py``,
``model.py`` (``Sequential``), ``optimizers.py``, ``gradcheck.py``, ``io.py`` (save and load).

    >>> import numpy as np
    >>> from nntui.nn import Linear, ReLU, Sequential, SoftmaxCrossEntropy, SGD
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential([Linear(2, 16, rng=rng), ReLU(), Linear(16, 3, rng=rng)])

The registries ``ACTIVATIONS``, ``LOSSES``, ``OPTIMIZERS`` and ``INITIALISERS`` are the only lists of the names a
run configuration can use; a line such as ``ACTIVATIONS["swish"] = Swish`` makes a new one available everywhere.
"""

from nntui.nn.gradcheck import TOLERANCE, GradcheckResult, gradcheck, numerical_gradient, relative_error
from nntui.nn.init import INITIALISERS, init_weights
from nntui.nn.io import load, save
from nntui.nn.layers import (
    ACTIVATIONS,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    activation,
)
from nntui.nn.losses import LOSSES, MSE, BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, loss, sigmoid, softmax
from nntui.nn.model import Sequential, mlp
from nntui.nn.optimizers import OPTIMIZERS, SGD, Adam, Optimizer, RMSProp, optimizer

__all__ = [
    "ACTIVATIONS",
    "INITIALISERS",
    "LOSSES",
    "MSE",
    "OPTIMIZERS",
    "SGD",
    "TOLERANCE",
    "Adam",
    "BinaryCrossEntropy",
    "Dropout",
    "GradcheckResult",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Loss",
    "Optimizer",
    "RMSProp",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "activation",
    "gradcheck",
    "init_weights",
    "load",
    "loss",
    "mlp",
    "numerical_gradient",
    "optimizer",
    "relative_error",
    "save",
    "sigmoid",
    "softmax",
]
