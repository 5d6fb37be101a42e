"""How layers are numbered for people, the same way on every tab.

A network here is a stack of Linear layers, each followed by its activation (and dropout): people count the
Linear layers from the input, so "layer 1" is the first set of weights and the last number is the output layer.
An activation carries the number of the Linear layer before it ("layer 2 · ReLU" is layer 2's activation).
The Model tab, the Train tab's side panes, the Gradients and Health tables, the gradient chart, the Weights and
the Math views all number layers through this module; ``model.layers`` positions (0, 1, 2, ... counting
activations) stay inside the code.
"""

from __future__ import annotations

from collections.abc import Sequence

from nntui.nn.layers import Linear

FIRST = 1  # the layer nearest the input


def linear_number(position: int) -> int:
    """The number of the ``position``-th Linear layer (0 = nearest the input)."""
    return FIRST + position


def layer_numbers(layers: Sequence) -> list[int]:
    """For each entry of ``model.layers``, the number of the Linear layer it belongs to.

    A layer before the first Linear one (there is none in nntui's networks) counts as part of layer 1.
    """
    numbers, position = [], -1
    for layer in layers:
        if isinstance(layer, Linear):
            position += 1
        numbers.append(linear_number(max(position, 0)))
    return numbers


def stats_label(position: int, stats) -> str:
    """A row label for the ``position``-th layer's ``LayerStats``: "1 2->64 relu", "3 64->3".

    ``stats.name`` is the session's "<model index> <in>-><out> [activation]"; its shape and activation are kept,
    its model index is replaced by the number people see.
    """
    _index, _space, rest = stats.name.partition(" ")
    return f"{linear_number(position)} {rest}".rstrip()


__all__ = ["FIRST", "layer_numbers", "linear_number", "stats_label"]
