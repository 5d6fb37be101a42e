"""Feature columns: standardising them safely and cheaply, and noticing the ones a network cannot learn from.

Standardising shifts and scales each column to mean 0 and standard deviation 1 with statistics of the
training part only. Done naively, `(x - x.mean(0)) / x.std(0)` on a million rows makes several temporary
copies as large as the data, and on values near 1e300 the variance overflows (their squares are 1e600), the
standard deviation becomes infinite and the column silently turns into zeros. Here, instead:

* the statistics are measured in float64 in one pass over blocks of rows, each block's mean and squared
  deviations merged exactly into the running ones; for values so large that their squares would overflow,
  two passes on values shifted to the middle of each column's range and divided by half that range;
* the standardised rows are written straight into the float32 array the network trains on, a block at a
  time: the only arrays as large as the data are the one read from the file and the float32 result.
"""

from __future__ import annotations

import numpy as np

#: Rows handled at a time: large enough for NumPy to run at full speed, small enough to be cheap in memory.
BLOCK_ROWS = 1 << 13

#: Column names that say "I am a row number", compared case-insensitively.
ID_NAMES = frozenset({"id", "index", "idx", "row", "row_id", "rowid", "unnamed: 0"})


class ColumnError(ValueError):
    """A column cannot be used: `column` is its index, the message says why (without naming the file)."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(message)
        self.column = column


class Standardization:
    """Per-column mean and standard deviation of the training rows (float64), and which columns are constant.

    A constant column (one value in every training row) gets standard deviation 1 rather than 0: it carries
    no information, so it is left at 0 instead of being divided by zero.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray, constant: np.ndarray,
                 low: np.ndarray | None = None, high: np.ndarray | None = None) -> None:
        self.mean, self.std, self.constant = mean, std, constant
        #: Smallest and largest value of each column in the training rows (None when not measured).
        self.low, self.high = low, high

    @classmethod
    def identity(cls, n_features: int) -> Standardization:
        return cls(np.zeros(n_features), np.ones(n_features), np.zeros(n_features, dtype=bool))

    @classmethod
    def fit(cls, x: np.ndarray, train_rows: np.ndarray) -> Standardization:
        """Measure the statistics of `x[train_rows]` without copying those rows all at once.

        One pass over blocks of rows, each block's mean and squared deviations combined exactly with the
        running ones (Chan, Golub and LeVeque's pairwise update, as stable as two passes); for values so large
        that their squares overflow (beyond about 1e154), two passes in units of half each column's range.
        """
        is_train = np.zeros(len(x), dtype=bool)
        is_train[train_rows] = True
        blocks = [(start, is_train[start:start + BLOCK_ROWS]) for start in range(0, len(x), BLOCK_ROWS)]

        def training_blocks():
            for start, keep in blocks:
                if keep.any():
                    yield x[start:start + BLOCK_ROWS][keep].astype(np.float64, copy=False)

        with np.errstate(over="ignore", invalid="ignore"):
            low, high, mean, std, n_train = _one_pass(training_blocks(), x.shape[1])
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))):
            mean, std = _two_passes_in_range_units(training_blocks, low, high, n_train)
        constant = low == high
        # A constant column keeps its value as the mean and gets standard deviation 1: it is left at 0.
        return cls(np.where(constant, low, mean), np.where(constant, 1.0, std), constant, low, high)

    def apply(self, x: np.ndarray, rows: np.ndarray | None = None, *, what: str = "",
              dtype: type = np.float32) -> np.ndarray:
        """(x[rows] - mean) / std as a new array (float32 unless `dtype` says otherwise), a block of rows at a
        time (rows None: every row).

        Raises ColumnError when a result does not fit float32 (|value| > 3.4e38): a raw value too large to
        train on unstandardised, or one absurdly many standard deviations from the training mean.
        """
        n_rows = len(x) if rows is None else len(rows)
        out = np.empty((n_rows, x.shape[1]), dtype=dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n_rows, BLOCK_ROWS):
                part = slice(start, start + BLOCK_ROWS)
                block = x[part] if rows is None else x[rows[part]]
                if rows is not None and block.dtype == np.float64:  # a fresh copy already: work in it
                    block = np.subtract(block, self.mean, out=block)
                else:
                    block = np.subtract(block, self.mean, dtype=np.float64)
                np.divide(block, self.std, out=out[part])  # in float64, rounded to float32 once, on the way
        with np.errstate(over="ignore", invalid="ignore"):
            sums_finite = np.all(np.isfinite(out.sum(axis=0)))
        if not sums_finite:  # one cheap pass; the exact check only when it fails
            bad = _non_finite_columns(out)
            if len(bad):
                column = int(bad[0])
                raise ColumnError(column, _overflow_reason(self, column, what))
        return out


def _one_pass(blocks, n_columns: int):
    """(low, high, mean, standard deviation, count) of each column over blocks of rows, in one pass."""
    low, high = np.full(n_columns, np.inf), np.full(n_columns, -np.inf)
    mean, squares, count = np.zeros(n_columns), np.zeros(n_columns), 0
    for block in blocks:
        np.minimum(low, block.min(axis=0), out=low)
        np.maximum(high, block.max(axis=0), out=high)
        block_mean = block.mean(axis=0)
        deviation = block - block_mean
        block_count, total = len(block), count + len(block)
        delta = block_mean - mean
        mean += delta * (block_count / total)
        squares += np.einsum("ij,ij->j", deviation, deviation) + delta ** 2 * (count * block_count / total)
        count = total
    return low, high, mean, np.sqrt(squares / count), count


def _two_passes_in_range_units(blocks, low: np.ndarray, high: np.ndarray, count: int):
    """(mean, standard deviation) for values near the ends of float64: measured in units of half each
    column's range, shifted to its middle, so every number summed or squared lies within [-2, 4]."""
    # Halves first, so neither the middle nor the half range overflows even for values near +-1.8e308.
    middle = low / 2 + high / 2
    half_range = np.where(low == high, 1.0, high / 2 - low / 2)
    total = np.zeros(len(low))
    for block in blocks():
        total += ((block - middle) / half_range).sum(axis=0)
    shifted_mean = total / count
    squares = np.zeros(len(low))
    for block in blocks():
        deviation = block - middle
        deviation /= half_range
        deviation -= shifted_mean
        squares += np.einsum("ij,ij->j", deviation, deviation)
    return middle + shifted_mean * half_range, np.sqrt(squares / count) * half_range


def _overflow_reason(standardization: Standardization, column: int, what: str) -> str:
    if standardization.std[column] == 1.0 and standardization.mean[column] == 0.0:
        return (f"has values beyond float32's range (about 3.4e38){what}; rescale the column, or let nntui "
                "standardise it")
    return (f"has a value more than 3.4e38 standard deviations from its training mean{what}, so it cannot be "
            "standardised; rescale the column or remove that row")


def _non_finite_columns(out: np.ndarray) -> np.ndarray:
    """Indices of the columns holding NaN or infinity (from column minima and maxima, no big temporary)."""
    if out.size == 0:
        return np.array([], dtype=np.int64)
    return np.flatnonzero(~(np.isfinite(out.min(axis=0)) & np.isfinite(out.max(axis=0))))


def column_warnings(x: np.ndarray, names: list[str], standardization: Standardization) -> list[str]:
    """Lines about columns a network cannot learn from: constant ones and row numbers (IDs)."""
    lines = [
        f"column '{names[j]}' has the same value ({standardization.mean[j]:g}) in every training row; it "
        "carries no information (it is left at 0)"
        for j in np.flatnonzero(standardization.constant)
    ]
    for j in id_like_columns(x, names, standardization):
        low, high = x[:, j].min(), x[:, j].max()
        lines.append(
            f"column '{names[j]}' looks like a row number or ID (whole numbers {low:g} to {high:g}, each "
            "once); a network can only memorise it, not learn from it: leave it out of the file"
        )
    return lines


def id_like_columns(x: np.ndarray, names: list[str],
                    standardization: Standardization | None = None) -> list[int]:
    """Columns of distinct whole numbers that form a run (0..n-1, say), or that are named like an ID.

    A cheap test first, from the training rows' range when `standardization` measured it: a run of n numbers
    spans n - 1, so a column spanning more or much less cannot be one. Only the columns that pass it (or have
    an ID's name) are sorted to check the rest.
    """
    n_rows = len(x)
    if n_rows < 10:
        return []
    with np.errstate(over="ignore"):  # a span beyond float64 is inf, and no run of rows
        if standardization is not None and standardization.low is not None:
            span = standardization.high - standardization.low
        else:
            span = x.max(axis=0).astype(np.float64) - x.min(axis=0)
    n_train_at_least = n_rows // 2  # the training part holds most rows, so its span is most of the run's
    candidates = [
        j for j in range(x.shape[1])
        if n_train_at_least - 1 <= span[j] <= n_rows - 1 or names[j].strip().lower() in ID_NAMES
    ]
    found = []
    for j in candidates:
        column = np.asarray(x[:, j])
        named_like_an_id = names[j].strip().lower() in ID_NAMES
        if float(column.max()) / 2 - float(column.min()) / 2 >= n_rows / 2 and not named_like_an_id:
            continue
        if np.all(column == np.round(column)) and len(np.unique(column)) == n_rows:
            found.append(j)
    return found
