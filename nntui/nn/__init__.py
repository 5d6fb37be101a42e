"""The nntui engine: a neural network written from scratch in NumPy, no autograd.

Read in this order: ``layers.py`` (each layer's forward and backward side by side), ``losses.py``,
``model.py`` (``Sequential``), ``optimizers.py``, ``gradcheck.py``.

    >>> import numpy as np
    >>> from nntui.nn import Linear, ReLU, Sequential, SoftmaxCrossEntropy, SGD
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential([Linear(2, 16, rng=rng), ReLU(), Linear(16, 3, rng=rng)])
"""

from nntui.nn.gradcheck import gradcheck, numerical_gradient, relative_error
from nntui.nn.init import INITIALISERS, init_weights
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
from nntui.nn.losses import LOSSES, MSE, BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from nntui.nn.model import Sequential, mlp
from nntui.nn.optimizers import OPTIMIZERS, SGD, Adam, Optimizer, RMSProp

__all__ = [
    "ACTIVATIONS",
    "INITIALISERS",
    "LOSSES",
    "MSE",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "Dropout",
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
    "mlp",
    "numerical_gradient",
    "relative_error",
]
