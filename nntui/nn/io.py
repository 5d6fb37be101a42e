"""Save a model to one ``.npz`` file and load it back: the architecture as text, the weights as arrays.

The file holds no pickled objects, so it loads with ``numpy.load(path, allow_pickle=False)``: opening a file
from someone else runs none of their code. The architecture is a JSON list of ``{"type": ..., "config": ...}``,
one entry per layer, built from each layer's ``config()``; the weights are stored under their names in the model
(``"0.W"``, ``"0.b"`` ...). A layer class is found by its name among ``Linear``, ``Dropout`` and the registered
activations (``ACTIVATIONS``), so a custom activation saves and loads once it is registered. Loading builds each
Linear layer around its saved arrays (``Linear.from_weights``): nothing is drawn at random only to be overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from nntui.nn.layers import ACTIVATIONS, Dropout, Layer, Linear
from nntui.nn.model import Sequential

FORMAT = "nntui-model"
VERSION = 1


def _layer_classes() -> dict[str, type[Layer]]:
    """Every class ``load`` can rebuild, by class name (read afresh: activations may be registered later)."""
    return {cls.__name__: cls for cls in (Linear, Dropout, *ACTIVATIONS.values())}


def save(model: Sequential, path: str | os.PathLike) -> Path:
    """Write ``model`` (architecture and weights) to ``path``; ``.npz`` is added when missing. Returns the path."""
    known = _layer_classes()
    architecture = []
    for index, layer in enumerate(model.layers):
        name = type(layer).__name__
        if known.get(name) is not type(layer):
            raise ValueError(f"layer {index} {layer!r} cannot be saved: {name} is not a registered layer "
                             f"(register an activation with nntui.nn.ACTIVATIONS[name] = {name})")
        architecture.append({"type": name, "config": layer.config()})
    header = {"format": FORMAT, "version": VERSION, "dtype": str(model.dtype), "layers": architecture}
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    np.savez(path, __model__=np.array(json.dumps(header)), **model.state_dict())
    return path


def load(path: str | os.PathLike) -> Sequential:
    """The ``Sequential`` saved in ``path`` by ``save``, with its weights (dropout draws from a fresh generator)."""
    with np.load(path, allow_pickle=False) as archive:
        if "__model__" not in archive:
            raise ValueError(f"{path} is not a model saved by nntui.nn.save (no architecture in it)")
        header = json.loads(str(archive["__model__"]))
        weights = {name: archive[name] for name in archive.files if name != "__model__"}
    if header.get("format") != FORMAT or header.get("version", 0) > VERSION:
        raise ValueError(f"{path} holds {header.get('format')} version {header.get('version')}; this nntui "
                         f"reads {FORMAT} up to version {VERSION}")
    known = _layer_classes()
    layers = []
    for index, entry in enumerate(header["layers"]):
        cls = known.get(entry["type"])
        if cls is None:
            raise ValueError(f"{path}: layer {index} is a {entry['type']}, which is not registered here "
                             "(register it in nntui.nn.ACTIVATIONS before loading)")
        layers.append(_rebuild(cls, entry["config"], index, weights, path))
    model = Sequential(layers)
    unused = sorted(set(weights) - {name for name, _param, _grad in model.parameters()})
    if unused:
        raise ValueError(f"{path}: the arrays {', '.join(unused)} belong to no layer of its architecture")
    if model.dtype != np.dtype(header["dtype"]):
        raise ValueError(f"{path}: the header says {header['dtype']} but the weights are {model.dtype}")
    return model


def _rebuild(cls: type[Layer], config: dict, index: int, weights: dict[str, np.ndarray], path) -> Layer:
    """Layer ``index`` of a saved model, built around its saved arrays (``"{index}.W"``, ...): no weight is
    drawn at random only to be overwritten."""
    def saved(key: str) -> np.ndarray:
        if f"{index}.{key}" not in weights:
            raise ValueError(f"{path}: layer {index} {cls.__name__}({config}) has no saved {index}.{key}")
        return weights[f"{index}.{key}"]

    if cls is Linear:
        layer = Linear.from_weights(saved("W"), saved("b"))
        if layer.config() != config:
            raise ValueError(f"{path}: layer {index} is Linear({config}) but its saved weights make {layer!r}")
        return layer
    layer = cls(**config)  # Dropout and the activations hold no weights (a registered layer might: filled in)
    for key, param in layer.params.items():
        array = saved(key)
        if array.shape != param.shape:
            raise ValueError(f"{path}: {index}.{key} has shape {array.shape}; {layer!r} needs {param.shape}")
        param[...] = array
    return layer
