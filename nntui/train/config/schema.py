"""The run configuration's schema: four sections of fields, each field with its rule and help text.

A run is described by four small sections, each a dataclass, read from and written to TOML (see ``toml_file``):

    [data]        which dataset, classification or regression, how much to hold out
    [model]       hidden layer widths and activations, initialisation, dropout, loss, dtype
    [optimizer]   which optimizer and its knobs
    [training]    batch size, epochs, seed

Every dataclass field carries its own rule and help text in its metadata, so there is one place that says what
a value may be. `validate_field` checks one field with that rule (the app checks each input as it is typed);
`RunConfig.problems()` runs every field rule plus the few checks that involve two fields at once
(`model.hidden` and `model.activations` must have the same length, and so on). Messages name the dotted field
and the offending value, so a person can fix the file without reading this code:

    optimizer.lr must be > 0, got -1
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nntui import nn
from nntui.train.config.rules import (
    ACTIVATIONS,
    BUILTIN_DATASETS,
    DTYPES,
    INITS,
    LOSSES,
    MAX_HIDDEN_LAYERS,
    MAX_LAYER_WIDTH,
    OPTIMIZERS,
    TASKS,
    ConfigError,
    Rule,
    as_logged,
    as_written,
    dataset_name,
    did_you_mean,
    flag,
    list_of,
    listed,
    one_of,
    real,
    sample_count,
    text,
    whole,
)

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
        "spiral", dataset_name, f"{', '.join(BUILTIN_DATASETS)}, or a .csv/.npz"
    )
    target: str = option("", text, 'CSV label column; "" means the last column')
    task: str = option("classification", one_of(TASKS), listed(TASKS))
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
            f"one per hidden layer: {', '.join(ACTIVATIONS)}",
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

        "auto" asks the activation (``init_hint``: He keeps the variance of ReLU-family outputs steady, Xavier
        suits tanh and sigmoid); the output layer ("output"), which feeds a loss, gets the default, Xavier.
        """
        if self.init != "auto":
            return self.init
        return nn.ACTIVATIONS[activation].init_hint if activation in nn.ACTIVATIONS else nn.Layer.init_hint


@dataclass
class OptimizerConfig:
    """Which optimizer and its settings; knobs a given optimizer does not use are ignored by it."""

    name: str = option("adam", one_of(OPTIMIZERS), listed(OPTIMIZERS))
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
    epochs: int = option(30, whole(0, 1_000_000), "passes over the training set; 0: on until paused (the app)")
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


def field_rule(dotted: str) -> Rule:
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
    hint = did_you_mean(key, names) or f"; keys are {', '.join(names)}"
    return f"unknown key {key!r} in [{section}]{hint}"


def validate_field(dotted: str, value: Any) -> Any:
    """Check one setting by its dotted name ("optimizer.lr") with the same rule the whole config uses.

    Returns the value in its canonical type (an int for a float field comes back as a float); raises
    ConfigError naming the field. Checks that involve two fields (hidden vs activations, loss vs task,
    nesterov vs momentum) need the whole config: see RunConfig.problems(). "model.activation" (singular)
    is accepted and checked as one activation name.
    """
    return field_rule(dotted)(dotted, value)


# ---------------------------------------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------------------------------------


def resolve_loss(loss: str, task: str) -> str:
    """The loss a model is built with: "auto" means softmax_ce for classification, mse for regression."""
    if loss != "auto":
        return loss
    return "softmax_ce" if task == "classification" else "mse"


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
        return resolve_loss(self.model.loss, self.data.task)

    # --- dictionaries ---

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dicts, {"optimizer": {"lr": 0.01, ...}, ...}; lists are copies."""
        return dataclasses.asdict(self)

    def changes_from(self, before: RunConfig) -> list[str]:
        """Each setting that differs from ``before``, as the run's log shows it (``as_logged``), by name:
        ``["optimizer.lr 0.01 -> 0.1", "optimizer.name adam -> sgd"]``."""
        old, new = before.to_dict(), self.to_dict()
        return sorted(f"{section}.{key} {as_logged(old[section][key])} -> {as_logged(value)}"
                      for section, values in new.items() for key, value in values.items()
                      if old[section][key] != value)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """Build and validate a config from nested dicts; missing sections and keys keep their defaults."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"a config must be a table of sections, got {as_written(d)}")
        sections = {}
        for section_name, values in d.items():
            if section_name not in SECTIONS:
                raise ConfigError(_unknown_section_message(section_name, values))
            if not isinstance(values, Mapping):
                raise ConfigError(f"[{section_name}] must be a section of keys, got {as_written(values)}")
            known = _field_names(section_name)
            for key in values:
                if key not in known:
                    raise ConfigError(_unknown_key_message(key, section_name), f"{section_name}.{key}")
            sections[section_name] = SECTIONS[section_name](**{k: _copy(v) for k, v in values.items()})
        return cls(**sections).validate()

    # --- TOML (the reading and writing live in toml_file.py) ---

    @classmethod
    def loads(cls, toml_text: str, base: str | os.PathLike | None = None) -> RunConfig:
        """Parse and validate TOML text; a relative data file path in it is taken relative to ``base``."""
        from nntui.train.config.toml_file import loads

        return loads(toml_text, base)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> RunConfig:
        """Read and validate a TOML file; problems in the file come back as ConfigError prefixed with its path."""
        from nntui.train.config.toml_file import read

        return read(Path(path))

    def dumps(self, relative_to: str | os.PathLike | None = None) -> str:
        """The config as commented TOML text; loads(dumps()) gives back an equal config.

        With ``relative_to`` (the folder the text will be stored in), a relative data file path is written
        relative to that folder; ``loads(text, base=that folder)`` reads it back.
        """
        from nntui.train.config.toml_file import dumps

        return dumps(self, relative_to)

    def save(self, path: str | os.PathLike, *, replace: bool = True) -> None:
        """Write the config as TOML, atomically: a crash or error mid-way leaves any old file untouched.

        ``replace=False``: refuse (FileExistsError) if ``path`` exists when the file is put in place.
        """
        from nntui.train.config.toml_file import save

        save(self, Path(path), replace=replace)


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
        field_rule(dotted)  # raises for an unknown name, with a suggestion
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


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 layer``, ``2 layers``; ``many`` for irregular plurals."""
    return f"{n} {one if n == 1 else many or one + 's'}"
