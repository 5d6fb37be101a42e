"""A run configuration as TOML text and files, both ways; a data file's path is kept relative to the file.

A data file's path in a config file is relative to that file's folder, as in most tools' config files:
``read`` and ``save`` (and checkpoints, through ``loads(text, base=...)`` and ``dumps(relative_to=...)``)
convert between that and a path relative to the working directory, so a config file and its data can move
together and be used from anywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from nntui.train.config.rules import BUILTIN_DATASETS, ConfigError
from nntui.train.config.schema import SECTIONS, RunConfig
from nntui.train.files import write_atomically


def loads(toml_text: str, base: str | os.PathLike | None = None) -> RunConfig:
    """Parse and validate TOML text; a relative data file path in it is taken relative to ``base``."""
    try:
        d = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}") from None
    return moved_data_path(RunConfig.from_dict(d), base, None)


def read(path: Path) -> RunConfig:
    """Read and validate a TOML file; problems in the file come back as ConfigError prefixed with its path."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a config file") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    try:
        d = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    try:
        return moved_data_path(RunConfig.from_dict(d), path.parent, None)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}", error.field) from None


def moved_data_path(config: RunConfig, base: str | os.PathLike | None,
                    relative_to: str | os.PathLike | None) -> RunConfig:
    """``config`` with a relative data file path moved from ``relative_to``'s view to ``base``'s.

    ``base`` given: a path relative to ``base`` becomes one relative to the working directory. ``relative_to``
    given: a path relative to the working directory becomes one relative to ``relative_to``. Built-in names
    and absolute paths stay as they are.
    """
    dataset = config.data.dataset
    if dataset in BUILTIN_DATASETS or os.path.isabs(dataset) or (base is None and relative_to is None):
        return config
    if base is not None:
        dataset = os.path.normpath(os.path.join(base, dataset))
        if os.path.isabs(dataset) and not os.path.relpath(dataset).startswith(os.pardir):
            dataset = os.path.relpath(dataset)  # under the working directory: say it the short way
    if relative_to is not None:
        try:
            dataset = os.path.relpath(dataset, relative_to)
        except ValueError:  # another drive (Windows): keep it absolute
            dataset = os.path.abspath(dataset)
    twin = copy.deepcopy(config)
    twin.data.dataset = dataset
    return twin


def dumps(config: RunConfig, relative_to: str | os.PathLike | None = None) -> str:
    """The config as commented TOML text; loads(dumps()) gives back an equal config.

    With ``relative_to`` (the folder the text will be stored in), a relative data file path is written
    relative to that folder; ``loads(text, base=that folder)`` reads it back.
    """
    config.validate()
    stored = moved_data_path(config, None, relative_to)
    lines = ["# nntui run configuration. Every key is optional: a missing key keeps its default."]
    for section_name in SECTIONS:
        section = getattr(stored, section_name)
        pairs = [
            (f"{f.name} = {toml_value(getattr(section, f.name))}", f.metadata["help"])
            for f in dataclasses.fields(section)
        ]
        width = max(len(pair) for pair, _ in pairs)
        lines += ["", f"[{section_name}]"]
        lines += [f"{pair:<{width}}  # {help}" for pair, help in pairs]
    return "\n".join(lines) + "\n"


def save(config: RunConfig, path: Path, *, replace: bool = True) -> None:
    """Write the config as TOML, atomically (see ``nntui.train.files``): an old file stays whole on any failure."""
    content = dumps(config, relative_to=path.parent)  # first: a bad config creates no file
    write_atomically(path, content, replace=replace)


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_value(value: Any) -> str:
    """One value as TOML: str, bool, int, float, or a list of those (all that a RunConfig holds)."""
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back as exactly this float, e.g. 0.01, 1e-08
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a TOML value")


def _toml_char(c: str) -> str:
    """One character inside a TOML basic string: quotes, backslashes and control characters escaped."""
    if c in _TOML_ESCAPES:
        return _TOML_ESCAPES[c]
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04x}"
    return c


