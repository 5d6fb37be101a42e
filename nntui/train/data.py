"""Datasets: where the numbers a network learns from come from.

Three kinds of data, one shape at the end:

* **Synthetic 2-D toys** (`spiral`, `moons`, `circles`, `xor`, `blobs`). Each is drawn fresh from a seeded
  `numpy.random.Generator`, has two features, so a decision boundary can be drawn on screen, and has the
  same number of points in every class (give or take one).
* **The 8x8 handwritten digits** (`load_digits`), a real dataset shipped with nntui (see datasets/README.md).
* **Your own files** (`load_csv`, `load_npz`; read in `nntui.train.datafiles`).

`load_dataset` turns any of them into a `Dataset`: a seeded split into a training part and a validation part,
with the features standardised (each column shifted and scaled to mean 0 and standard deviation 1) using
statistics measured on the training part only, so nothing about the validation part leaks into training.
Regression targets are standardised the same way. The work is done a block of rows at a time, in float64
(`nntui.train.columns`), so a million-row file costs little more memory than its numbers.

Conventions, everywhere in this module:

* raw features `x` (what the generators, `load_digits`, `load_csv` and `load_npz` return) are float64 of shape
  (n_samples, n_features); a `Dataset`'s standardised features are float32, its statistics float64;
* classification labels `y` are int64 class indices 0..n_classes-1 of shape (n_samples,);
* regression targets `y` are float64 of shape (n_samples, n_targets);
* every problem a person can fix (a missing file, a malformed CSV, a bad option) raises `DataError` with one
  sentence that says what is wrong and how to fix it; what does not stop training but deserves a look (a
  constant column, a row number among the features) becomes a line in `Dataset.warnings`;
* `loading_progress` (from `nntui.train.progress`) shows how far a long load has got.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import nntui
from nntui.train.columns import ColumnError, Standardization, column_warnings
from nntui.train.datafiles import (  # noqa: F401  (re-exported: the data layer's public names)
    MISSING_MARKERS,
    READ_SHARE,
    TASKS,
    DataError,
    Table,
    check_task,
    load_csv,
    load_npz,
    read_csv,
    read_npz,
    refuse_non_finite,
)
from nntui.train.progress import loading_progress, report  # noqa: F401  (loading_progress: re-exported)

# ---------------------------------------------------------------------------------------------------------
# Synthetic 2-D datasets
#
# Every generator has the signature  f(n_samples=None, *, noise=None, rng=None, ...) -> (x, y)  with x float64
# (n, 2) and y int64 (n,). Points come back in random order, so the first rows are not all one class.
# Every argument has a default, for a notebook: n_samples, noise and n_classes left as None take the values
# listed for the dataset in BUILTIN_DATASETS, and rng=None means a fresh `np.random.default_rng(0)`, so a call
# without an rng returns the same points every time (pass your own Generator for other draws).
# ---------------------------------------------------------------------------------------------------------


def spiral(
    n_samples: int | None = None, *, n_classes: int | None = None, noise: float | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the classic example from Stanford's CS231n course).

    Each arm starts at the centre and winds outwards by about 4 radians (two thirds of a turn); the arms
    are rotated 360/n_classes degrees apart. No straight line separates them, so a network needs a hidden
    layer to get far. `noise` is the standard deviation, in radians, of the jitter added to each point's
    angle: near the centre it barely moves a point, at the tip it smears the arms into each other.
    """
    n_samples, noise, n_classes, rng = _generator_defaults("spiral", n_samples, noise, n_classes, rng)
    _check_generator_args(n_samples, noise, n_classes)
    y = _balanced_labels(n_samples, n_classes)
    # How far along its arm each point sits: 0 at the centre, 1 at the tip, evenly spaced.
    radius = np.concatenate([np.linspace(0.0, 1.0, count) for count in np.bincount(y)])
    angle = y * (2 * np.pi / n_classes) + 4.0 * radius + rng.normal(0.0, noise, n_samples)
    x = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return _shuffled(x, y, rng)


def moons(
    n_samples: int | None = None, *, noise: float | None = None, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two interlocking half circles: class 0 arches up, class 1 hangs down and is shifted right.

    The tip of each moon reaches into the other's hollow, so the boundary has to bend twice.
    `noise` is the standard deviation of gaussian noise added to both coordinates of every point.
    """
    n_samples, noise, _, rng = _generator_defaults("moons", n_samples, noise, None, rng)
    _check_generator_args(n_samples, noise)
    y = _balanced_labels(n_samples, 2)
    angle = rng.uniform(0.0, np.pi, n_samples)
    upper = np.column_stack([np.cos(angle), np.sin(angle)])
    lower = np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)])
    x = np.where((y == 0)[:, None], upper, lower) + rng.normal(0.0, noise, (n_samples, 2))
    return _shuffled(x, y, rng)


def circles(
    n_samples: int | None = None, *, noise: float | None = None, factor: float = 0.5,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A ring (class 0, radius 1) around a smaller ring (class 1, radius `factor`, between 0 and 1).

    The inner class sits inside the outer one, so the network must learn a closed boundary.
    `noise` is the standard deviation of gaussian noise added to both coordinates of every point.
    """
    n_samples, noise, _, rng = _generator_defaults("circles", n_samples, noise, None, rng)
    _check_generator_args(n_samples, noise)
    if not 0.0 < factor < 1.0:
        raise DataError(
            f"circles: factor is the inner ring's radius and must be between 0 and 1, got {factor}"
        )
    y = _balanced_labels(n_samples, 2)
    radius = np.where(y == 0, 1.0, factor)
    angle = rng.uniform(0.0, 2 * np.pi, n_samples)
    x = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    x = x + rng.normal(0.0, noise, (n_samples, 2))
    return _shuffled(x, y, rng)


def xor(
    n_samples: int | None = None, *, noise: float | None = None, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Points in the square [-1, 1] x [-1, 1], labelled by whether their two coordinates have the same sign.

    Class 0 fills the top-right and bottom-left quarters (x1 * x2 > 0), class 1 the other two
    (x1 * x2 < 0): exclusive-or of "x1 > 0" and "x2 > 0". Famously, no single line separates the classes.
    `noise` is the standard deviation of gaussian noise added to every point after it is labelled, so a
    larger noise pushes points across the axes into the other class's quarters.
    """
    n_samples, noise, _, rng = _generator_defaults("xor", n_samples, noise, None, rng)
    _check_generator_args(n_samples, noise)
    y = _balanced_labels(n_samples, 2)
    magnitude = rng.uniform(0.0, 1.0, (n_samples, 2))
    # Pick one of the class's two quarters at random: the first coordinate's sign is free, the second one
    # matches it for class 0 and is opposite for class 1.
    first_sign = rng.choice([-1.0, 1.0], n_samples)
    second_sign = np.where(y == 0, first_sign, -first_sign)
    x = magnitude * np.column_stack([first_sign, second_sign]) + rng.normal(0.0, noise, (n_samples, 2))
    return _shuffled(x, y, rng)


def blobs(
    n_samples: int | None = None, *, n_classes: int | None = None, noise: float | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Round gaussian clouds, one per class, centred evenly on a circle of radius 4.

    `noise` is each cloud's standard deviation. With the default of 1 and 3 classes the clouds barely
    touch, so even a network with no hidden layer (a linear classifier) does well; raise the noise or the
    number of classes to make them overlap.
    """
    n_samples, noise, n_classes, rng = _generator_defaults("blobs", n_samples, noise, n_classes, rng)
    _check_generator_args(n_samples, noise, n_classes)
    y = _balanced_labels(n_samples, n_classes)
    centre_angle = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 4.0 * np.column_stack([np.cos(centre_angle), np.sin(centre_angle)])
    x = centres[y] + rng.normal(0.0, noise, (n_samples, 2))
    return _shuffled(x, y, rng)


def _generator_defaults(name, n_samples, noise, n_classes, rng):
    """Fill in what a generator was not given: the numbers in BUILTIN_DATASETS, and a generator seeded 0."""
    info = BUILTIN_DATASETS[name]
    return (
        info.n_samples if n_samples is None else n_samples,
        info.default_noise if noise is None else noise,
        info.n_classes if n_classes is None else n_classes,
        np.random.default_rng(0) if rng is None else rng,
    )


def _check_generator_args(n_samples: int, noise: float, n_classes: int = 2) -> None:
    if not _is_int(n_classes) or n_classes < 2:
        raise DataError(f"n_classes must be a whole number of at least 2, got {n_classes!r}")
    if not _is_int(n_samples) or n_samples < n_classes:
        raise DataError(
            f"n_samples must be a whole number of at least {n_classes} (one per class), got {n_samples!r}"
        )
    if not (_is_number(noise) and math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a number >= 0, got {noise!r}")


def _balanced_labels(n_samples: int, n_classes: int) -> np.ndarray:
    """Labels 0,0,..,1,1,..: every class gets n_samples // n_classes, the first classes one more if needed."""
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    return np.repeat(np.arange(n_classes, dtype=np.int64), counts)


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return x[order].astype(np.float64), y[order]


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------------------
# The 8x8 digits
# ---------------------------------------------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8x8 handwritten digits: x float64 (1797, 64) with pixel values 0..16, y int64 digits 0..9.

    Row i of x, reshaped to (8, 8), is the i-th image. Provenance and licence: datasets/README.md.
    """
    with np.load(_digits_path(), allow_pickle=False) as archive:
        return archive["x"].astype(np.float64), archive["y"].astype(np.int64)


def _digits_path() -> Path:
    """Find digits.npz: inside the installed package (a wheel), else in the source checkout's datasets/."""
    package_dir = Path(nntui.__file__).parent
    candidates = [package_dir / "_data" / "digits.npz", package_dir.parent / "datasets" / "digits.npz"]
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(
        f"the digits data file is missing (looked for {candidates[0]} and {candidates[1]}); "
        "reinstall nntui, or in a source checkout restore it with `git checkout datasets/digits.npz`"
    )


# ---------------------------------------------------------------------------------------------------------
# Your own data: CSV and NPZ files are read in nntui.train.datafiles (load_csv, load_npz and DataError are
# imported above and stay importable from here).
# ---------------------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------------------
# The Dataset a training session uses
# ---------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Dataset:
    """A dataset split into a training part and a validation part, ready to train on.

    x_train, x_val: float32 (n, n_features), standardised with `feature_mean` and `feature_std` (float64),
    which were measured in float64 on the training part only; the features become float32 once, after
    standardising, because the engine trains in float32 (a float64 model gets float64 copies of these
    values). y_train, y_val: int64 class indices (n,) for classification; for regression float64
    (n, n_targets) standardised like the features, with `target_mean` and `target_std` (float64, measured on
    the training part; None for classification), so that a target of any size (house prices, or 1e30) trains
    at the usual learning rates. `targets_in_units` turns standardised targets or predictions back into the
    data's own units; an error of e in standardised units is e * target_std in the data's.

    n_classes is the number of classes, or for regression the number of target columns; class_names names
    them (for regression: the target column names). image_shape is (height, width) when each sample is a
    small image, such as (8, 8) for the digits, so x[i].reshape(image_shape) shows it; otherwise None.
    target_name: where the labels came from (the CSV column's name, "y" for an NPZ file, "label" for the
    built-in datasets), so that new rows can be matched to it.
    warnings: one line each about the data a person should know but that does not stop training (a
    constant column, a column that looks like a row number); empty for the built-in datasets.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_features: int
    n_classes: int
    class_names: list[str]
    feature_names: list[str]
    feature_mean: np.ndarray
    feature_std: np.ndarray
    image_shape: tuple[int, int] | None = None
    target_name: str = "label"
    target_mean: np.ndarray | None = None
    target_std: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def unstandardize(self, x: np.ndarray) -> np.ndarray:
        """Standardised features back in raw units, float64: x * feature_std + feature_mean.

        The float32 storage leaves rounding noise of about 1e-7 of each column's spread, enough to show a
        pixel of 4 as 3.9999998; a value that close to a whole number (within 1e-5 of its column's standard
        deviation) is given as that whole number, so pixel counts and other integer data come back exact.
        """
        raw = np.asarray(x, dtype=np.float64) * self.feature_std + self.feature_mean
        whole = np.round(raw)
        return np.where(np.abs(raw - whole) <= 1e-5 * self.feature_std, whole, raw)

    def targets_in_units(self, y: np.ndarray) -> np.ndarray:
        """Standardised regression targets (or a network's predictions of them) in the data's own units."""
        if self.target_mean is None:
            raise DataError(
                f"dataset '{self.name}' is {self.task}: its labels are classes, not standardised targets")
        return np.asarray(y, dtype=np.float64) * self.target_std + self.target_mean

    def standardize_targets(self, y_raw: np.ndarray) -> np.ndarray:
        """Regression targets in the data's units, standardised as y_train was: float64 (n, n_targets)."""
        if self.target_mean is None:
            raise DataError(f"dataset '{self.name}' is {self.task}: its labels are classes, not targets")
        y_raw = np.asarray(y_raw, dtype=np.float64).reshape(len(y_raw), -1)
        return (y_raw - self.target_mean) / self.target_std

    def regression_scores(self, predicted: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """MSE, MAE and R^2 of standardised predictions against standardised targets, in the data's units.

        What a regression run should report: the network works in standardised units (see the class), a person
        in the data's. R^2 is the same in both, so it is worked out in standardised units, where it cannot
        overflow (a target of 1e200 has squared errors beyond float64; its MSE is then inf, honestly).
        """
        with np.errstate(over="ignore"):
            scores = regression_scores(self.targets_in_units(y), self.targets_in_units(predicted))
        scores["r2"] = r_squared(np.asarray(y, dtype=np.float64).reshape(len(y), -1),
                                 np.asarray(predicted, dtype=np.float64).reshape(len(predicted), -1))
        return scores

    def summary(self) -> dict:
        """What turns new raw rows into this dataset's numbers, as plain JSON values (a checkpoint keeps it,
        so `nntui predict` needs no training file): names, task, classes, the training part's statistics."""
        as_list = (lambda a: None if a is None else np.asarray(a, dtype=np.float64).tolist())
        return {
            "name": self.name, "task": self.task, "n_features": self.n_features, "n_classes": self.n_classes,
            "class_names": list(self.class_names), "feature_names": list(self.feature_names),
            "target_name": self.target_name, "feature_mean": as_list(self.feature_mean),
            "feature_std": as_list(self.feature_std), "target_mean": as_list(self.target_mean),
            "target_std": as_list(self.target_std),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
        }

    @classmethod
    def from_summary(cls, summary: dict) -> Dataset:
        """A dataset with no rows (x_train and the rest empty) but everything `summary` keeps: enough to
        standardise new rows and to name the network's outputs."""
        as_array = (lambda v: None if v is None else np.asarray(v, dtype=np.float64))
        n_features, task = int(summary["n_features"]), str(summary["task"])
        no_rows = np.zeros((0, n_features), dtype=np.float32)
        n_classes = int(summary["n_classes"])
        no_labels = np.zeros(0, np.int64) if task == "classification" else np.zeros((0, n_classes))
        shape = summary.get("image_shape")
        return cls(
            name=str(summary["name"]), task=task, x_train=no_rows, y_train=no_labels, x_val=no_rows,
            y_val=no_labels, n_features=n_features, n_classes=n_classes,
            class_names=[str(name) for name in summary["class_names"]],
            feature_names=[str(name) for name in summary["feature_names"]],
            feature_mean=as_array(summary["feature_mean"]), feature_std=as_array(summary["feature_std"]),
            image_shape=None if shape is None else (int(shape[0]), int(shape[1])),
            target_name=str(summary["target_name"]), target_mean=as_array(summary.get("target_mean")),
            target_std=as_array(summary.get("target_std")),
        )

    @property
    def is_2d(self) -> bool:
        """True when there are exactly two features, so points and decision boundaries can be plotted."""
        return self.n_features == 2

    def standardize(self, x_raw: np.ndarray) -> np.ndarray:
        """Apply the training part's transform to new raw features: (x_raw - feature_mean) / feature_std.

        Computed in float64, returned as float32 like x_train and x_val.
        """
        x_raw = np.asarray(x_raw)
        if x_raw.ndim != 2 or x_raw.shape[1] != self.n_features:
            raise DataError(
                f"dataset '{self.name}' has {self.n_features} features, so new samples must have shape "
                f"(n, {self.n_features}); got {x_raw.shape}"
            )
        unmeasured = np.zeros(self.n_features, dtype=bool)
        transform = Standardization(self.feature_mean, self.feature_std, unmeasured)
        try:
            return transform.apply(x_raw)
        except ColumnError as error:
            raise DataError(f"feature '{self.feature_names[error.column]}' {error}") from None


@dataclass(frozen=True)
class BuiltinDataset:
    """What `load_dataset` makes for a built-in name when no options are given, and what makes it.

    `generate` is the generator, f(n_samples, *, noise, rng[, n_classes]) -> (x, y); None for the digits, which
    are read from the shipped file. `classes_choosable`: the generator takes `n_classes` (the others always have
    the `n_classes` listed).
    """

    name: str
    description: str
    n_samples: int
    n_features: int
    n_classes: int
    default_noise: float | None
    generate: Callable | None = field(default=None, repr=False, compare=False)
    classes_choosable: bool = False


#: The built-in datasets: the one list of their names. A new synthetic dataset is a generator plus one line here.
BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    info.name: info
    for info in [
        BuiltinDataset("spiral", "interleaved spiral arms, one per class", 600, 2, 3, 0.2, spiral, True),
        BuiltinDataset("moons", "two interlocking half circles", 500, 2, 2, 0.1, moons),
        BuiltinDataset("circles", "a small ring inside a large ring", 500, 2, 2, 0.05, circles),
        BuiltinDataset("xor", "labels by whether x1 and x2 have the same sign", 500, 2, 2, 0.1, xor),
        BuiltinDataset("blobs", "round gaussian clouds, one per class", 600, 2, 3, 1.0, blobs, True),
        BuiltinDataset("digits", "8x8 images of handwritten digits 0-9 (UCI, CC BY 4.0)", 1797, 64, 10, None),
    ]
}


def class_count_datasets() -> list[str]:
    """The built-in datasets whose number of classes is a setting (spiral and blobs)."""
    return [name for name, info in BUILTIN_DATASETS.items() if info.classes_choosable]


def describe_builtin() -> list[dict]:
    """One dict per built-in dataset (the fields of `BuiltinDataset`), for `nntui datasets` to print."""
    return [{key: value for key, value in asdict(info).items() if key not in ("generate", "classes_choosable")}
            for info in BUILTIN_DATASETS.values()]


def load_dataset(
    name_or_path: str,
    *,
    seed: int = 0,
    n_samples: int | None = None,
    noise: float | None = None,
    n_classes: int | None = None,
    val_fraction: float = 0.2,
    target: str | None = None,
    task: str = "classification",
    standardize: bool = True,
) -> Dataset:
    """Make a `Dataset` from a built-in name (see BUILTIN_DATASETS) or a path to a .csv or .npz file.

    n_samples, noise and n_classes tune the synthetic datasets (None means the default listed in
    BUILTIN_DATASETS); n_samples below 1797 also picks a random subset of the digits. `target` and `task`
    apply to CSV files (`task` to NPZ files too). The same seed gives the same arrays, bit for bit; the
    default seed is 0, so `load_dataset("moons")` in a notebook gives the same data as the app's first run.
    With `standardize=False` features (and regression targets) keep their raw values (features as float32;
    a value beyond float32's range is then refused, naming its column).
    """
    if not _is_int(seed) or seed < 0:
        raise DataError(f"seed must be a whole number >= 0, got {seed!r}")
    if not (_is_number(val_fraction) and 0.0 < val_fraction < 1.0):
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}")
    check_task(task)
    # Two independent random streams: changing how the data is generated never changes how it is split.
    data_rng, split_rng = np.random.default_rng(seed).spawn(2)

    name = str(name_or_path)
    table = _read_source(name, data_rng, n_samples, noise, n_classes, target, task)
    if name not in BUILTIN_DATASETS:
        name = Path(name).name

    if task == "classification":
        if len(table.output_names) < 2:
            raise DataError(
                f"dataset '{name}' has a single class ({table.output_names[0]}); "
                "classification needs at least two"
            )
        train_rows, val_rows = _stratified_split(table.y, val_fraction, split_rng)
    else:
        train_rows, val_rows = _shuffled_split(len(table.y), val_fraction, split_rng)
    n_classes = len(table.output_names)
    if len(val_rows) == 0 and task == "classification" and n_classes > max(10, len(table.y) / 2):
        raise DataError(
            f"dataset '{name}' has {n_classes} classes in {len(table.y)} samples, too few of each "
            "to keep some for validation; is the label column right (--target / data.target), or is this "
            "regression (--task regression)?"
        )
    if len(val_rows) == 0:
        per_class = " of some class" if task == "classification" else ""
        raise DataError(
            f"dataset '{name}' has too few samples ({len(table.y)}) to keep some for validation; "
            f"give at least two samples{per_class}"
        )

    report("standardising", READ_SHARE + 0.05)
    n_features = table.x.shape[1]
    where = f"dataset '{name}'"
    is_file = name not in BUILTIN_DATASETS
    try:
        if standardize:
            transform = Standardization.fit(table.x, train_rows)
        else:
            transform = Standardization.identity(n_features)
        warnings = column_warnings(table.x, table.feature_names, transform) if is_file else []
        # A table that is ours alone (read from a CSV file just now) is standardised over its own memory (no
        # second copy of the data), when its layout allows.
        parts = transform.split_in_place(table.x, train_rows, val_rows) if table.x_is_fresh else None
        if parts is None:
            x_train = transform.apply(table.x, train_rows, what=" in the training part")
            report("standardising", (1 + READ_SHARE) / 2 + 0.05)
            x_val = transform.apply(table.x, val_rows, what=" in the validation part")
        else:
            x_train, x_val = parts
    except ColumnError as error:
        if str(name_or_path).lower().endswith(".npz"):
            refuse_non_finite(table.x, name_or_path)  # (its x is not checked as it is read: see _read_source)
        raise DataError(f"{where}: column '{table.feature_names[error.column]}' {error}") from None
    y_train, y_val = table.y[train_rows], table.y[val_rows]
    target_mean = target_std = None
    if task == "regression":
        targets = Standardization.fit(table.y, train_rows) if standardize else Standardization.identity(
            table.y.shape[1])
        try:
            y_train = targets.apply(table.y, train_rows, dtype=np.float64)
            y_val = targets.apply(table.y, val_rows, dtype=np.float64)
        except ColumnError as error:
            raise DataError(f"{where}: target '{table.output_names[error.column]}' {error}") from None
        target_mean, target_std = targets.mean, targets.std
    report("ready", 1.0)
    return Dataset(
        name=name,
        task=task,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        n_features=n_features,
        n_classes=len(table.output_names),
        class_names=list(table.output_names),
        feature_names=list(table.feature_names),
        feature_mean=transform.mean,
        feature_std=transform.std,
        image_shape=table.image_shape,
        target_name=table.target_name,
        target_mean=target_mean,
        target_std=target_std,
        warnings=[f"{where}: {line}" for line in warnings],
    )


def _read_source(name, rng, n_samples, noise, n_classes, target, task) -> Table:
    """Generate or load the data that `load_dataset` was asked for, refusing options that do not apply."""
    if name in BUILTIN_DATASETS:
        return _make_builtin(
            name, rng, n_samples=n_samples, noise=noise, n_classes=n_classes, target=target, task=task
        )
    if not name.lower().endswith((".csv", ".npz")):
        raise DataError(
            f"unknown dataset '{name}'; built-in datasets are: {', '.join(BUILTIN_DATASETS)}; "
            "or give the path of a .csv or .npz file"
        )
    for option, value in [("n_samples", n_samples), ("noise", noise), ("n_classes", n_classes)]:
        if value is not None:
            raise DataError(f"{option} applies only to the synthetic built-in datasets, not to a file")
    if name.lower().endswith(".csv"):
        return read_csv(name, target=target, task=task)
    if target is not None:
        raise DataError("target names a CSV column; an .npz file keeps its labels in the array 'y'")
    # NaN and infinity are caught by standardising, which reads every value anyway (see load_dataset).
    return read_npz(name, task=task, check_finite=False)


def _make_builtin(name, rng, *, n_samples, noise, n_classes, target, task) -> Table:
    """Generate the built-in dataset `name`, or load it for the digits."""
    info = BUILTIN_DATASETS[name]
    if task != "classification":
        raise DataError(
            f"the built-in dataset '{name}' is a classification task; task='regression' needs a file"
        )
    if target is not None:
        raise DataError(f"target names a column of a CSV file; the built-in dataset '{name}' has none")
    if n_classes is not None and not info.classes_choosable and n_classes != info.n_classes:
        raise DataError(
            f"'{name}' always has {info.n_classes} classes; only {' and '.join(sorted(class_count_datasets()))} "
            f"let you choose n_classes"
        )

    if name == "digits":
        if noise is not None:
            raise DataError("'digits' is real data and has no noise setting; leave noise unset")
        x, y = load_digits()
        if n_samples is not None:
            # At least two images per digit on average, so validation can see every digit.
            if not _is_int(n_samples) or not 20 <= n_samples <= len(y):
                raise DataError(
                    f"n_samples for 'digits' picks a random subset and must be a whole number from 20 to "
                    f"{len(y)}, got {n_samples!r}"
                )
            subset = np.sort(rng.choice(len(y), size=n_samples, replace=False))
            x, y = x[subset], y[subset]
        feature_names = [f"pixel_{row}_{col}" for row in range(8) for col in range(8)]
        return Table(x, y, feature_names, [str(digit) for digit in range(10)], image_shape=(8, 8))

    n_samples = info.n_samples if n_samples is None else n_samples
    noise = info.default_noise if noise is None else noise
    if info.classes_choosable:
        n_classes = info.n_classes if n_classes is None else n_classes
        x, y = info.generate(n_samples, n_classes=n_classes, noise=noise, rng=rng)
    else:
        n_classes = info.n_classes
        x, y = info.generate(n_samples, noise=noise, rng=rng)
    return Table(x, y, ["x1", "x2"], [str(label) for label in range(n_classes)])


def _stratified_split(
    y: np.ndarray, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val) that hold out about `val_fraction` of every class separately.

    Splitting class by class keeps each class's share the same in both parts: a rare class cannot end up
    missing from validation by bad luck. A class with at least two samples always has one in each part.
    """
    train_parts, val_parts = [], []
    # The classes present, in order: counted when they are indices 0..k-1 (as loaded), not sorted.
    present = np.flatnonzero(np.bincount(y)) if y.dtype.kind in "iu" and len(y) and y.min() >= 0 else np.unique(y)
    for label in present:
        rows = rng.permutation(np.flatnonzero(y == label))
        n_val = round(len(rows) * val_fraction)
        if len(rows) >= 2:
            n_val = min(max(n_val, 1), len(rows) - 1)
        else:
            n_val = 0
        val_parts.append(rows[:n_val])
        train_parts.append(rows[n_val:])
    # Shuffle again so neither part is sorted by class.
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(val_parts))


def _shuffled_split(
    n_samples: int, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, val) of a random split, for regression where there are no classes to balance."""
    rows = rng.permutation(n_samples)
    n_val = min(max(round(n_samples * val_fraction), 1), n_samples - 1) if n_samples >= 2 else 0
    return rows[n_val:], rows[:n_val]


def regression_scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """{"mse", "mae", "r2"} of predictions against actual values, both (n, n_targets) in the same units."""
    actual = np.asarray(actual, dtype=np.float64).reshape(len(actual), -1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(len(predicted), -1)
    error = predicted - actual
    return {"mse": float(np.mean(error ** 2)), "mae": float(np.mean(np.abs(error))),
            "r2": r_squared(actual, predicted)}


def r_squared(actual: np.ndarray, predicted: np.ndarray) -> float:
    """1 - (squared error) / (squared spread around the mean), averaged over target columns.

    1 is perfect, 0 is no better than always predicting the mean, below 0 worse than that. A target that
    never changes has no spread to explain: its R^2 is NaN.
    """
    actual, predicted = np.atleast_2d(actual.T).T, np.atleast_2d(predicted.T).T
    residual = np.sum((actual - predicted) ** 2, axis=0)
    spread = np.sum((actual - actual.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_target = np.where(spread > 0, 1.0 - residual / np.where(spread > 0, spread, 1.0), np.nan)
    return float(np.mean(per_target))
