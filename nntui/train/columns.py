"""Feature columns: standardising them safely and cheaply, and noticing the ones a network cannot learn from.

Standardising shifts and scales each column to mean 0 and standard deviation 1 with statistics of the
training part only. Done naively, `(x - x.mean(0)) / x.std(0)` on a million rows makes several temporary
copies as large as the data, and on values near 1e300 the variance overflows (their squares are 1e600), the
standard deviation becomes infinite and the column silently turns into zeros. Here, instead:

* the statistics are measured in float64 in one pass over blocks of rows, each block's mean and squared
  deviations merged exactly into the running ones; for values so large (or spread so little) that their
  squares would overflow (or underflow), two passes on values shifted to the middle of each column's range
  and divided by half that range;
* the standardised rows are written straight into the float32 array the network trains on, a block at a
  time: the only arrays as large as the data are the one read from the file and the float32 result; and
  when the one read is the caller's to throw away (a CSV table), the result is written over it
  (`Standardization.split_in_place`).

A block is small enough to stay in the processor's cache while the several passes over it run, and it is
worked on "folded": NumPy reduces a (rows, 20) array down its columns, or subtracts a row of 20 from each
row, 20 numbers at a time, which is 4-6 times slower than the same work on rows of 64 x 20 numbers. So a
block's rows are viewed FOLD at a time as one long row, and the row of statistics is repeated to match.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Rows handled at a time, at most: large enough for NumPy to run at full speed, small enough to be cheap in
#: memory and to stay in cache (wide rows get fewer, see `_block_rows`). A multiple of FOLD.
BLOCK_ROWS = 1 << 12

#: From this many rows on, `Standardization.apply` works on two halves at once, one in a helper thread. Rows
#: taken in shuffled order from an array larger than the processor's caches wait on memory, which two threads
#: do side by side (NumPy lets go of the interpreter lock while it copies them): 800k + 200k rows x 20 took
#: 98 ms in one thread and 62 ms in two; 300k rows 22 and 20 ms; at 100k a thread gains nothing.
PARALLEL_FROM_ROWS = 1 << 17

#: From this many rows on, `Standardization.fit` has the next rows gathered in a helper thread while it measures
#: the ones before (see `_row_blocks`): 800k rows x 20 took 54 ms in one thread and 43 ms with the helper
#: (47 against 62 in a fresh process), 560k 38 and 34 ms; at 240k the helper costs more than it saves.
PIPELINE_FROM_ROWS = 1 << 19

#: Blocks the helper gathers at a time: 8 of 3264 rows x 20 are 4 MB (16 were slower, and 4).
CHUNK_BLOCKS = 8

#: Rows viewed as one when a block is worked on (see the module doc).
FOLD = 64

#: Bytes of float64 rows a block aims at (it stays in a core's cache through the passes over it).
_BLOCK_BYTES = 1 << 19

#: A standard deviation below this was measured from squares under float64's smallest normal number.
_SQUARES_UNDERFLOW = np.sqrt(np.finfo(np.float64).tiny)

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
        that their squares overflow (beyond about 1e154) or spread so little that they underflow (below about
        1e-154), two passes in units of half each column's range.
        """
        is_train = np.zeros(len(x), dtype=bool)
        is_train[train_rows] = True
        rows = np.flatnonzero(is_train)  # in order: read front to back
        size = _block_rows(x.shape[1], len(rows))

        def training_blocks():
            return _row_blocks(x, rows, size)

        with np.errstate(over="ignore", invalid="ignore"):  # (NaN or infinity in x: the caller's to refuse)
            low, high, mean, std, n_train = _one_pass(training_blocks(), x.shape[1])
            # Squares beyond float64 (deviations over ~1e154) overflow; below its normal numbers (deviations
            # under ~1e-154) they lose their digits or vanish, and the spread of a varying column reads 0.
            tiny = (std < _SQUARES_UNDERFLOW) & (low != high)
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std))) or np.any(tiny):
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
        step = self._step()
        if n_rows < PARALLEL_FROM_ROWS or _usable_cpus() < 2:
            suspect = _standardise_rows(x, rows, out, 0, n_rows, step)
        else:  # each half of the rows in a thread of its own (NumPy lets go of the interpreter lock meanwhile)
            middle = n_rows // 2 // FOLD * FOLD
            with ThreadPoolExecutor(1, thread_name_prefix="standardise") as helper:
                second_half = helper.submit(_standardise_rows, x, rows, out, middle, n_rows, step)
                suspect = _standardise_rows(x, rows, out, 0, middle, step)
                suspect = second_half.result() or suspect
        if suspect:
            self._refuse_non_finite(out, what)
        return out

    def split_in_place(self, x: np.ndarray, train_rows: np.ndarray,
                       val_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(x[train_rows], x[val_rows]) standardised, as `apply` gives them, but written over x's own memory,
        which is then given back down to theirs: no new memory as large as the data. None (and x unchanged)
        when x's memory cannot hold them so.

        For an x that is the caller's to throw away (a table just read from a CSV file): afterwards x holds
        other numbers. Every row is a train or a val row. Three steps:
        1. every row standardised in file order and packed as float32 at the start of x's memory; a row's result
           takes half its numbers' bytes or less, so it never reaches a row not yet read;
        2. the training rows, then the validation rows, gathered from those into the memory after them;
        3. both moved to the start, and the memory beyond given back.
        Raises ColumnError as `apply` does (x is spoilt by then).
        """
        owner = _owner(x)
        n, n_columns = x.shape
        row_bytes = 4 * n_columns  # a float32 row
        if (owner is None or not x.flags.writeable or x.dtype != np.float64 or x.strides[1] != x.itemsize
                or x.strides[0] < 2 * row_bytes
                or owner.nbytes < 2 * row_bytes * n or len(train_rows) + len(val_rows) != n):
            return None
        memory = owner.reshape(-1).view(np.uint8)
        packed = memory[: row_bytes * n].view(np.float32).reshape(n, n_columns)
        # One thread: a second one's rows would be packed over rows the first has not read yet.
        suspect = _standardise_rows(x, None, packed, 0, n, self._step())
        parts = memory[row_bytes * n: 2 * row_bytes * n].view(np.float32).reshape(n, n_columns)
        n_train = len(train_rows)
        np.take(packed, train_rows, axis=0, out=parts[:n_train], mode="clip")
        np.take(packed, val_rows, axis=0, out=parts[n_train:], mode="clip")
        if suspect:
            self._refuse_non_finite(parts[:n_train], " in the training part")
            self._refuse_non_finite(parts[n_train:], " in the validation part")
        packed[...] = parts
        del memory, packed, parts, x  # views of owner, about to be resized
        owner_row_bytes = owner.nbytes // max(len(owner), 1)
        owner.resize((-(-row_bytes * n // owner_row_bytes), *owner.shape[1:]), refcheck=False)
        standardised = owner.reshape(-1).view(np.uint8)[: row_bytes * n].view(np.float32).reshape(n, n_columns)
        return standardised[:n_train], standardised[n_train:]

    def _step(self):
        """(mean, scaling ufunc, scale) for `_standardise_rows`, each row of statistics `_repeated`.

        Times 1 / std rather than divided by std: division is the slowest arithmetic there is, and the
        float64 product is within an ulp of the quotient, so the float32 result is the same but for a value
        within a float64 ulp of halfway between two float32 numbers. (A standard deviation below 5.6e-309 has
        no float64 reciprocal: then it is divided by.)
        """
        with np.errstate(divide="ignore", over="ignore"):
            reciprocal = 1.0 / self.std
        scaling, scale = (np.multiply, reciprocal) if np.all(np.isfinite(reciprocal)) else (np.divide, self.std)
        return _repeated(self.mean), scaling, _repeated(scale)

    def _refuse_non_finite(self, out: np.ndarray, what: str) -> None:
        """Raise ColumnError naming the first column of `out` that holds NaN or infinity, if one does."""
        bad = _non_finite_columns(out)
        if len(bad):
            column = int(bad[0])
            raise ColumnError(column, _overflow_reason(self, column, what))


def _row_blocks(x: np.ndarray, rows: np.ndarray, size: int):
    """x[rows], `size` rows at a time (the last block may be shorter), C-contiguous; each block is valid until
    the next one is asked for.

    From PIPELINE_FROM_ROWS rows on, a helper thread gathers the next CHUNK_BLOCKS blocks while the caller
    works on these: gathering (NumPy lets go of the interpreter lock meanwhile) is about half of measuring a
    block of rows taken from an array larger than the processor's caches.
    """
    if len(rows) < PIPELINE_FROM_ROWS or _usable_cpus() < 2:
        buffer = np.empty((min(size, len(rows)), x.shape[1]), dtype=x.dtype)
        for start in range(0, len(rows), size):
            part = rows[start:start + size]
            yield _gather(x, part, buffer[: len(part)])
        return
    chunk = size * CHUNK_BLOCKS
    starts = range(0, len(rows), chunk)
    buffers = [np.empty((chunk, x.shape[1]), dtype=x.dtype) for _ in range(2)]  # one filled, one worked on

    def gather(k: int) -> np.ndarray:
        part = rows[starts[k]:starts[k] + chunk]
        return _gather(x, part, buffers[k % 2][: len(part)])

    with ThreadPoolExecutor(1, thread_name_prefix="gather") as helper:
        coming = helper.submit(gather, 0)
        for k in range(len(starts)):
            gathered = coming.result()
            if k + 1 < len(starts):
                coming = helper.submit(gather, k + 1)
            for first in range(0, len(gathered), size):
                yield gathered[first:first + size]


def _standardise_rows(x: np.ndarray, rows: np.ndarray | None, out: np.ndarray, start: int, stop: int,
                      step) -> bool:
    """Write rows start:stop of the standardised x[rows] (x when rows is None) into out, a block at a time.

    step is (mean, scaling ufunc, scale), each row of statistics `_repeated`. Returns whether a result may
    not be finite: a block's sum is not (NaN and infinity survive a sum; a finite sum too large for out's
    type only costs the caller an exact check).
    """
    mean, scaling, scale = step
    size = _block_rows(x.shape[1], stop - start)
    shape = (min(size, stop - start), x.shape[1])
    gathered = None if rows is None else np.empty(shape, dtype=x.dtype)
    # The deviations, in float64: in the gathered rows when they are float64 (a copy already), else apart.
    scratch = gathered if gathered is not None and x.dtype == np.float64 else np.empty(shape)
    suspect = False
    with np.errstate(over="ignore", invalid="ignore"):  # (per thread)
        for first in range(start, stop, size):
            part = slice(first, min(first + size, stop))
            if rows is None:
                block = np.ascontiguousarray(x[part])
            else:
                block = _gather(x, rows[part], gathered[: len(rows[part])])
            deviation = _rowwise(np.subtract, block, mean, scratch[: len(block)])  # in float64
            _rowwise(scaling, deviation, scale, deviation)
            out[part] = deviation  # rounded to float32 once (a cast of its own is faster than a mixed ufunc)
            suspect = suspect or not np.all(np.isfinite(_column_reduce(np.add, out[part], dtype=out.dtype)))
    return suspect


def _owner(x: np.ndarray) -> np.ndarray | None:
    """The array that owns x's memory, when it is a plain, writable, C-contiguous NumPy array; else None."""
    owner = x
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.base is not None or not (owner.flags.owndata and owner.flags.c_contiguous and owner.flags.writeable):
        return None
    return owner if type(owner) is np.ndarray else None


def _usable_cpus() -> int:
    """Processors this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _one_pass(blocks, n_columns: int):
    """(low, high, mean, standard deviation, count) of each column over blocks of rows, in one pass.

    Each block: its mean roughly (a sum of large numbers rounds), the deviations from that, and from their
    mean the rough mean's error. The blocks' means are merged relative to the first one's, so that on a
    column such as 1e9 + noise the differences between blocks are not lost to rounding either.
    """
    low, high = np.full(n_columns, np.inf), np.full(n_columns, -np.inf)
    mean, squares, count = np.zeros(n_columns), np.zeros(n_columns), 0
    origin = scratch = None
    for block in blocks:
        np.minimum(low, _column_reduce(np.minimum, block), out=low)
        np.maximum(high, _column_reduce(np.maximum, block), out=high)
        rough = _column_reduce(np.add, block) / len(block)
        if scratch is None or len(scratch) < len(block):
            scratch = np.empty(block.shape)
        deviation = _rowwise(np.subtract, block, _repeated(rough), scratch[: len(block)])  # (in float64)
        correction = _column_reduce(np.add, deviation) / len(block)
        origin = rough if origin is None else origin
        block_mean = (rough - origin) + correction  # relative to the first block's rough mean
        block_squares = _column_squares(deviation) - len(block) * correction ** 2
        block_count, total = len(block), count + len(block)
        delta = block_mean - mean
        mean += delta * (block_count / total)
        squares += block_squares + delta ** 2 * (count * block_count / total)
        count = total
    return low, high, origin + mean, np.sqrt(np.maximum(squares, 0.0) / count), count


def _gather(x: np.ndarray, rows: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """x[rows] (C-contiguous), into `buffer` when x's rows are contiguous.

    np.take would copy all of an x with gaps between its rows first. On an x not aligned in memory (a
    memory-mapped .npz member) taking numbers is ten times slower than on an aligned one, and fancy indexing
    twice as slow; on one with gaps between its rows (the features of a CSV table, beside its label) fancy
    indexing is a third slower. There each row is taken as one block of raw bytes.
    """
    if x.flags.c_contiguous and x.flags.aligned:
        return np.take(x, rows, axis=0, out=buffer, mode="clip")
    if x.strides[1] != x.itemsize:
        return x[rows]
    row = np.dtype((np.void, x.shape[1] * x.itemsize))
    if x.flags.c_contiguous:
        np.take(x.view(row).reshape(-1), rows, out=buffer.view(row).reshape(-1), mode="clip")
        return buffer
    return x.view(row)[:, 0][rows].view(x.dtype).reshape(len(rows), x.shape[1])


def _block_rows(n_columns: int, n_rows: int) -> int:
    """Rows per block for n_rows rows of n_columns: BLOCK_ROWS, or fewer for wide rows, and about an eighth
    of the rows for few of them (a block's buffers are new memory, which costs more to touch first than a
    small load's arithmetic); a multiple of FOLD."""
    rows = min(BLOCK_ROWS, _BLOCK_BYTES // (8 * max(n_columns, 1)), max(4 * FOLD, n_rows // 8))
    return max(FOLD, rows // FOLD * FOLD)


def _column_reduce(ufunc: np.ufunc, block: np.ndarray, dtype: np.typing.DTypeLike = None) -> np.ndarray:
    """`ufunc.reduce(block, axis=0)`, its rows folded FOLD at a time first (np.add sums in float64 unless
    `dtype` says otherwise).

    Its rows beyond the last whole fold are reduced on their own.
    """
    n_rows, n_columns = block.shape
    whole = n_rows - n_rows % FOLD
    if dtype is None and ufunc is np.add:
        dtype = np.float64
    result = None
    if whole:
        folded = ufunc.reduce(block[:whole].reshape(-1, FOLD * n_columns), axis=0, dtype=dtype)
        result = ufunc.reduce(folded.reshape(FOLD, n_columns), axis=0)
    if whole < n_rows:
        rest = ufunc.reduce(block[whole:], axis=0, dtype=dtype)
        result = rest if result is None else ufunc(result, rest)
    return result


def column_sums(block: np.ndarray) -> np.ndarray:
    """The sum of each column of a block of rows, in float64 (a (rows, columns) sum done fast)."""
    return _column_reduce(np.add, block)


def _column_squares(block: np.ndarray) -> np.ndarray:
    """The sum of squares of each column of a float64 block (folded like `_column_reduce`)."""
    n_rows, n_columns = block.shape
    whole = n_rows - n_rows % FOLD
    folded = block[:whole].reshape(-1, FOLD * n_columns)
    total = np.einsum("ij,ij->j", folded, folded).reshape(FOLD, n_columns).sum(axis=0)
    rest = block[whole:]
    return total + np.einsum("ij,ij->j", rest, rest)


def _repeated(row: np.ndarray) -> np.ndarray:
    """A row of statistics repeated FOLD times, to meet a block's folded rows."""
    return np.tile(row, FOLD)


def _rowwise(ufunc: np.ufunc, block: np.ndarray, repeated_row: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`ufunc(block, row, out=out)` for each row of the block, with the row given `_repeated`; returns out
    (which must be C-contiguous: its folded view is written)."""
    assert out.flags.c_contiguous
    n_rows, n_columns = block.shape
    whole = n_rows - n_rows % FOLD
    if whole:
        ufunc(block[:whole].reshape(-1, FOLD * n_columns), repeated_row,
              out=out[:whole].reshape(-1, FOLD * n_columns))
    if whole < n_rows:
        ufunc(block[whole:], repeated_row[:n_columns], out=out[whole:])
    return out


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
