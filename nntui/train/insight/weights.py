"""The matrices behind the weights view: a Linear layer's W, its gradient dL/dW and its last update.

Everything is read straight from the session's model, so the picture cannot disagree with what trains:
``W = layer.params["W"]`` (shape ``(in_features, out_features)``), ``dL/dW = layer.grads["W"]`` (written by the last
backward pass: ``x^T @ dL/dy``) and the last measured update ``W_after - W_before`` that the session keeps in
``last_updates``. A terminal cannot show a 64x128 matrix cell by cell, so ``downsample`` shrinks it by averaging
blocks of neighbouring numbers.
"""

from __future__ import annotations

import math

import numpy as np

from nntui.nn import Linear


def linear_layers(session) -> list[int]:
    """Positions in ``session.model.layers`` of the Linear layers, input side first."""
    return [i for i, layer in enumerate(session.model.layers) if isinstance(layer, Linear)]


def layer_matrices(session, linear_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(W, dL/dW, last update or None)`` of the Linear layer at ``session.model.layers[linear_index]``.

    The arrays are the model's own (not copies): training writes into them, so copy what must stay fixed.
    The update is None until a step has been measured (the session measures the steps it publishes).
    """
    layer = session.model.layers[linear_index]
    if not isinstance(layer, Linear):
        raise TypeError(f"layer {linear_index} is a {type(layer).__name__}, not a Linear layer")
    return layer.params["W"], layer.grads["W"], session.last_updates.get(linear_index)


def downsample(matrix: np.ndarray, max_rows: int, max_cols: int) -> tuple[np.ndarray, int, int]:
    """Shrink ``matrix`` to at most ``max_rows x max_cols`` by averaging blocks; ``(small, factor_rows, factor_cols)``.

    Each output cell is the mean of a ``factor_rows x factor_cols`` block of the input (the last block of a row or
    column may be smaller when the size is not a multiple of the factor). When the matrix already fits, the factors
    are 1 and the result is an exact (float64) copy. A block holding a NaN averages to NaN.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"downsample needs a 2-D matrix, got shape {matrix.shape}")
    rows, cols = matrix.shape
    factor_rows = max(1, math.ceil(rows / max(1, max_rows)))
    factor_cols = max(1, math.ceil(cols / max(1, max_cols)))
    if factor_rows == 1 and factor_cols == 1:
        return matrix.copy(), 1, 1
    if matrix.size == 0:
        return np.zeros((math.ceil(rows / factor_rows), math.ceil(cols / factor_cols))), factor_rows, factor_cols
    row_starts = np.arange(0, rows, factor_rows)
    col_starts = np.arange(0, cols, factor_cols)
    # Sum each block with reduceat along both axes, then divide by how many numbers the block holds.
    sums = np.add.reduceat(np.add.reduceat(matrix, row_starts, axis=0), col_starts, axis=1)
    block_rows = np.diff(np.append(row_starts, rows))
    block_cols = np.diff(np.append(col_starts, cols))
    return sums / np.outer(block_rows, block_cols), factor_rows, factor_cols


__all__ = ["downsample", "layer_matrices", "linear_layers"]
