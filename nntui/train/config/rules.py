"""Rules for configuration values, the names a value may take, and the error a person gets when one is wrong.

A rule is a function ``(dotted_name, value) -> value``: it returns the value in its canonical type (an int given
for a float field comes back as a float) or raises ``ConfigError`` naming the field and the value:

    optimizer.lr must be > 0, got -1

The names of activations, losses, optimizers, initialisers and built-in datasets are not listed here: they are
read from the registries that build those things (``nntui.nn`` and ``nntui.train.data``), so registering a new
activation there makes it a valid ``model.activations`` entry with no second list to update.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from nntui import nn
from nntui.train import data


class Names(Sequence):
    """The names a registry holds now, read afresh at every use (a name registered later is seen at once)."""

    def __init__(self, *registries, first: tuple[str, ...] = ()) -> None:
        self._registries, self._first = registries, first

    def _names(self) -> tuple[str, ...]:
        return (*self._first, *(name for registry in self._registries for name in registry))

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


BUILTIN_DATASETS = Names(data.BUILTIN_DATASETS)
DATA_FILE_SUFFIXES = (".csv", ".npz")
TASKS = data.TASKS
ACTIVATIONS = Names(nn.ACTIVATIONS)
INITS = Names(nn.INITIALISERS, first=("auto",))
LOSSES = Names(nn.LOSSES, first=("auto",))
DTYPES = ("float32", "float64")
OPTIMIZERS = Names(nn.OPTIMIZERS)

MAX_HIDDEN_LAYERS = 32
MAX_LAYER_WIDTH = 65536


class ConfigError(ValueError):
    """A configuration value a person has to fix; the message names the dotted field and the value.

    `field` is the dotted name of the offending setting (for example "optimizer.lr") when there is one, so the
    app can put the cursor on the right input.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


Rule = Callable[[str, Any], Any]


def listed(names: tuple[str, ...] | list[str], last: str = "or") -> str:
    """Names for a sentence: ``sgd, rmsprop or adam``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


def as_written(value: Any) -> str:
    """A value echoed in an error message the way a person wrote it in the TOML file: 'adam', true, 0.0001.

    Any value, valid or not, can be echoed; a string keeps its quotes, so ``got '64'`` tells a number typed
    as text from a number. (The run's log shows valid settings plainer: ``as_logged``.)
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def as_logged(value: Any) -> str:
    """A valid setting as a person reads it: adam, 0.01, [64, 64], true. The run's log and the Model tab's
    fields show settings so.

    No quotes (the setting's name says what it holds) and floats to 6 significant digits; a flag is written as
    in the file. (Values in error messages keep their quotes: ``as_written``.)
    """
    if isinstance(value, float):
        return f"{value:g}"
    return as_written(value) if isinstance(value, bool) else str(value)


def did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _not_a_number(name: str, value: Any, wanted: str) -> ConfigError:
    message = f"{name} must be {wanted}, got {as_written(value)}"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            pass
        else:
            message += " (a string: write the number without quotes)"
    return ConfigError(message, name)


def _number(name: str, value: Any, wanted: str) -> int | float:
    """The value if it is a finite real number (never a bool; NumPy scalars are fine); else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _not_a_number(name, value, wanted)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {as_written(value)}", name)
    return value


def real(
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> Rule:
    """A finite float, bounded by any of: > above, >= at_least, < below, <= at_most."""

    def check(name: str, value: Any) -> float:
        number = _number(name, value, "a number")
        if above is not None and not number > above:
            raise ConfigError(f"{name} must be > {as_written(above)}, got {as_written(value)}", name)
        if at_least is not None and not number >= at_least:
            raise ConfigError(f"{name} must be >= {as_written(at_least)}, got {as_written(value)}", name)
        if below is not None and not number < below:
            raise ConfigError(f"{name} must be < {as_written(below)}, got {as_written(value)}", name)
        if at_most is not None and not number <= at_most:
            raise ConfigError(f"{name} must be <= {as_written(at_most)}, got {as_written(value)}", name)
        return float(number)

    return check


def whole(at_least: int, at_most: int) -> Rule:
    """A whole number in [at_least, at_most]; a float with no fractional part (32.0) counts as whole."""

    def check(name: str, value: Any) -> int:
        number = _number(name, value, "a whole number")
        if not isinstance(number, numbers.Integral) and not float(number).is_integer():
            raise ConfigError(f"{name} must be a whole number, got {as_written(value)}", name)
        if number < at_least:
            raise ConfigError(f"{name} must be a whole number >= {at_least}, got {as_written(value)}", name)
        if number > at_most:
            raise ConfigError(f"{name} must be a whole number <= {at_most}, got {as_written(value)}", name)
        return int(number)

    return check


def one_of(options: Sequence[str]) -> Rule:
    """One of a fixed set of names."""

    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            hint = did_you_mean(value, options) if isinstance(value, str) else ""
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {as_written(value)}{hint}", name)
        return value

    return check


def text(name: str, value: Any) -> str:
    """Any string."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string in quotes, got {as_written(value)}", name)
    return value


def flag(name: str, value: Any) -> bool:
    """true or false (not 0/1, not "yes")."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {as_written(value)}", name)
    return value


def dataset_name(name: str, value: Any) -> str:
    """A built-in dataset name, or a path to a .csv or .npz file (whether it exists is checked on loading)."""
    if isinstance(value, str) and (value in BUILTIN_DATASETS or value.lower().endswith(DATA_FILE_SUFFIXES)):
        return value
    hint = did_you_mean(value, BUILTIN_DATASETS) if isinstance(value, str) else ""
    raise ConfigError(
        f"{name} must be one of {', '.join(BUILTIN_DATASETS)} or a path ending in .csv or .npz, "
        f"got {as_written(value)}{hint}",
        name,
    )


def sample_count(name: str, value: Any) -> int:
    """0 (the dataset's own default size) or a whole number from 8 to 1_000_000."""
    count = whole(0, 1_000_000)(name, value)
    if 0 < count < 8:
        raise ConfigError(
            f"{name} must be 0 (the dataset's default) or a whole number >= 8, got {as_written(value)}", name
        )
    return count


def list_of(item_rule: Rule, example: str, max_items: int | None = None, noun: str = "entries") -> Rule:
    """A list whose entries each follow item_rule; entries are named name[0], name[1], ..."""

    def check(name: str, value: Any) -> list:
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list like {example}, got {as_written(value)}", name)
        if max_items is not None and len(value) > max_items:
            raise ConfigError(f"{name} has {len(value)} {noun}; at most {max_items} are allowed", name)
        return [item_rule(f"{name}[{i}]", item) for i, item in enumerate(value)]

    return check

