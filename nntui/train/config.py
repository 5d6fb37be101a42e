"""The run configuration: what to learn, with which network, optimizer and schedule.

A run is described by four small sections, each a dataclass, read from and written to TOML:

    [data]        which dataset, classification or regression, how much to hold out
    [model]       hidden layer widths and activations, initialisation, dropout, loss, dtype
    [optimizer]   sgd, rmsprop or adam and their knobs
    [training]    batch size, epochs, seed

Every dataclass field carries its own rule and help text in its metadata, so there is one place that says what
a value may be. `validate_field` checks one field with that rule (the app checks each input as it is typed);
`RunConfig.problems()` runs every field rule plus the few checks that involve two fields at once
(`model.hidden` and `model.activations` must have the same length, and so on). Messages name the dotted field
and the offending value, so a person can fix the file without reading this code:

    optimizer.lr must be > 0, got -1
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import numbers
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_DATASETS = ("spiral", "moons", "circles", "xor", "blobs", "digits")
DATA_FILE_SUFFIXES = (".csv", ".npz")
TASKS = ("classification", "regression")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
INITS = ("auto", "he_normal", "he_uniform", "xavier_normal", "xavier_uniform")
LOSSES = ("auto", "softmax_ce", "bce", "mse")
DTYPES = ("float32", "float64")
OPTIMIZERS = ("sgd", "rmsprop", "adam")

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


# ---------------------------------------------------------------------------------------------------------
# Rules. A rule is a function (dotted_name, value) -> value: it returns the value in its canonical type
# (an int given for a float field comes back as a float) or raises ConfigError.
# ---------------------------------------------------------------------------------------------------------

Rule = Callable[[str, Any], Any]


def _show(value: Any) -> str:
    """Show a value the way a person wrote it in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _suggestion(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _not_a_number(name: str, value: Any, wanted: str) -> ConfigError:
    message = f"{name} must be {wanted}, got {_show(value)}"
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
        raise ConfigError(f"{name} must be a finite number, got {_show(value)}", name)
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
            raise ConfigError(f"{name} must be > {_show(above)}, got {_show(value)}", name)
        if at_least is not None and not number >= at_least:
            raise ConfigError(f"{name} must be >= {_show(at_least)}, got {_show(value)}", name)
        if below is not None and not number < below:
            raise ConfigError(f"{name} must be < {_show(below)}, got {_show(value)}", name)
        if at_most is not None and not number <= at_most:
            raise ConfigError(f"{name} must be <= {_show(at_most)}, got {_show(value)}", name)
        return float(number)

    return check


def whole(at_least: int, at_most: int) -> Rule:
    """A whole number in [at_least, at_most]; a float with no fractional part (32.0) counts as whole."""

    def check(name: str, value: Any) -> int:
        number = _number(name, value, "a whole number")
        if not isinstance(number, numbers.Integral) and not float(number).is_integer():
            raise ConfigError(f"{name} must be a whole number, got {_show(value)}", name)
        if number < at_least:
            raise ConfigError(f"{name} must be a whole number >= {at_least}, got {_show(value)}", name)
        if number > at_most:
            raise ConfigError(f"{name} must be a whole number <= {at_most}, got {_show(value)}", name)
        return int(number)

    return check


def one_of(options: tuple[str, ...]) -> Rule:
    """One of a fixed set of names."""

    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            hint = _suggestion(value, options) if isinstance(value, str) else ""
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {_show(value)}{hint}", name)
        return value

    return check


def text(name: str, value: Any) -> str:
    """Any string."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string in quotes, got {_show(value)}", name)
    return value


def flag(name: str, value: Any) -> bool:
    """true or false (not 0/1, not "yes")."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {_show(value)}", name)
    return value


def dataset_name(name: str, value: Any) -> str:
    """A built-in dataset name, or a path to a .csv or .npz file (whether it exists is checked on loading)."""
    if isinstance(value, str) and (value in BUILTIN_DATASETS or value.lower().endswith(DATA_FILE_SUFFIXES)):
        return value
    hint = _suggestion(value, BUILTIN_DATASETS) if isinstance(value, str) else ""
    raise ConfigError(
        f"{name} must be one of {', '.join(BUILTIN_DATASETS)} or a path ending in .csv or .npz, "
        f"got {_show(value)}{hint}",
        name,
    )


def sample_count(name: str, value: Any) -> int:
    """0 (the dataset's own default size) or a whole number from 8 to 1_000_000."""
    count = whole(0, 1_000_000)(name, value)
    if 0 < count < 8:
        raise ConfigError(
            f"{name} must be 0 (the dataset's default) or a whole number >= 8, got {_show(value)}", name
        )
    return count


def list_of(item_rule: Rule, example: str, max_items: int | None = None, noun: str = "entries") -> Rule:
    """A list whose entries each follow item_rule; entries are named name[0], name[1], ..."""

    def check(name: str, value: Any) -> list:
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be a list like {example}, got {_show(value)}", name)
        if max_items is not None and len(value) > max_items:
            raise ConfigError(f"{name} has {len(value)} {noun}; at most {max_items} are allowed", name)
        return [item_rule(f"{name}[{i}]", item) for i, item in enumerate(value)]

    return check


# ---------------------------------------------------------------------------------------------------------
# The schema. Each dataclass field carries its rule and a one-line help text in its metadata; dumps() writes the
# help text as a comment and the app can show it beside the input.
# ---------------------------------------------------------------------------------------------------------


def about(rule: Rule, help: str) -> dict[str, Any]:
    """The metadata every config field carries: its validation rule and a one-line help text."""
    return {"rule": rule, "help": help}


def option(default: Any, rule: Rule, help: str) -> Any:
    """A dataclass field with a plain (immutable) default, its validation rule and help text."""
    return field(default=default, metadata=about(rule, help))


@dataclass
class DataConfig:
    """What to learn from: a built-in dataset or a CSV/NPZ file, the task, and the validation split."""

    dataset: str = option(
        "spiral", dataset_name, "spiral, moons, circles, xor, blobs, digits, or a .csv/.npz"
    )
    target: str = option("", text, 'CSV label column; "" means the last column')
    task: str = option("classification", one_of(TASKS), "classification or regression")
    n_samples: int = option(0, sample_count, "0 = the dataset's default size (synthetic only)")
    noise: float = option(-1.0, real(), "< 0 = the dataset's default noise (synthetic only)")
    n_classes: int = option(3, whole(2, 20), "number of classes (spiral and blobs only)")
    val_fraction: float = option(0.2, real(above=0, below=1), "share of samples held out for validation")


@dataclass
class ModelConfig:
    """The network: hidden layer widths with one activation each, initialisation, dropout, loss and dtype.

    An empty `hidden` list is a linear model (inputs straight to outputs).
    """

    hidden: list[int] = field(
        default_factory=lambda: [64, 64],
        metadata=about(
            list_of(whole(1, MAX_LAYER_WIDTH), "[64, 64]", MAX_HIDDEN_LAYERS, noun="layers"),
            "widths of the hidden layers; [] is a linear model",
        ),
    )
    activations: list[str] = field(
        default_factory=lambda: ["relu", "relu"],
        metadata=about(
            list_of(one_of(ACTIVATIONS), '["relu", "relu"]'),
            "one per hidden layer: relu, leaky_relu, tanh, sigmoid",
        ),
    )
    init: str = option("auto", one_of(INITS), "auto = he for relu-family, xavier for tanh/sigmoid")
    dropout: float = option(
        0.0, real(at_least=0, below=1), "probability of dropping a hidden unit in training"
    )
    loss: str = option("auto", one_of(LOSSES), "auto = softmax_ce for classification, mse for regression")
    dtype: str = option("float32", one_of(DTYPES), "float32 or float64")

    def init_for(self, activation: str) -> str:
        """The initialiser to use before a layer with this activation, with "auto" resolved.

        He initialisation keeps the variance of ReLU-family outputs steady; Xavier suits tanh and sigmoid.
        """
        if self.init != "auto":
            return self.init
        return "he_normal" if activation in ("relu", "leaky_relu") else "xavier_uniform"


@dataclass
class OptimizerConfig:
    """Which optimizer and its settings; knobs a given optimizer does not use are ignored by it."""

    name: str = option("adam", one_of(OPTIMIZERS), "sgd, rmsprop or adam")
    lr: float = option(0.01, real(above=0, at_most=10), "learning rate: the size of each step")
    momentum: float = option(0.0, real(at_least=0, below=1), "sgd and rmsprop")
    nesterov: bool = option(False, flag, "sgd only; needs momentum > 0")
    weight_decay: float = option(0.0, real(at_least=0), "L2 penalty added to the gradient")
    beta1: float = option(0.9, real(at_least=0, below=1), "adam: decay of the gradient average")
    beta2: float = option(0.999, real(at_least=0, below=1), "adam: decay of the squared-gradient average")
    alpha: float = option(0.99, real(at_least=0, below=1), "rmsprop: decay of the squared-gradient average")
    eps: float = option(1e-8, real(above=0), "added to the denominator so it is never zero")


@dataclass
class TrainingConfig:
    """How long and in what pieces to train, and the seed that makes a run repeatable bit for bit."""

    batch_size: int = option(32, whole(1, 1_000_000), "samples per step")
    epochs: int = option(30, whole(1, 1_000_000), "passes over the training set")
    seed: int = option(0, whole(0, 2**32 - 1), "same seed, same run")


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "optimizer": OptimizerConfig,
    "training": TrainingConfig,
}


def _field_names(section: str) -> list[str]:
    return [f.name for f in dataclasses.fields(SECTIONS[section])]


def _all_dotted_names() -> list[str]:
    return [f"{section}.{name}" for section in SECTIONS for name in _field_names(section)]


def _rule(dotted: str) -> Rule:
    """The rule for a dotted field name, or a ConfigError that suggests the closest real one."""
    if dotted == "model.activation":  # the singular override: one activation for every hidden layer
        return one_of(ACTIVATIONS)
    section, _, name = dotted.partition(".")
    if section in SECTIONS and name:
        for f in dataclasses.fields(SECTIONS[section]):
            if f.name == name:
                return f.metadata["rule"]
        raise ConfigError(_unknown_key_message(name, section), dotted)
    everything = _all_dotted_names()
    same_key = [d for d in everything if d.endswith(f".{dotted}")]  # "lr" -> "optimizer.lr"
    close = same_key or difflib.get_close_matches(dotted, everything, n=1)
    if close:
        raise ConfigError(f"unknown setting {dotted!r}; did you mean {close[0]!r}?", dotted)
    raise ConfigError(
        f"unknown setting {dotted!r}; settings are written section.key, e.g. optimizer.lr", dotted
    )


def _unknown_key_message(key: str, section: str) -> str:
    names = _field_names(section)
    hint = _suggestion(key, names) or f"; keys are {', '.join(names)}"
    return f"unknown key {key!r} in [{section}]{hint}"


def validate_field(dotted: str, value: Any) -> Any:
    """Check one setting by its dotted name ("optimizer.lr") with the same rule the whole config uses.

    Returns the value in its canonical type (an int for a float field comes back as a float); raises
    ConfigError naming the field. Checks that involve two fields (hidden vs activations, loss vs task,
    nesterov vs momentum) need the whole config: see RunConfig.problems(). "model.activation" (singular)
    is accepted and checked as one activation name.
    """
    return _rule(dotted)(dotted, value)


# ---------------------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------------------


@dataclass
class RunConfig:
    """A whole run: data, model, optimizer and training sections.

    Read it with `from_toml(path)` or `loads(text)`, write it with `save(path)` or `dumps()`; both directions
    validate. Build variations with `apply_overrides(config, {"optimizer.lr": 0.1})`.

    A data file's path in a config file is relative to that file's folder, as in most tools' config files:
    `from_toml` and `save` (and checkpoints, through `loads(text, base=...)` and `dumps(relative_to=...)`)
    convert between that and a path relative to the working directory, so a config file and its data can move
    together and be used from anywhere.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    # --- validation ---

    def problems(self) -> list[str]:
        """Every problem with this config, one message each; [] when it is valid.

        Field problems come first, in schema order (data, model, optimizer, training). The checks across
        fields (loss vs task, hidden vs activations, ...) run only once every field is well formed.
        """
        return [error.args[0] for error in self._errors()]

    def validate(self) -> RunConfig:
        """Return self if valid; otherwise raise ConfigError for the first problem.

        Values are also brought to their canonical types in place (lr = 1 becomes 1.0), so a config that
        passed validation compares equal to the same config read back from its TOML.
        """
        errors = self._errors()
        if errors:
            raise errors[0]
        for section_name in SECTIONS:
            section = getattr(self, section_name)
            for f in dataclasses.fields(section):
                dotted = f"{section_name}.{f.name}"
                setattr(section, f.name, f.metadata["rule"](dotted, getattr(section, f.name)))
        return self

    def _errors(self) -> list[ConfigError]:
        errors = []
        for section_name in SECTIONS:
            section = getattr(self, section_name)
            for f in dataclasses.fields(section):
                try:
                    f.metadata["rule"](f"{section_name}.{f.name}", getattr(section, f.name))
                except ConfigError as error:
                    errors.append(error)
        if not errors:  # the checks across fields assume each field is well formed
            errors += self._cross_field_errors()
        return errors

    def _cross_field_errors(self) -> list[ConfigError]:
        """The rules that involve two fields at once."""
        data, model, opt = self.data, self.model, self.optimizer
        errors = []

        def blame(field: str, message: str) -> None:
            errors.append(ConfigError(message, field))

        if data.task == "regression" and data.dataset in BUILTIN_DATASETS:
            blame(
                "data.task",
                f"data.task = 'regression' needs a .csv or .npz dataset; "
                f"the built-in {data.dataset!r} is a classification set",
            )
        if len(model.hidden) != len(model.activations):
            blame(
                "model.activations",
                f"model.hidden has {_count(len(model.hidden), 'layer')} "
                f"but model.activations has {_count(len(model.activations), 'entry', 'entries')}",
            )
        if data.task == "classification" and model.loss == "mse":
            blame(
                "model.loss",
                "model.loss = 'mse' is for regression but data.task is 'classification'; "
                "use 'softmax_ce', 'bce' (2 classes) or 'auto'",
            )
        if data.task == "regression" and model.loss in ("softmax_ce", "bce"):
            blame(
                "model.loss",
                f"model.loss = {model.loss!r} is for classification but data.task is 'regression'; "
                "use 'mse' or 'auto'",
            )
        if opt.nesterov and opt.name != "sgd":
            blame(
                "optimizer.nesterov",
                f"optimizer.nesterov = true applies only to sgd, but optimizer.name is {opt.name!r}",
            )
        elif opt.nesterov and opt.momentum == 0:
            blame(
                "optimizer.nesterov",
                "optimizer.nesterov = true needs optimizer.momentum > 0, got 0; set a momentum such as 0.9",
            )
        return errors

    def resolved_loss(self) -> str:
        """The loss to build, with "auto" resolved: softmax_ce for classification, mse for regression."""
        if self.model.loss != "auto":
            return self.model.loss
        return "softmax_ce" if self.data.task == "classification" else "mse"

    # --- dictionaries ---

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dicts, {"optimizer": {"lr": 0.01, ...}, ...}; lists are copies."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """Build and validate a config from nested dicts; missing sections and keys keep their defaults."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"a config must be a table of sections, got {_show(d)}")
        sections = {}
        for section_name, values in d.items():
            if section_name not in SECTIONS:
                raise ConfigError(_unknown_section_message(section_name, values))
            if not isinstance(values, Mapping):
                raise ConfigError(f"[{section_name}] must be a section of keys, got {_show(values)}")
            known = _field_names(section_name)
            for key in values:
                if key not in known:
                    raise ConfigError(_unknown_key_message(key, section_name), f"{section_name}.{key}")
            sections[section_name] = SECTIONS[section_name](**{k: _copy(v) for k, v in values.items()})
        return cls(**sections).validate()

    # --- TOML ---

    @classmethod
    def loads(cls, toml_text: str, base: str | os.PathLike | None = None) -> RunConfig:
        """Parse and validate TOML text; a relative data file path in it is taken relative to ``base``."""
        try:
            d = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"not valid TOML: {error}") from None
        return cls.from_dict(d)._with_data_path(base, None)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> RunConfig:
        """Read and validate a TOML file; problems in the file come back as ConfigError prefixed with its path."""
        path = Path(path)
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
            return cls.from_dict(d)._with_data_path(path.parent, None)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}", error.field) from None

    def _with_data_path(self, base: str | os.PathLike | None, relative_to: str | os.PathLike | None) -> RunConfig:
        """This config with a relative data file path moved from ``relative_to``'s view to ``base``'s.

        ``base`` given: a path relative to ``base`` becomes one relative to the working directory. ``relative_to``
        given: a path relative to the working directory becomes one relative to ``relative_to``. Built-in names
        and absolute paths stay as they are.
        """
        dataset = self.data.dataset
        if dataset in BUILTIN_DATASETS or os.path.isabs(dataset) or (base is None and relative_to is None):
            return self
        if base is not None:
            dataset = os.path.normpath(os.path.join(base, dataset))
            if os.path.isabs(dataset) and not os.path.relpath(dataset).startswith(os.pardir):
                dataset = os.path.relpath(dataset)  # under the working directory: say it the short way
        if relative_to is not None:
            try:
                dataset = os.path.relpath(dataset, relative_to)
            except ValueError:  # another drive (Windows): keep it absolute
                dataset = os.path.abspath(dataset)
        twin = copy.deepcopy(self)
        twin.data.dataset = dataset
        return twin

    def dumps(self, relative_to: str | os.PathLike | None = None) -> str:
        """The config as commented TOML text; loads(dumps()) gives back an equal config.

        With ``relative_to`` (the folder the text will be stored in), a relative data file path is written
        relative to that folder; ``loads(text, base=that folder)`` reads it back.
        """
        self.validate()
        stored = self._with_data_path(None, relative_to)
        lines = ["# nntui run configuration. Every key is optional: a missing key keeps its default."]
        for section_name in SECTIONS:
            section = getattr(stored, section_name)
            pairs = [
                (f"{f.name} = {_toml_value(getattr(section, f.name))}", f.metadata["help"])
                for f in dataclasses.fields(section)
            ]
            width = max(len(pair) for pair, _ in pairs)
            lines += ["", f"[{section_name}]"]
            lines += [f"{pair:<{width}}  # {help}" for pair, help in pairs]
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike) -> None:
        """Write the config as TOML, atomically: a crash or error mid-way leaves any old file untouched.

        The text goes to a temporary file in the same folder, which then replaces the target in one step
        (os.replace is atomic within a file system).
        """
        path = Path(path)
        content = self.dumps(relative_to=path.parent).encode("utf-8")  # first: a bad config creates no file
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 before the umask, like any newly created file
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _unknown_section_message(name: str, values: Any) -> str:
    sections = ", ".join(SECTIONS)
    if not isinstance(values, Mapping):  # a key written above every section header, e.g. lr = 0.1
        owners = [s for s in SECTIONS if name in _field_names(s)]
        if owners:
            return f"key {name!r} must sit inside a section: put it under [{owners[0]}]"
        return f"unknown key {name!r} outside any section; sections are {sections}"
    close = difflib.get_close_matches(name, list(SECTIONS), n=1)
    if close:
        return f"unknown section [{name}]; did you mean [{close[0]}]?"
    return f"unknown section [{name}]; sections are {sections}"


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_value(value: Any) -> str:
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
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a TOML value")


def _toml_char(c: str) -> str:
    """One character inside a TOML basic string: quotes, backslashes and control characters escaped."""
    if c in _TOML_ESCAPES:
        return _TOML_ESCAPES[c]
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04x}"
    return c


# ---------------------------------------------------------------------------------------------------------
# Building variations, and reading values typed by a person (CLI flags, the app's inputs)
# ---------------------------------------------------------------------------------------------------------


def apply_overrides(config: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """A new, validated config with dotted keys replaced: {"optimizer.lr": 0.1, "model.hidden": [64, 32]}.

    The original is not changed. Two conveniences for the hidden layers:
    - "model.activation" (singular) sets the activation of every hidden layer;
    - when "model.hidden" changes length and no activation is given, the activations are rebuilt by
      repeating the first one ("relu" if there was none).
    """
    if "model.activation" in overrides and "model.activations" in overrides:
        raise ConfigError("give model.activation or model.activations, not both", "model.activation")
    d = config.to_dict()
    for dotted, value in overrides.items():
        _rule(dotted)  # raises for an unknown name, with a suggestion
        if dotted != "model.activation":
            section, name = dotted.split(".")
            d[section][name] = _copy(value)
    model = d["model"]
    if "model.activation" in overrides:
        activation = validate_field("model.activation", overrides["model.activation"])
        model["activations"] = [activation] * _length(model["hidden"])
    elif "model.activations" not in overrides and _length(model["hidden"]) != len(config.model.activations):
        first = config.model.activations[0] if config.model.activations else "relu"
        model["activations"] = [first] * _length(model["hidden"])
    return RunConfig.from_dict(d)


def _length(hidden: Any) -> int:
    return len(hidden) if isinstance(hidden, list) else 0  # a malformed list is reported by validation


def default_config(dataset: str = "spiral") -> RunConfig:
    """Settings that train the given dataset well; a .csv or .npz path gets a general-purpose network."""
    dataset = validate_field("data.dataset", dataset)
    config = RunConfig(data=DataConfig(dataset=dataset))
    model, opt, training = config.model, config.optimizer, config.training
    if dataset == "spiral":  # three interleaved arms: needs depth and a fair number of epochs
        model.hidden, model.activations = [64, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.01
        training.batch_size, training.epochs = 32, 60
    elif dataset in ("moons", "circles", "xor"):  # two smooth classes: small tanh nets draw round boundaries
        config.data.n_classes = 2
        model.hidden, model.activations = [16, 16], ["tanh", "tanh"]
        opt.name, opt.lr = "adam", 0.01
        training.epochs = 40
    elif dataset == "blobs":  # nearly linearly separable: plain momentum SGD is enough
        model.hidden, model.activations = [16], ["relu"]
        opt.name, opt.lr, opt.momentum = "sgd", 0.1, 0.9
        training.epochs = 20
    elif dataset == "digits":  # 8x8 images, 64 inputs, 10 classes: ~97-98% validation accuracy in 30 epochs
        config.data.n_classes = 10
        model.hidden, model.activations = [128, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.003
        training.epochs = 30
    else:  # a user's CSV or NPZ file
        model.hidden, model.activations = [64, 64], ["relu", "relu"]
        opt.name, opt.lr = "adam", 0.003
        training.epochs = 30
    return config.validate()


def parse_number(field: str, text: str, kind: type = float) -> int | float:
    """Read a number typed by a person ("0.01", "1e-3", "32") for the dotted field; kind is float or int.

    Only the reading is checked here (and that the number is finite); bounds are validate_field's job.
    """
    text = text.strip()
    if not text:
        raise ConfigError(f"{field} needs a number, got nothing", field)
    if kind is int:
        try:
            return int(text)
        except ValueError:
            pass  # maybe "32.0" or "1e3": whole numbers written as floats
    wanted = "a whole number" if kind is int else "a number"
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{field} must be {wanted}, got {text!r}", field) from None
    if not math.isfinite(number):
        raise ConfigError(f"{field} must be a finite number, got {text!r}", field)
    if kind is int:
        if not number.is_integer():
            raise ConfigError(f"{field} must be a whole number, got {text!r}", field)
        return int(number)
    return number


def parse_hidden(text: str) -> list[int]:
    """Read hidden layer widths from a flag like "--hidden 64,32"; "" or "none" means no hidden layer."""
    cleaned = text.strip().strip("[]").strip()
    if cleaned.lower() in ("", "none"):
        return []
    widths = []
    for i, part in enumerate(cleaned.split(",")):
        part = part.strip()
        if not part:
            raise ConfigError(
                f"model.hidden has an empty entry in {text!r}; write widths like 64,32", "model.hidden"
            )
        try:
            widths.append(int(part))
        except ValueError:
            raise ConfigError(
                f"model.hidden[{i}] must be a whole number, got {part!r}; write widths like 64,32",
                "model.hidden",
            ) from None
    return validate_field("model.hidden", widths)


def parse_field(dotted: str, text: str) -> Any:
    """Read and validate a value typed as text for any field ("optimizer.lr", "0.1"), e.g. a CLI override.

    Numbers, true/false, comma-separated lists for model.hidden and model.activations, plain text otherwise.
    """
    rule = _rule(dotted)
    if dotted == "model.hidden":
        return parse_hidden(text)
    if dotted == "model.activations":
        names = (
            [] if text.strip().lower() in ("", "none") else [n.strip() for n in text.strip("[] ").split(",")]
        )
        return rule(dotted, names)
    default = "" if dotted == "model.activation" else _default_value(dotted)
    if isinstance(default, bool):
        word = text.strip().lower()
        if word not in ("true", "false"):
            raise ConfigError(f"{dotted} must be true or false, got {text!r}", dotted)
        return word == "true"
    if isinstance(default, (int, float)):
        return rule(dotted, parse_number(dotted, text, type(default)))
    return rule(dotted, text.strip())


def _default_value(dotted: str) -> Any:
    section, name = dotted.split(".")
    return getattr(SECTIONS[section](), name)


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 layer``, ``2 layers``; ``many`` for irregular plurals."""
    return f"{n} {one if n == 1 else many or one + 's'}"
