"""The run configuration: what to learn, with which network, optimizer and schedule.

One job per module:

    rules.py      the names a value may take (read from the nn and data registries), the rules, ConfigError
    schema.py     the four sections and their fields, RunConfig and its validation, apply_overrides
    toml_file.py  TOML text and files, both ways (atomic saves; data paths relative to the file)
    presets.py    default_config: settings that train each built-in dataset well
    parsing.py    values typed as text by a person (CLI flags, the app's inputs)

Everything a caller needs is importable from here: ``from nntui.train.config import RunConfig``.
"""

from nntui.train.config.parsing import parse_field, parse_hidden, parse_number
from nntui.train.config.presets import default_config
from nntui.train.config.rules import (
    ACTIVATIONS,
    BUILTIN_DATASETS,
    DATA_FILE_SUFFIXES,
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
    dataset_name,
    flag,
    list_of,
    one_of,
    real,
    sample_count,
    text,
    whole,
)
from nntui.train.config.schema import (
    SECTIONS,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    TrainingConfig,
    about,
    apply_overrides,
    option,
    resolve_loss,
    validate_field,
)

__all__ = [
    "ACTIVATIONS",
    "BUILTIN_DATASETS",
    "DATA_FILE_SUFFIXES",
    "DTYPES",
    "INITS",
    "LOSSES",
    "MAX_HIDDEN_LAYERS",
    "MAX_LAYER_WIDTH",
    "OPTIMIZERS",
    "SECTIONS",
    "TASKS",
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "OptimizerConfig",
    "Rule",
    "RunConfig",
    "TrainingConfig",
    "about",
    "apply_overrides",
    "as_logged",
    "dataset_name",
    "default_config",
    "flag",
    "list_of",
    "one_of",
    "option",
    "parse_field",
    "parse_hidden",
    "parse_number",
    "real",
    "resolve_loss",
    "sample_count",
    "text",
    "validate_field",
    "whole",
]
