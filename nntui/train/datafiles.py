"""Your own data: reading CSV and NPZ files into a `Table` of features and labels.

A CSV file is read twice over, in spirit: a **fast path** hands the file to NumPy's C reader (`np.loadtxt`,
one pass, no Python per cell) and checks the result with whole-array operations; when anything is off (a word
where a number belongs, a missing value, a ragged row, a number Python reads but NumPy does not), the
**careful path** reads the file again with the `csv` module, row by row, and either names the first problem,
line and column, or returns the table. A good file never pays for the careful path; a bad file always gets
its one clear sentence. The two paths are independent readers of the same rules, and the tests hold them to
the same answers.

The rules of a CSV file (see the README, "Your own data"):

* UTF-8 text (a byte order mark is fine), lines ending in LF or CRLF, blank lines skipped anywhere;
* a header row naming every column, names unique;
* columns separated by commas, semicolons or tabs (found from the header row); cells may be quoted ("...");
* one label (target) column, the last or the one named by `target`; every other column holds numbers;
* no missing values: an empty cell or one of MISSING_MARKERS is refused with its line and column.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import struct
import warnings
import zipfile
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from nntui.train.columns import BLOCK_ROWS, column_sums
from nntui.train.progress import report

#: Share of a whole load (reading, splitting, standardising) that reading the file takes, for progress.
READ_SHARE = 0.8

TASKS = ("classification", "regression")

# Cell values that people (and spreadsheets) write for "no value here". Compared case-insensitively.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})

#: Column separators a CSV file may use, in the order they are preferred when a header fits several.
SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs"}

#: Bytes of a CSV file given to NumPy's reader at a time: 1-3 ms of its work, during which it holds the
#: interpreter lock (see `_loadtxt_blocks`). The app's event loop takes the lock several times to answer one
#: key, waiting up to a block each time: with 1 MB blocks a key waited up to 40 ms, with these under 10 ms.
READ_BLOCK_BYTES = 1 << 18

#: How much of a file the separator sniffer and the label sniffer look at.
_SNIFF_BYTES = 1 << 16


class DataError(ValueError):
    """A dataset could not be made; the message says what is wrong and how to fix it."""


class Table(NamedTuple):
    """Everything read from one source, before it is split.

    x: (n_samples, n_features) numbers as read (float64 from a CSV file, the archive's dtype from an NPZ
    file; not yet standardised). y: int64 class indices (n,) or float64 targets (n, n_targets).
    `output_names` names what the network outputs: the classes, or for regression the target columns.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    output_names: list[str]
    image_shape: tuple[int, int] | None = None
    #: Where the labels came from: the CSV column's name, "y" for an NPZ file, "label" for built-in data.
    target_name: str = "label"
    #: x is new memory that nothing else holds (read from a CSV file just now): its holder may write over it.
    x_is_fresh: bool = False

    def class_names_or_none(self, task: str) -> list[str] | None:
        return self.output_names if task == "classification" else None


def load_csv(
    path: str | Path, *, target: str | None = None, task: str = "classification"
) -> tuple[np.ndarray, np.ndarray, list[str], list[str] | None]:
    """Read a CSV file with a header row: numeric feature columns and one label (target) column.

    The label column is the one named `target`, or the last column when `target` is None. Every other
    column is a feature and must hold numbers. For `task="classification"` the labels may be words or whole
    numbers; each distinct label becomes a class 0..k-1 in sorted order (numbers sorted by value), and
    `class_names` lists the original labels as strings. For `task="regression"` the labels must be numbers;
    y comes back as float64 of shape (n, 1) and `class_names` is None.

    Returns (x float64 (n, n_features), y, feature_names, class_names).
    """
    table = read_csv(path, target=target, task=task)
    return table.x, table.y, table.feature_names, table.class_names_or_none(task)


def load_npz(
    path: str | Path, *, task: str = "classification"
) -> tuple[np.ndarray, np.ndarray, list[str], list[str] | None]:
    """Read a NumPy .npz archive holding an array `x` (samples first) and an array `y` of labels or targets.

    Save one with `np.savez("mine.npz", x=features, y=labels)`. `x` is (n, n_features); images such as
    (n, 8, 8) are flattened row by row to (n, 64). `y` is (n,) or (n, 1); for regression it may also be
    (n, n_targets). Labels become classes as in `load_csv`. Feature names are x0, x1, ...

    Returns (x float64 (n, n_features), y, feature_names, class_names).
    """
    table = read_npz(path, task=task)
    return np.array(table.x, dtype=np.float64), table.y, table.feature_names, table.class_names_or_none(task)


def check_task(task: str) -> None:
    if task not in TASKS:
        raise DataError(f"task must be 'classification' or 'regression', got {task!r}")


def existing_file(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file; give the path of a .csv or .npz file")
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    return path


# ---------------------------------------------------------------------------------------------------------
# CSV: the layout (separator, header) and the two readers
# ---------------------------------------------------------------------------------------------------------


class CsvLayout(NamedTuple):
    """What the first lines of a CSV file say: its separator, its header and the line the header is on."""

    separator: str
    header: list[str]
    header_line: int  # 1-based line number of the header row
    sample_rows: list[list[str]]  # the first data rows (cells stripped), to guess what the columns hold


def read_csv(path: str | Path, *, target: str | None, task: str) -> Table:
    """The work of `load_csv`: the fast path when it can, else the careful path (see the module docstring)."""
    check_task(task)
    path = existing_file(path)
    where = f"CSV file '{path}'"
    layout = sniff_csv(path, where)
    target_index = _target_index(layout.header, target, where)
    table = _read_csv_fast(path, layout, target_index, task, max_rows=_rows_before_blank_tail(path, layout))
    if table is None:
        table = read_csv_careful(path, layout, target_index, task, where)
    return table._replace(target_name=layout.header[target_index], x_is_fresh=True)


def sniff_csv(path: Path, where: str, *, labelled: bool = True) -> CsvLayout:
    """Find the separator and read and check the header row (the first row that is not blank)."""
    with open(path, "rb") as file:
        head = file.read(_SNIFF_BYTES)
        while b"\n" not in head.lstrip() and len(head) % _SNIFF_BYTES == 0 and head:  # a very wide header
            more = file.read(_SNIFF_BYTES)
            if not more:
                break
            head += more
    if not head.strip():
        raise DataError(
            f"{where} is empty; it needs a header row naming the columns, then one row per sample"
        )
    # Cut at the last whole line, unless the file is shorter than what was read.
    if len(head) % _SNIFF_BYTES == 0 and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text; save it as CSV (UTF-8) and try again") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    separator = _guess_separator(lines)
    try:  # the header and up to 100 rows below it
        numbered = ((n, row) for n, row in _numbered_rows(lines, separator) if not _is_blank(row))
        rows = list(itertools.islice(numbered, 101))
    except csv.Error as error:
        raise DataError(f"{where} could not be read as CSV ({error}); check its quoting") from None
    if not rows:
        raise DataError(
            f"{where} has only blank rows at its start; it needs a header row naming the columns, then one "
            "row per sample"
        )
    header_line, header = rows[0]
    _check_header(header, where, separator, min_columns=2 if labelled else 1)
    return CsvLayout(separator, header, header_line, [row for _, row in rows[1:101]])


def _guess_separator(lines: list[str]) -> str:
    """The separator that splits the header row into the most columns, preferring one the first data row
    agrees with (so "1,5;2" under "a;b" is read with ';'); ',' when none splits the header at all."""
    choices = []
    for order, separator in enumerate(SEPARATORS):
        try:
            rows = [row for _, row in _numbered_rows(lines[:50], separator) if not _is_blank(row)]
        except csv.Error:  # a "field" over 128 kB: a long line this separator does not split
            continue
        columns = len(rows[0]) if rows else 0
        agrees = len(rows) < 2 or len(rows[1]) == columns
        if columns >= 2:
            choices.append((agrees, columns, -order, separator))
    return max(choices)[-1] if choices else ","


def _numbered_rows(lines, separator: str):
    """(line number, stripped cells) for each row of a list of lines (no quoted line breaks expected here)."""
    for number, row in enumerate(csv.reader(lines, delimiter=separator), start=1):
        yield number, [cell.strip() for cell in row]


def _is_blank(row: list[str]) -> bool:
    """An empty line, or one holding only separators and spaces (spreadsheets export empty rows as ',,,')."""
    return all(cell == "" for cell in row)


def _check_header(header: list[str], where: str, separator: str, min_columns: int = 2) -> None:
    if all(_parse_float(name) is not None for name in header):
        raise DataError(
            f"{where} starts with a row of numbers; add a header row naming the columns "
            "(for example x1,x2,label) as its first line"
        )
    if len(header) < min_columns:
        hint = "; columns must be separated by commas, semicolons or tabs"
        if " " in header[0].strip():
            hint = " (its header looks separated by spaces)" + hint
        raise DataError(
            f"{where} has a single column{hint}; it needs at least one feature column and a label column"
        )
    if any(name == "" for name in header):
        raise DataError(
            f"{where} has a column with an empty name in its header row; give every column a name"
        )
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise DataError(
            f"{where} has more than one column named {', '.join(map(repr, duplicates))}; rename them "
            "(columns are matched by name, for prediction too)"
        )


def _target_index(header: list[str], target: str | None, where: str) -> int:
    if target is None:
        return len(header) - 1
    if target not in header:
        raise DataError(f"{where} has no column named '{target}'; columns are: {', '.join(header)}")
    return header.index(target)


# -- the fast path: np.loadtxt and whole-array checks -------------------------------------------------------


def _read_csv_fast(path: Path, layout: CsvLayout, target_index: int | None, task: str,
                   max_rows: int | None = None) -> Table | None:
    """Read a well-formed file with NumPy's C reader; None when the file needs the careful path.

    Numeric labels (and regression targets): one pass reads every column as float64, and the features are a
    view of it. Word labels: one pass reads rows of (features float64, label text), the features again a view
    when the label is the first or last column. No label column (target_index None): every column a feature.
    `max_rows`: read only that many rows (see `_rows_before_blank_tail`).
    """
    header = layout.header
    if target_index is None:
        return _read_numbers_fast(path, layout)
    feature_names = [name for i, name in enumerate(header) if i != target_index]
    samples = [row[target_index] for row in layout.sample_rows if len(row) == len(header)]
    numeric = all(_parse_float(cell) is not None for cell in samples)
    if (task == "regression" and not numeric) or not layout.sample_rows:
        return None  # the careful path names the cell that is not a number, or says there are no rows
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # loadtxt's "input contained no data" and such: the careful path
            # ... but an empty line above max_rows is only skipped, as it should be (NumPy >= 1.23 says so).
            warnings.filterwarnings("ignore", message=r"Input line \d+ contained no data")
            x = labels = None
            if numeric:
                try:
                    table = _loadtxt_blocks(path, layout, np.float64, max_rows=max_rows)
                except ValueError:  # a word further down: perhaps the labels are words after all
                    if task == "regression":
                        return None
                    numeric = False
                else:
                    x, labels = _drop_column(table, target_index), table[:, target_index].copy()
            if not numeric:
                x, labels = _read_with_word_labels(path, layout, target_index, samples, max_rows)
    except (ValueError, IndexError, UnicodeDecodeError, Warning):
        return None
    if labels is None or len(x) == 0 or not _all_finite(x) or (max_rows is not None and len(x) != max_rows):
        return None
    if task == "regression":
        if not np.all(np.isfinite(labels)):
            return None
        return Table(x, labels.reshape(-1, 1), feature_names, [header[target_index]])
    if numeric:
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.floor(labels)):
            return None  # NaN, or a label like 2.5: the careful path says which
        y, classes = encode_whole_numbers(labels)
        return Table(x, y, feature_names, [str(int(value)) for value in classes])
    y, words = _encode_words(labels)
    # Cells are compared without their surrounding spaces ("a, cat" and "a,cat" both say cat).
    stripped = [str(word).strip() for word in words]
    names = sorted(set(stripped))
    missing = any(name.lower() in MISSING_MARKERS for name in names)
    if missing or all(_parse_float(name) is not None for name in names):
        return None  # a missing label, or every label a number after all: the careful path
    if names != stripped:
        y = np.array([names.index(word) for word in stripped], dtype=np.int64)[y]
    return Table(x, y, feature_names, names)


def _rows_before_blank_tail(path: Path, layout: CsvLayout) -> int | None:
    """The number of data rows above a tail of blank rows such as ',,,' (spreadsheets write them), or None.

    NumPy's reader skips empty lines but not ',,,' or '   ': told how many rows to read, it stops before them.
    The rows are counted from the bytes: a line feed ends a line (CR LF too); an empty line is not a row.
    None when the file does not end in such rows, or has quotes or lone CRs, which would make the count
    unsure.
    """
    with open(path, "rb") as file:
        file.seek(max(0, path.stat().st_size - _SNIFF_BYTES))
        tail = file.read().replace(b"\r\n", b"\n").split(b"\n")
    no_data = b" \t" + layout.separator.encode()
    blank_rows = 0  # lines at the end with no data that NumPy would still take for rows
    for line in reversed(tail):
        if line.strip(no_data) != b"":
            break
        blank_rows += line != b""
    if blank_rows == 0:
        return None
    lines = empty_after_header = 0
    previous_end, offset, last_byte = -1, 0, b""
    with open(path, "rb") as file:
        while block := file.read(1 << 22):
            if b'"' in block or block.count(b"\r") != block.count(b"\r\n"):
                return None  # a quoted field may hold a line break; a lone CR ends a line NumPy's way only
            data = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)  # line feeds, as positions in this block
            starts = np.concatenate([[previous_end - offset + 1], ends[:-1] + 1])[: len(ends)]
            before = np.where(ends > 0, data[np.maximum(ends - 1, 0)], ord(last_byte or b"\n"))
            length = ends - starts - (before == 13)  # the line's bytes, CR LF counted as its end
            numbers = lines + 1 + np.arange(len(ends))  # 1-based line numbers
            empty_after_header += int(np.count_nonzero((length == 0) & (numbers > layout.header_line)))
            lines += len(ends)
            if len(ends):
                previous_end = offset + int(ends[-1])
            offset, last_byte = offset + len(block), block[-1:]
    lines += offset - 1 > previous_end  # a last line without a line feed
    return lines - layout.header_line - empty_after_header - blank_rows


def _read_numbers_fast(path: Path, layout: CsvLayout) -> Table | None:
    """Every column a number (rows to predict, without labels); None when the careful path must read it."""
    if not layout.sample_rows:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            x = _loadtxt_blocks(path, layout, np.float64)
    except (ValueError, IndexError, UnicodeDecodeError, Warning):
        return None
    if len(x) == 0 or not _all_finite(x):
        return None
    return Table(x, np.zeros((len(x), 0)), list(layout.header), [], target_name="")


def _loadtxt_blocks(path: Path, layout: CsvLayout, dtype, *, max_rows: int | None = None) -> np.ndarray:
    """`np.loadtxt` over the data rows of a CSV file, a block of lines at a time, into one array.

    One call for the whole file would be simplest, but NumPy's reader holds the interpreter lock from start
    to end: a million rows would stop every other thread (the app's event loop among them) for over a
    second. Called a block of READ_BLOCK_BYTES at a time, it lets them run between blocks. The rows go into
    one array sized from the file's size and the first block's bytes per row, grown in place when later
    rows turn out shorter, so memory stays near the result's own size.

    dtype: float64 (the result has one column per header column) or a structured row type (one row each).
    max_rows: read only that many rows (see `_rows_before_blank_tail`). Raises what np.loadtxt raises (a
    ValueError for a cell it cannot read), or ValueError when a row has the wrong number of columns.
    """
    structured = np.dtype(dtype).names is not None
    row_shape = () if structured else (len(layout.header),)
    out = None
    filled = 0
    size = max(path.stat().st_size, 1)
    stage = f"reading {path.name}"
    report(stage, 0.0)
    for lines, done in _line_blocks(path, skip_lines=layout.header_line):
        wanted = None if max_rows is None else max_rows - filled
        if wanted == 0:
            break
        if lines and not lines.isspace():
            # Bytes, decoded line by line by NumPy: a third faster than handing it the block as text.
            rows = np.loadtxt(io.BytesIO(lines), dtype=dtype, delimiter=layout.separator, quotechar='"',
                              comments=None, ndmin=1 if structured else 2, encoding="utf-8",
                              **({} if wanted is None else {"max_rows": wanted}))
            if rows.shape[1:] != row_shape:
                raise ValueError("rows of another width than the header's")
            if out is None:  # as many rows as the whole file holds at this block's bytes per row, and a few
                estimate = int(size / max(len(lines), 1) * len(rows) * 1.02) + 16
                out = np.empty((estimate if max_rows is None else max_rows, *row_shape), dtype=dtype)
            elif filled + len(rows) > len(out):  # shorter rows further on: grow (in place, as a rule)
                out.resize((max(filled + len(rows), int(len(out) * 1.25)), *row_shape), refcheck=False)
            if structured:  # as bytes: NumPy copies those without the GIL, field by field it holds it (up to
                # ~90 ms here, while the new pages are first touched: a key would wait that long)
                out.view(np.uint8).reshape(len(out), -1)[filled:filled + len(rows)] = rows.view(np.uint8).reshape(
                    len(rows), -1)
            else:
                out[filled:filled + len(rows)] = rows
            filled += len(rows)
        report(stage, READ_SHARE * done / size)
    return np.empty((0, *row_shape), dtype=dtype) if out is None else out[:filled]


def _line_blocks(path: Path, *, skip_lines: int):
    """(lines, bytes read so far) for blocks of whole lines of a file, the first `skip_lines` dropped.

    Lines end in LF in the blocks given out (CR LF and a lone CR become LF). A block never ends inside a
    quoted field (the quotes before its end are even in number), so a quoted line break stays in one block.
    (A UTF-8 byte order mark is on the first line, which is always skipped: it is the header or above it.)
    """
    done = 0
    rest = b""
    with open(path, "rb") as file:
        while True:
            more = file.read(READ_BLOCK_BYTES)
            done += len(more)
            raw = rest + more
            if not raw:
                return
            if more:  # cut after the last line end with the quotes balanced; else read on
                cut = raw.rfind(b"\n")
                if cut < 0:
                    cut = raw.rfind(b"\r", 0, len(raw) - 1)  # lone CRs; a last CR may be half of CR LF
                if cut < 0 or (b'"' in raw and raw.count(b'"', 0, cut + 1) % 2):
                    rest = raw
                    continue
                raw, rest = raw[: cut + 1], raw[cut + 1:]
            else:
                rest = b""
            if b"\r" in raw:
                raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            while skip_lines and raw:
                end = raw.find(b"\n")
                raw = b"" if end < 0 else raw[end + 1:]
                skip_lines -= 1
            yield raw, done


def encode_whole_numbers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class index int64 of each value, the sorted distinct values) for labels that are whole numbers.

    Small non-negative labels (the usual 0..k-1) are counted with `np.bincount`, no sort; others go through
    np.unique.
    """
    if len(values) and values.min() >= 0 and values.max() < 1 << 16:
        whole = values.astype(np.int64, copy=False)
        present = np.flatnonzero(np.bincount(whole))
        rank = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        rank[present] = np.arange(len(present))
        return rank[whole], present.astype(values.dtype)
    classes, indices = np.unique(values, return_inverse=True)
    return indices.astype(np.int64).reshape(-1), classes


def _read_with_word_labels(path: Path, layout: CsvLayout, target_index: int, samples: list[str],
                           max_rows: int | None):
    """(features float64, labels as fixed-width text) from one pass, or (x, None) when a label might not fit.

    One structured row type holds both: the feature columns before the label, the label, the columns after
    it. The width of the label field is guessed from the first rows, generously; a label that fills it may
    have been cut short, and then the careful path reads the file instead.
    """
    n_columns = len(layout.header)
    width = max(8, 2 * max(map(len, samples), default=0))
    fields = [("before", np.float64, (target_index,)), ("label", f"U{width}"),
              ("after", np.float64, (n_columns - target_index - 1,))]
    row_type = np.dtype([field for field in fields if field[2:] != ((0,),)])
    rows = _loadtxt_blocks(path, layout, row_type, max_rows=max_rows)
    labels = rows["label"]
    if np.any(np.char.str_len(labels) >= width):
        return rows, None
    if target_index == n_columns - 1:
        x = rows["before"]  # views into the rows: no copy
    elif target_index == 0:
        x = rows["after"]
    else:
        x = np.concatenate([rows["before"], rows["after"]], axis=1)
    return x, labels


def _encode_words(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class index of each label, the sorted distinct labels), with one comparison pass per class.

    Faster than `np.unique` (which sorts every label) when there are few classes, as there usually are.
    """
    y = np.full(len(labels), -1, dtype=np.int64)
    found = []
    while len(found) < 64:
        first_unassigned = int(np.argmin(y))  # every assigned index is >= 0
        if y[first_unassigned] >= 0:
            break
        word = labels[first_unassigned]
        y[labels == word] = len(found)
        found.append(word)
    else:
        classes, y = np.unique(labels, return_inverse=True)
        return y.astype(np.int64), classes
    order = np.argsort(np.array(found))
    rank = np.empty(len(found), dtype=np.int64)
    rank[order] = np.arange(len(found))
    return rank[y], np.array(found)[order]


def _drop_column(table: np.ndarray, index: int) -> np.ndarray:
    """Every column but one: a view when it is the first or the last (no copy), else a copy."""
    if index == table.shape[1] - 1:
        return table[:, :-1]
    if index == 0:
        return table[:, 1:]
    return np.delete(table, index, axis=1)


def _all_finite(x: np.ndarray) -> bool:
    """True when x holds no NaN or infinity: one sum per column (NaN and infinity survive a sum), and only
    if a sum is not finite (huge finite values can cause that too) the exact test, a block of rows at a time.
    """
    if x.size == 0 or x.dtype.kind in "biu":
        return True
    sums = np.zeros(x.shape[1])
    rows = BLOCK_ROWS
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(x), rows):
            sums += column_sums(x[start:start + rows])
        if np.all(np.isfinite(sums)):
            return True
    return _first_non_finite_row(x) is None


def _first_non_finite_row(x: np.ndarray) -> int | None:
    for start in range(0, len(x), 1 << 15):
        bad = np.flatnonzero(~np.all(np.isfinite(x[start:start + (1 << 15)]), axis=1))
        if len(bad):
            return start + int(bad[0])
    return None


# -- the careful path: the csv module, row by row ------------------------------------------------------------


def read_csv_careful(path: Path, layout: CsvLayout, target_index: int | None, task: str, where: str) -> Table:
    """Read a CSV file row by row with Python's csv module, naming the first problem by line and column.

    This is the reference reader: slow (a Python loop over every cell) but exact, used when the fast path
    declines a file. Memory stays near the size of the result: features go straight into a preallocated array.
    With `target_index` None every column is a feature (new rows to predict, without labels); y is then empty.
    """
    header = layout.header
    n_columns = len(header)
    feature_indices = [i for i in range(n_columns) if i != target_index]
    x = np.empty((_count_lines(path), len(feature_indices)), dtype=np.float64)
    labels: list = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, delimiter=layout.separator)
            for row in reader:
                if reader.line_num <= layout.header_line:
                    continue
                if len(labels) % 65536 == 0:
                    report(f"reading {path.name} (row by row)", READ_SHARE * reader.line_num / len(x))
                cells = [cell.strip() for cell in row]
                if _is_blank(cells):
                    continue
                line = reader.line_num
                _check_row(cells, header, line, where)
                for f, i in enumerate(feature_indices):
                    where_cell = f"{where}, line {line}, feature column '{header[i]}'"
                    x[len(labels), f] = _csv_number(cells[i], where_cell)
                label = None if target_index is None else cells[target_index]
                if task == "regression" and target_index is not None:
                    where_cell = f"{where}, line {line}, target column '{header[target_index]}'"
                    label = _csv_number(label, where_cell)
                labels.append(label)
                if len(labels) == len(x):  # more rows than the line count said (lone CR line ends): grow
                    x = np.concatenate([x, np.empty_like(x)])
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text; save it as CSV (UTF-8) and try again") from None
    except csv.Error as error:
        raise DataError(f"{where} could not be read as CSV ({error}); check its quoting") from None
    if not labels:
        raise DataError(f"{where} has a header row but no data rows below it")
    x = x[: len(labels)]
    feature_names = [header[i] for i in feature_indices]
    if target_index is None:
        return Table(x, np.zeros((len(x), 0)), feature_names, [], target_name="")
    target = header[target_index]
    if task == "regression":
        return Table(x, np.array(labels, dtype=np.float64).reshape(-1, 1), feature_names, [target])
    y, class_names = encode_labels(labels, f"{where}, column '{target}'")
    return Table(x, y, feature_names, class_names)


def _check_row(cells: list[str], header: list[str], line: int, where: str) -> None:
    if len(cells) != len(header):
        raise DataError(
            f"{where}, line {line}, has {len(cells)} values but the header has {len(header)} columns; "
            "every row needs one value per column"
        )
    for name, cell in zip(header, cells):
        if cell.lower() in MISSING_MARKERS:
            shown = f"'{cell}'" if cell else "empty"
            raise DataError(
                f"{where}, line {line}, column '{name}' has a missing value ({shown}); "
                "fill it in or delete the row"
            )


def _count_lines(path: Path) -> int:
    """Lines in a file (at least its number of rows), counted in blocks of bytes: LF, CR LF or a lone CR
    ends a line."""
    count = 0
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            if b"\r" in block:
                count += block.count(b"\r") - block.count(b"\r\n")  # (a CR LF cut in two counts twice)
    return count + 1


def _csv_number(cell: str, where: str) -> float:
    value = _parse_float(cell)
    if value is None:
        hint = ""
        if "," in cell and _parse_float(cell.replace(",", ".")) is not None:
            hint = "; it looks like a decimal comma: save the file with '.' as the decimal mark"
        raise DataError(
            f"{where} has '{cell}', which is not a number; this column must hold numbers only{hint}"
        )
    if not math.isfinite(value):
        raise DataError(f"{where} has '{cell}'; only finite numbers are allowed")
    return value


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def encode_labels(labels: list, where: str) -> tuple[np.ndarray, list[str]]:
    """Turn labels (words or numbers) into class indices 0..k-1 and the sorted list of class names.

    Numbers sort by value (so 10 comes after 9) and must be whole: 2.5 is not a class, it is a measurement.
    """
    numbers = [_parse_float(label) if isinstance(label, str) else float(label) for label in labels]
    if all(number is not None for number in numbers):
        if not all(math.isfinite(number) and number.is_integer() for number in numbers):
            example = next(n for n in numbers if not (math.isfinite(n) and n.is_integer()))
            raise DataError(
                f"{where} has the label {example}, which is not a whole number; class labels must be "
                "words or whole numbers; to predict a quantity instead, use task='regression'"
            )
        keys = [int(number) for number in numbers]
    else:
        keys = [str(label) for label in labels]
    classes = sorted(set(keys))
    index_of = {key: i for i, key in enumerate(classes)}
    y = np.array([index_of[key] for key in keys], dtype=np.int64)
    return y, [str(key) for key in classes]


# ---------------------------------------------------------------------------------------------------------
# New rows for a trained run: the same feature columns, by name; the label column optional
# ---------------------------------------------------------------------------------------------------------


class NewRows(NamedTuple):
    """Rows to predict: x float64 with the columns in the run's order; the labels when the file has them.

    y: class indices into `label_names` (the file's own classes, sorted as for training) or float64 targets
    (n, n_targets) for regression; None without a label column.
    """

    x: np.ndarray
    y: np.ndarray | None
    label_names: list[str]


def read_new_rows(path: str | Path, *, feature_names: list[str], target_name: str, task: str) -> NewRows:
    """The rows of a CSV or NPZ file to apply a trained run to.

    A CSV file must hold every feature column, by name, in any order, and nothing else but, optionally, the
    label column `target_name`. An NPZ file's x is taken column by column as it stands (arrays have no
    column names); its y is optional.
    """
    check_task(task)
    path = existing_file(path)
    if path.suffix.lower() == ".npz":
        return _read_new_npz(path, len(feature_names), task)
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path} is neither a .csv nor an .npz file")
    where = f"CSV file '{path}'"
    layout = sniff_csv(path, where, labelled=False)
    header = layout.header
    known, present = set(feature_names), set(header)
    missing = [name for name in feature_names if name not in present]
    if missing:
        raise DataError(
            f"{where} has no column {_names(missing)}, which the run was trained on; its columns are: "
            f"{', '.join(header)}"
        )
    extra = [name for name in header if name not in known and name != target_name]
    if extra:
        raise DataError(
            f"{where} has the column {_names(extra)}, which the run was not trained on; it knows "
            f"{', '.join(feature_names)} and the label '{target_name}': remove the others"
        )
    labelled = target_name in header
    if labelled:
        table = read_csv(path, target=target_name, task=task)
    else:
        table = _read_csv_fast(path, layout, None, task) or read_csv_careful(path, layout, None, task, where)
    position = {name: i for i, name in enumerate(table.feature_names)}
    x = table.x[:, [position[name] for name in feature_names]]
    return NewRows(x, table.y if labelled else None, list(table.output_names) if labelled else [])


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _read_new_npz(path: Path, n_features: int, task: str) -> NewRows:
    where = f"NPZ file '{path}'"
    with np.load(path, allow_pickle=False) as archive:
        has_labels = "y" in archive.files
    if has_labels:
        table = read_npz(path, task=task)
    else:
        x, _ = _npz_arrays(path, where, need_y=False)
        table = Table(np.asarray(x).reshape(len(x), -1), np.zeros((len(x), 0)), [], [])
        if not _all_finite(table.x):
            raise DataError(f"{where}: x has NaN or infinite values; remove or fill them")
    if table.x.shape[1] != n_features:
        raise DataError(
            f"{where}: x has {table.x.shape[1]} feature columns, but the run was trained on {n_features}"
        )
    return NewRows(np.array(table.x, dtype=np.float64), table.y if has_labels else None,
                   list(table.output_names) if has_labels else [])


# ---------------------------------------------------------------------------------------------------------
# NPZ
# ---------------------------------------------------------------------------------------------------------


def read_npz(path: str | Path, *, task: str, check_finite: bool = True) -> Table:
    """The work of `load_npz`; x keeps the archive's dtype, flattened to (n, features), and is memory-mapped
    when stored plainly (`_read_member`).

    check_finite=False leaves out the pass over x that refuses NaN and infinity, for a caller that makes its
    own pass over every value anyway and calls `refuse_non_finite` when something is off (`load_dataset`).
    """
    return _read_npz_table(path, task, check_finite)._replace(target_name="y")


def refuse_non_finite(x: np.ndarray, path: str | Path) -> None:
    """Raise the DataError that names the first sample of an .npz file's x holding NaN or infinity, if any."""
    if not _all_finite(x):
        raise DataError(
            f"NPZ file '{path}': x has NaN or infinite values (first in sample {_first_non_finite_row(x)}); "
            "remove or fill them"
        )


def _read_npz_table(path: str | Path, task: str, check_finite: bool = True) -> Table:
    check_task(task)
    where = f"NPZ file '{path}'"
    x, y = _npz_arrays(existing_file(path), where)
    if x.ndim < 2:
        raise DataError(
            f"{where}: x must have a row per sample, shape (samples, features), but has shape {x.shape}; "
            "if each sample is one number, save x.reshape(-1, 1)"
        )
    if len(x) == 0:
        raise DataError(f"{where}: x has no samples")
    if y.ndim == 0 or len(y) != len(x):
        raise DataError(
            f"{where}: x has {len(x)} samples but y has shape {y.shape}; they need one label per sample"
        )
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: x must hold numbers, but its dtype is {x.dtype}")
    image_shape = tuple(x.shape[1:]) if x.ndim == 3 else None
    x = x.reshape(len(x), -1)
    if x.shape[1] == 0:
        raise DataError(
            f"{where}: x has no feature columns (shape {x.shape}); each sample needs at least one number"
        )
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    if check_finite:
        refuse_non_finite(x, path)
    feature_names = [f"x{i}" for i in range(x.shape[1])]

    if task == "regression":
        if y.dtype.kind not in "biuf" or y.ndim > 2:
            raise DataError(f"{where}: regression targets y must be numbers of shape (n,) or (n, targets)")
        y = y.reshape(len(y), -1).astype(np.float64)
        if not np.all(np.isfinite(y)):
            raise DataError(f"{where}: y has NaN or infinite values; remove or fill them")
        target_names = ["y"] if y.shape[1] == 1 else [f"y{i}" for i in range(y.shape[1])]
        return Table(x, y, feature_names, target_names, image_shape)

    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise DataError(
            f"{where}: class labels y must have shape (n,) or (n, 1), got {y.shape}; "
            "if y is one-hot, save y.argmax(axis=1)"
        )
    y = y.reshape(-1)
    if y.dtype.kind in "iu":  # whole numbers already
        indices, classes = encode_whole_numbers(y)
        return Table(x, indices, feature_names, [str(int(c)) for c in classes], image_shape)
    if y.dtype.kind in "bf":  # numbers: whole-array checks, no Python loop
        values = y.astype(np.float64)
        if np.all(np.isfinite(values)) and np.all(values == np.floor(values)):
            indices, classes = encode_whole_numbers(values)
            return Table(x, indices, feature_names, [str(int(c)) for c in classes], image_shape)
    labels = [label.decode() if isinstance(label, bytes) else label for label in y.tolist()]
    y, class_names = encode_labels(labels, f"{where}, array y")
    return Table(x, y, feature_names, class_names, image_shape)


def _read_member(path: Path, archive, name: str) -> np.ndarray:
    """Array `name` of an .npz archive: memory-mapped when stored uncompressed (as np.savez does), else
    (compressed, an unusual header, empty) read by NumPy.

    np.load reads a member through the zip module, a chunk at a time, checking its CRC on the way, into new
    memory whose every page is then touched for the first time: 10 ms for 100k rows x 20 here. A map of a
    file in the page cache costs next to nothing to make, reads nothing up front and holds no copy (the
    caller copies what it keeps, standardised). Its rows are not aligned in memory, which NumPy's
    indexing handles slowly; `columns` gathers them as raw bytes instead.
    """
    info = archive.zip.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return archive[name]
    with open(path, "rb", buffering=0) as file:
        file.seek(info.header_offset)
        local_header = file.read(30)
        if local_header[:4] != b"PK\x03\x04":
            return archive[name]
        name_length, extra_length = struct.unpack("<HH", local_header[26:30])
        file.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            return archive[name]
        if dtype.hasobject or math.prod(shape) == 0:
            return archive[name]  # np.load refuses objects (allow_pickle=False) and says so
        offset, nbytes = file.tell(), math.prod(shape) * dtype.itemsize
    if offset + nbytes > path.stat().st_size:
        return archive[name]  # a short file: NumPy says what is wrong
    try:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                         order="F" if fortran_order else "C")
    except OSError:  # a file system that cannot map files: read it
        return archive[name]


def _npz_arrays(path: Path, where: str, *, need_y: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    if not zipfile.is_zipfile(path):
        raise DataError(
            f"{where} is not a valid .npz archive; make one with np.savez(path, x=features, y=labels)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files and (need_y or key == "x")]
            if missing:
                more = [f"{len(archive.files) - 5} more"] if len(archive.files) > 5 else []
                held = archive.files[:5] + more
                raise DataError(
                    f"{where} has no array named {' or '.join(map(repr, missing))} (it holds: "
                    f"{', '.join(held) or 'nothing'}); "
                    "save it with np.savez(path, x=features, y=labels)"
                )
            return _read_member(path, archive, "x"), _read_member(path, archive, "y") if need_y else None
    except DataError:
        raise
    except ValueError as error:
        # allow_pickle=False refuses arrays of Python objects, which could run code when loaded.
        raise DataError(
            f"{where} holds an array numpy cannot load safely ({error}); save plain numbers"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{where} is damaged ({error}); save it again with np.savez") from None
