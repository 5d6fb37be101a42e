"""RunConfig: reading, writing, validating and overriding a run's configuration."""

import dataclasses
import os

import numpy as np
import pytest

from nntui.train.config import (
    BUILTIN_DATASETS,
    ConfigError,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    RunConfig,
    TrainingConfig,
    apply_overrides,
    default_config,
    parse_field,
    parse_hidden,
    parse_number,
    validate_field,
)


def config_with(dotted: str, value) -> dict:
    """A config dict that sets one dotted field and leaves the rest at their defaults."""
    section, name = dotted.split(".")
    return {section: {name: value}}


def refused(dotted: str, value) -> ConfigError:
    """The error RunConfig.from_dict raises for one bad value (the test fails if it is accepted)."""
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(config_with(dotted, value))
    return caught.value


# --- defaults -------------------------------------------------------------------------------------------


def test_defaults_validate_and_match_the_documented_schema():
    config = RunConfig().validate()
    assert config.problems() == []
    assert config.data == DataConfig("spiral", "", "classification", 0, -1.0, 3, 0.2)
    assert config.model == ModelConfig([64, 64], ["relu", "relu"], "auto", 0.0, "auto", "float32")
    assert config.optimizer == OptimizerConfig("adam", 0.01, 0.0, False, 0.0, 0.9, 0.999, 0.99, 1e-8)
    assert config.training == TrainingConfig(32, 30, 0)


def test_default_list_fields_are_not_shared_between_configs():
    first, second = RunConfig(), RunConfig()
    first.model.hidden.append(8)
    assert second.model.hidden == [64, 64]


@pytest.mark.parametrize("dataset", [*BUILTIN_DATASETS, "measurements.csv", "arrays.npz"])
def test_default_config_for_every_dataset_validates_and_round_trips(dataset):
    config = default_config(dataset)
    assert config.data.dataset == dataset
    assert RunConfig.loads(config.dumps()) == config


def test_default_configs_follow_the_recipes():
    spiral, moons, blobs, digits = (default_config(name) for name in ("spiral", "moons", "blobs", "digits"))
    assert (spiral.model.hidden, spiral.optimizer.name, spiral.training.epochs) == ([64, 64], "adam", 60)
    assert moons.model.activations == ["tanh", "tanh"] and moons.data.n_classes == 2
    assert (blobs.optimizer.name, blobs.optimizer.lr, blobs.optimizer.momentum) == ("sgd", 0.1, 0.9)
    assert digits.data.n_classes == 10 and digits.training.epochs == 30
    assert default_config() == spiral


def test_default_config_refuses_an_unknown_dataset_and_suggests():
    with pytest.raises(ConfigError, match=r"data.dataset .* got 'spirl'; did you mean 'spiral'\?"):
        default_config("spirl")


# --- TOML in and out ------------------------------------------------------------------------------------


def a_config_unlike_the_defaults() -> RunConfig:
    return RunConfig(
        data=DataConfig(
            dataset='C:\\data\\my "best" run.csv', target="price", task="regression", val_fraction=0.25
        ),
        model=ModelConfig(hidden=[], activations=[], init="xavier_uniform", dropout=0.5, dtype="float64"),
        optimizer=OptimizerConfig(name="sgd", lr=0.3, momentum=0.9, nesterov=True, weight_decay=1e-4),
        training=TrainingConfig(batch_size=7, epochs=3, seed=2**32 - 1),
    ).validate()


def test_dumps_then_loads_gives_an_equal_config():
    config = a_config_unlike_the_defaults()
    assert RunConfig.loads(config.dumps()) == config


def test_save_then_from_toml_gives_an_equal_config(tmp_path):
    config = a_config_unlike_the_defaults()
    path = tmp_path / "run.toml"
    config.save(path)
    assert RunConfig.from_toml(path) == config
    assert RunConfig.from_toml(str(path)) == config


def test_dumps_writes_commented_sections_a_person_can_read():
    text = RunConfig().dumps()
    for header in ("[data]", "[model]", "[optimizer]", "[training]"):
        assert header in text
    assert "hidden = [64, 64]" in text
    assert "lr = 0.01" in text and "# learning rate" in text


def test_partial_toml_keeps_the_defaults_for_missing_keys():
    config = RunConfig.loads("[optimizer]\nlr = 0.1\n")
    assert config.optimizer.lr == 0.1
    assert config.optimizer.name == "adam"
    assert config.model == ModelConfig()
    assert RunConfig.loads("") == RunConfig()


def test_an_int_where_a_float_belongs_is_accepted_as_a_float():
    config = RunConfig.loads("[optimizer]\nlr = 1\n")
    assert config.optimizer.lr == 1.0 and isinstance(config.optimizer.lr, float)
    assert RunConfig.loads(config.dumps()) == config


def test_a_whole_float_where_an_int_belongs_is_accepted_as_an_int():
    config = RunConfig.loads("[training]\nbatch_size = 64.0\n")
    assert config.training.batch_size == 64 and isinstance(config.training.batch_size, int)


def test_numpy_scalars_are_accepted_and_stored_as_plain_numbers():
    config = RunConfig.from_dict(
        {"training": {"batch_size": np.int64(16)}, "optimizer": {"lr": np.float32(0.5)}}
    )
    assert type(config.training.batch_size) is int and type(config.optimizer.lr) is float
    assert RunConfig.loads(config.dumps()) == config


def test_to_dict_is_a_copy():
    config = RunConfig()
    d = config.to_dict()
    d["model"]["hidden"].append(8)
    assert config.model.hidden == [64, 64]
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[optimizer]\nlr = = 0.1\n")
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_toml(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not valid TOML: ")
    assert "line 2" in message  # tomllib's own message says where


def test_missing_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="config file not found: ") as caught:
        RunConfig.from_toml(path)
    assert str(caught.value) == f"config file not found: {path}"


def test_a_bad_value_in_a_file_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[optimizer]\nlr = -1\n")
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_toml(path)
    assert str(caught.value) == f"{path}: optimizer.lr must be > 0, got -1"
    assert caught.value.field == "optimizer.lr"


# --- unknown names --------------------------------------------------------------------------------------


def test_unknown_key_suggests_the_closest_name():
    with pytest.raises(ConfigError) as caught:
        RunConfig.loads("[optimizer]\nlrr = 0.1\n")
    assert str(caught.value) == "unknown key 'lrr' in [optimizer]; did you mean 'lr'?"


def test_unknown_key_with_nothing_close_lists_the_keys():
    with pytest.raises(
        ConfigError, match=r"unknown key 'zzz' in \[training\]; keys are batch_size, epochs, seed"
    ):
        RunConfig.loads("[training]\nzzz = 1\n")


def test_unknown_section_lists_the_sections():
    with pytest.raises(ConfigError) as caught:
        RunConfig.loads("[foo]\nx = 1\n")
    assert str(caught.value) == "unknown section [foo]; sections are data, model, optimizer, training"


def test_misspelt_section_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown section \[modle\]; did you mean \[model\]\?"):
        RunConfig.loads("[modle]\nhidden = [8]\n")


def test_a_key_above_every_section_says_where_it_belongs():
    with pytest.raises(ConfigError, match=r"'lr' must sit inside a section: put it under \[optimizer\]"):
        RunConfig.loads("lr = 0.1\n")


# --- types ----------------------------------------------------------------------------------------------


def test_a_string_where_a_number_belongs_names_the_field_and_value():
    error = refused("optimizer.lr", "fast")
    assert str(error) == "optimizer.lr must be a number, got 'fast'"
    assert error.field == "optimizer.lr"


def test_an_error_echoes_a_value_as_written_while_the_log_shows_settings_plainly():
    from nntui.train.config.rules import as_logged, as_written

    # An error keeps a string's quotes, so text that looks like a number is told from a number.
    assert [as_written(v) for v in ("64", 64, True, 0.0001, {"a": 1})] == ["'64'", "64", "true", "0.0001", "{'a': 1}"]
    # The log shows valid settings to read: names unquoted, floats to 6 significant digits, flags as in the file.
    assert [as_logged(v) for v in ("adam", 64, False, 0.1 + 0.2, [64, 32])] == ["adam", "64", "false", "0.3", "[64, 32]"]
    before = apply_overrides(default_config("moons"), {"model.hidden": [16, 16], "model.activations": ["tanh"] * 2,
                                                       "optimizer.name": "adam", "optimizer.lr": 0.01})
    after = apply_overrides(before, {"optimizer.name": "sgd", "model.hidden": [8], "model.activations": ["relu"],
                                     "optimizer.lr": 0.1})
    assert after.changes_from(before) == ["model.activations ['tanh', 'tanh'] -> ['relu']",
                                          "model.hidden [16, 16] -> [8]",
                                          "optimizer.lr 0.01 -> 0.1", "optimizer.name adam -> sgd"]
    assert before.changes_from(before) == []


def test_a_quoted_number_is_refused_with_a_hint_to_drop_the_quotes():
    assert "without quotes" in str(refused("training.epochs", "10"))


@pytest.mark.parametrize("dotted", ["optimizer.lr", "training.epochs", "model.dropout", "data.n_samples"])
def test_a_bool_is_never_a_number(dotted):
    assert str(refused(dotted, True)).startswith(f"{dotted} must be a ")
    assert str(refused(dotted, True)).endswith("got true")


def test_a_number_is_not_a_bool():
    assert str(refused("optimizer.nesterov", 1)) == "optimizer.nesterov must be true or false, got 1"


def test_a_fractional_number_where_a_whole_one_belongs_is_refused():
    assert str(refused("training.batch_size", 2.5)) == "training.batch_size must be a whole number, got 2.5"


def test_hidden_must_be_a_list():
    assert "model.hidden must be a list like [64, 64], got 64" == str(refused("model.hidden", 64))


def test_a_section_must_be_a_table():
    with pytest.raises(ConfigError, match=r"\[optimizer\] must be a section of keys"):
        RunConfig.from_dict({"optimizer": 3})


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("dotted", ["optimizer.lr", "data.noise", "optimizer.weight_decay"])
def test_non_finite_numbers_are_refused(dotted, text):
    section, name = dotted.split(".")
    with pytest.raises(ConfigError, match=f"{dotted} must be a finite number, got {text}"):
        RunConfig.loads(f"[{section}]\n{name} = {text}\n")


# --- bounds ---------------------------------------------------------------------------------------------


def test_negative_lr_is_refused_with_field_name():
    assert str(refused("optimizer.lr", -1)) == "optimizer.lr must be > 0, got -1"


def test_zero_batch_size_is_refused_with_field_name():
    assert str(refused("training.batch_size", 0)) == "training.batch_size must be a whole number >= 1, got 0"


OUT_OF_BOUNDS = [
    ("optimizer.lr", 0, "must be > 0"),
    ("optimizer.lr", 10.5, "must be <= 10"),
    ("optimizer.momentum", 1, "must be < 1"),
    ("optimizer.momentum", -0.1, "must be >= 0"),
    ("optimizer.weight_decay", -1e-4, "must be >= 0"),
    ("optimizer.beta1", 1.0, "must be < 1"),
    ("optimizer.beta2", -0.5, "must be >= 0"),
    ("optimizer.alpha", 1, "must be < 1"),
    ("optimizer.eps", 0, "must be > 0"),
    ("training.batch_size", 1_000_001, "must be a whole number <= 1000000"),
    ("training.epochs", -1, "must be a whole number >= 0"),  # (0: open-ended)
    ("training.epochs", 1_000_001, "must be a whole number <= 1000000"),
    ("training.seed", -1, "must be a whole number >= 0"),
    ("training.seed", 2**32, "must be a whole number <= 4294967295"),
    ("model.dropout", 1.0, "must be < 1"),
    ("model.dropout", -0.1, "must be >= 0"),
    ("data.val_fraction", 0, "must be > 0"),
    ("data.val_fraction", 1, "must be < 1"),
    ("data.n_samples", 7, "must be 0 (the dataset's default) or a whole number >= 8"),
    ("data.n_samples", 1_000_001, "must be a whole number <= 1000000"),
    ("data.n_classes", 1, "must be a whole number >= 2"),
    ("data.n_classes", 21, "must be a whole number <= 20"),
    ("data.dataset", "notes.txt", "must be one of spiral, moons, circles, xor, blobs, digits or a path"),
    ("data.task", "ranking", "must be one of classification, regression"),
    ("model.init", "zeros", "must be one of auto, he_normal, he_uniform, xavier_normal, xavier_uniform"),
    ("model.loss", "hinge", "must be one of auto, softmax_ce, bce, mse"),
    ("model.dtype", "float16", "must be one of float32, float64"),
    ("optimizer.name", "lbfgs", "must be one of sgd, rmsprop, adam"),
]


@pytest.mark.parametrize(("dotted", "value", "expected"), OUT_OF_BOUNDS)
def test_out_of_bounds_values_are_refused_with_field_and_value(dotted, value, expected):
    message = str(refused(dotted, value))
    assert message.startswith(f"{dotted} {expected}")
    assert (f"got {value!r}" if isinstance(value, str) else f"got {value}") in message


@pytest.mark.parametrize(("dotted", "value", "expected"), OUT_OF_BOUNDS)
def test_validate_field_gives_the_same_message_as_the_full_validation(dotted, value, expected):
    with pytest.raises(ConfigError) as caught:
        validate_field(dotted, value)
    assert str(caught.value) == str(refused(dotted, value))


EDGES_THAT_ARE_FINE = [
    ("optimizer.lr", 10),
    ("optimizer.lr", 1e-6),
    ("optimizer.momentum", 0),
    ("optimizer.beta1", 0.0),
    ("optimizer.weight_decay", 0),
    ("training.batch_size", 1),
    ("training.batch_size", 1_000_000),
    ("training.epochs", 1),
    ("training.seed", 2**32 - 1),
    ("model.dropout", 0.0),
    ("data.val_fraction", 0.01),
    ("data.n_samples", 0),
    ("data.n_samples", 8),
    ("data.n_samples", 1_000_000),
    ("data.n_classes", 2),
    ("data.n_classes", 20),
    ("data.noise", 0.0),
    ("data.dataset", "some/folder/Data.CSV"),
]


@pytest.mark.parametrize(("dotted", "value"), EDGES_THAT_ARE_FINE)
def test_values_on_the_edge_of_the_bounds_are_accepted(dotted, value):
    RunConfig.from_dict(config_with(dotted, value))
    assert validate_field(dotted, value) == value


def test_hidden_widths_and_depth_are_bounded():
    assert str(refused("model.hidden", [64, 0])) == "model.hidden[1] must be a whole number >= 1, got 0"
    assert "model.hidden[0] must be a whole number <= 65536" in str(refused("model.hidden", [65537]))
    assert str(refused("model.hidden", [8] * 33)) == "model.hidden has 33 layers; at most 32 are allowed"
    assert validate_field("model.hidden", [65536] * 32) == [65536] * 32
    assert RunConfig.from_dict({"model": {"hidden": [], "activations": []}}).model.hidden == []


def test_an_unknown_activation_names_its_index():
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict({"model": {"hidden": [8, 8], "activations": ["relu", "foo"]}})
    assert (
        str(caught.value) == "model.activations[1] must be one of relu, leaky_relu, tanh, sigmoid, got 'foo'"
    )


def test_a_misspelt_choice_suggests_the_closest():
    assert str(refused("optimizer.name", "Adam")).endswith("got 'Adam'; did you mean 'adam'?")


# --- rules across fields --------------------------------------------------------------------------------


def test_hidden_and_activations_must_have_the_same_length():
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict({"model": {"hidden": [8, 8], "activations": ["relu"] * 3}})
    assert str(caught.value) == "model.hidden has 2 layers but model.activations has 3 entries"
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict({"model": {"hidden": [8, 8], "activations": ["relu"]}})
    assert str(caught.value) == "model.hidden has 2 layers but model.activations has 1 entry"


def test_nesterov_without_momentum_is_refused():
    with pytest.raises(ConfigError, match=r"optimizer.nesterov = true needs optimizer.momentum > 0"):
        RunConfig.from_dict({"optimizer": {"name": "sgd", "nesterov": True}})
    config = RunConfig.from_dict({"optimizer": {"name": "sgd", "nesterov": True, "momentum": 0.9}})
    assert config.optimizer.nesterov


def test_nesterov_with_an_optimizer_other_than_sgd_is_refused():
    with pytest.raises(ConfigError, match=r"applies only to sgd, but optimizer.name is 'adam'"):
        RunConfig.from_dict({"optimizer": {"nesterov": True, "momentum": 0.9}})


def test_mse_for_classification_is_refused():
    with pytest.raises(ConfigError, match=r"model.loss = 'mse' is for regression") as caught:
        RunConfig.from_dict({"model": {"loss": "mse"}})
    assert caught.value.field == "model.loss"


@pytest.mark.parametrize("loss", ["softmax_ce", "bce"])
def test_cross_entropy_for_regression_is_refused(loss):
    with pytest.raises(ConfigError, match=f"model.loss = '{loss}' is for classification"):
        RunConfig.from_dict(
            {"data": {"dataset": "houses.csv", "task": "regression"}, "model": {"loss": loss}}
        )


def test_regression_needs_a_data_file():
    with pytest.raises(ConfigError, match=r"data.task = 'regression' needs a .csv or .npz dataset"):
        RunConfig.from_dict({"data": {"task": "regression"}})


def test_bce_for_classification_is_left_for_the_session_to_check_against_the_classes():
    assert RunConfig.from_dict({"model": {"loss": "bce"}}).resolved_loss() == "bce"


def test_auto_loss_and_init_resolve_by_task_and_activation():
    assert RunConfig().resolved_loss() == "softmax_ce"
    regression = RunConfig.from_dict({"data": {"dataset": "houses.csv", "task": "regression"}})
    assert regression.resolved_loss() == "mse"
    assert ModelConfig().init_for("relu") == "he_normal"
    assert ModelConfig().init_for("tanh") == "xavier_uniform"
    assert ModelConfig(init="he_uniform").init_for("tanh") == "he_uniform"


def test_problems_lists_every_problem_and_validate_raises_the_first():
    config = RunConfig()
    config.optimizer.lr = -1
    config.training.batch_size = 0
    assert config.problems() == [
        "optimizer.lr must be > 0, got -1",
        "training.batch_size must be a whole number >= 1, got 0",
    ]
    with pytest.raises(ConfigError, match="optimizer.lr"):
        config.validate()


def test_validate_returns_the_config_itself():
    config = RunConfig()
    assert config.validate() is config


# --- overrides ------------------------------------------------------------------------------------------


def test_overrides_with_dotted_keys_give_a_new_validated_config():
    original = RunConfig()
    changed = apply_overrides(original, {"optimizer.lr": 0.1, "model.hidden": [64, 32], "training.epochs": 4})
    assert (changed.optimizer.lr, changed.model.hidden, changed.training.epochs) == (0.1, [64, 32], 4)
    assert original == RunConfig()  # untouched


def test_an_invalid_override_is_refused_with_the_field_name():
    with pytest.raises(ConfigError, match="optimizer.lr must be > 0, got 0"):
        apply_overrides(RunConfig(), {"optimizer.lr": 0})


def test_an_unknown_override_suggests_the_setting():
    with pytest.raises(ConfigError, match=r"unknown key 'lrr' in \[optimizer\]; did you mean 'lr'\?"):
        apply_overrides(RunConfig(), {"optimizer.lrr": 0.1})
    with pytest.raises(ConfigError, match=r"unknown setting 'lr'; did you mean 'optimizer.lr'\?"):
        apply_overrides(RunConfig(), {"lr": 0.1})


def test_activation_override_sets_every_hidden_layer():
    config = apply_overrides(RunConfig(), {"model.activation": "tanh", "model.hidden": [8, 8, 8]})
    assert config.model.activations == ["tanh", "tanh", "tanh"]
    with pytest.raises(ConfigError, match="model.activation must be one of"):
        apply_overrides(RunConfig(), {"model.activation": "swish"})


def test_changing_the_number_of_hidden_layers_rebuilds_activations_from_the_first():
    config = RunConfig.from_dict({"model": {"hidden": [8, 8], "activations": ["tanh", "relu"]}})
    assert apply_overrides(config, {"model.hidden": [4, 4, 4]}).model.activations == ["tanh"] * 3
    assert apply_overrides(config, {"model.hidden": [4, 4]}).model.activations == ["tanh", "relu"]
    linear = RunConfig.from_dict({"model": {"hidden": [], "activations": []}})
    assert apply_overrides(linear, {"model.hidden": [16]}).model.activations == ["relu"]


def test_explicit_activations_override_is_taken_as_given():
    config = apply_overrides(RunConfig(), {"model.hidden": [8], "model.activations": ["sigmoid"]})
    assert config.model.activations == ["sigmoid"]


# --- saving atomically ----------------------------------------------------------------------------------


def test_save_writes_no_stray_files(tmp_path):
    RunConfig().save(tmp_path / "run.toml")
    RunConfig().save(tmp_path / "run.toml")  # overwriting is fine too
    assert os.listdir(tmp_path) == ["run.toml"]


def test_a_failed_save_leaves_the_old_file_intact_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "run.toml"
    RunConfig().save(path)
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        default_config("digits").save(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["run.toml"]


def test_an_invalid_config_is_never_saved(tmp_path):
    path = tmp_path / "run.toml"
    RunConfig().save(path)
    before = path.read_text()
    config = RunConfig()
    config.optimizer.lr = -1
    with pytest.raises(ConfigError, match="optimizer.lr"):
        config.save(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["run.toml"]


# --- reading values typed by a person -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "widths"),
    [("64,32", [64, 32]), (" 64 , 32 ", [64, 32]), ("128", [128]), ("", []), ("none", []), ("None", [])],
)
def test_parse_hidden_reads_comma_separated_widths(text, widths):
    assert parse_hidden(text) == widths


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64,abc", "model.hidden[1] must be a whole number, got 'abc'"),
        ("0", "model.hidden[0] must be a whole number >= 1, got 0"),
        ("-3", "model.hidden[0] must be a whole number >= 1, got -3"),
        ("64,,32", "model.hidden has an empty entry"),
        ("64.5", "model.hidden[0] must be a whole number, got '64.5'"),
    ],
)
def test_parse_hidden_refuses_bad_widths_clearly(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_hidden(text)
    assert str(caught.value).startswith(expected)


def test_parse_number_reads_what_people_type():
    assert parse_number("optimizer.lr", " 1e-3 ") == 0.001
    assert parse_number("training.epochs", "12", kind=int) == 12
    assert parse_number("training.epochs", "1e3", kind=int) == 1000
    assert isinstance(parse_number("optimizer.lr", "1"), float)


@pytest.mark.parametrize(
    ("dotted", "text", "kind", "expected"),
    [
        ("optimizer.lr", "fast", float, "optimizer.lr must be a number, got 'fast'"),
        ("optimizer.lr", "", float, "optimizer.lr needs a number, got nothing"),
        ("optimizer.lr", "nan", float, "optimizer.lr must be a finite number, got 'nan'"),
        ("training.epochs", "2.5", int, "training.epochs must be a whole number, got '2.5'"),
        ("training.epochs", "ten", int, "training.epochs must be a whole number, got 'ten'"),
    ],
)
def test_parse_number_refuses_with_the_field_name(dotted, text, kind, expected):
    with pytest.raises(ConfigError) as caught:
        parse_number(dotted, text, kind)
    assert str(caught.value) == expected
    assert caught.value.field == dotted


def test_parse_field_reads_any_setting_from_text():
    assert parse_field("optimizer.lr", "0.1") == 0.1
    assert parse_field("training.batch_size", "64") == 64
    assert parse_field("optimizer.nesterov", "true") is True
    assert parse_field("model.hidden", "16,8") == [16, 8]
    assert parse_field("model.activations", "tanh, relu") == ["tanh", "relu"]
    assert parse_field("model.activation", "tanh") == "tanh"
    assert parse_field("data.dataset", "moons") == "moons"
    with pytest.raises(ConfigError, match="training.batch_size must be a whole number >= 1, got 0"):
        parse_field("training.batch_size", "0")
    with pytest.raises(ConfigError, match="optimizer.nesterov must be true or false, got 'yes'"):
        parse_field("optimizer.nesterov", "yes")


def test_validate_field_refuses_an_unknown_setting():
    with pytest.raises(ConfigError, match=r"unknown setting 'epochs'; did you mean 'training.epochs'\?"):
        validate_field("epochs", 3)


# --- a data file's path is relative to the config file that names it --------------------------------------------


def write_points(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(40)))


def test_a_data_file_named_in_a_config_file_is_found_beside_it_from_any_folder(tmp_path, monkeypatch):
    from nntui.train.session import TrainingSession

    write_points(tmp_path / "project" / "points.csv")
    (tmp_path / "project" / "run.toml").write_text('[data]\ndataset = "points.csv"\n')
    monkeypatch.chdir(tmp_path)

    config = RunConfig.from_toml("project/run.toml")

    assert config.data.dataset == os.path.join("project", "points.csv")
    assert TrainingSession(config).dataset.n_features == 2


def test_saving_a_config_elsewhere_writes_the_data_path_from_there_and_reads_back_the_same(tmp_path,
                                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_points(tmp_path / "data" / "points.csv")
    (tmp_path / "configs").mkdir()
    config = default_config("data/points.csv")

    config.save("configs/run.toml")

    assert 'dataset = "../data/points.csv"' in (tmp_path / "configs" / "run.toml").read_text()
    assert RunConfig.from_toml("configs/run.toml") == config
    monkeypatch.chdir(tmp_path / "configs")
    assert RunConfig.from_toml("run.toml").data.dataset == os.path.join("..", "data", "points.csv")


def test_built_in_names_and_absolute_paths_are_stored_as_they_are(tmp_path):
    absolute = str(tmp_path / "points.csv")
    for dataset in ("digits", absolute):
        config = default_config(dataset)
        config.save(tmp_path / "sub.toml")
        assert f'dataset = "{dataset}"' in (tmp_path / "sub.toml").read_text()
        assert RunConfig.from_toml(tmp_path / "sub.toml").data.dataset == dataset


# --- names come from the registries ------------------------------------------------------------------------


def test_every_registered_activation_loss_optimizer_initialiser_and_dataset_is_a_valid_setting():
    from nntui import nn
    from nntui.train import data

    for name in nn.ACTIVATIONS:
        assert validate_field("model.activations", [name]) == [name]
    for name in nn.LOSSES:
        assert validate_field("model.loss", name) == name
    for name in nn.OPTIMIZERS:
        assert validate_field("optimizer.name", name) == name
    for name in nn.INITIALISERS:
        assert validate_field("model.init", name) == name
    for name in data.BUILTIN_DATASETS:
        assert validate_field("data.dataset", name) == name
    # the ones every run relies on (the lists may grow: only known members are pinned)
    assert {"relu", "tanh", "sigmoid", "leaky_relu"} <= set(nn.ACTIVATIONS)
    assert {"softmax_ce", "bce", "mse"} <= set(nn.LOSSES) and {"sgd", "adam", "rmsprop"} <= set(nn.OPTIMIZERS)


def test_auto_is_offered_beside_the_registered_losses_and_initialisers_and_unregistered_names_are_refused():
    assert validate_field("model.loss", "auto") == "auto"
    assert validate_field("model.init", "auto") == "auto"
    with pytest.raises(ConfigError, match="model.activations"):
        validate_field("model.activations", ["swish_that_nobody_registered"])
    with pytest.raises(ConfigError, match="optimizer.name"):
        validate_field("optimizer.name", "lbfgs_that_nobody_registered")


def test_help_texts_name_every_registered_choice():
    from nntui import nn
    from nntui.train import data

    help_of = {f"{section}.{f.name}": f.metadata["help"]
               for section, cls in {"data": DataConfig, "model": ModelConfig, "optimizer": OptimizerConfig}.items()
               for f in dataclasses.fields(cls)}
    assert all(name in help_of["model.activations"] for name in nn.ACTIVATIONS)
    assert all(name in help_of["optimizer.name"] for name in nn.OPTIMIZERS)
    assert all(name in help_of["data.dataset"] for name in data.BUILTIN_DATASETS)


def test_the_old_imports_from_nntui_train_config_still_work():
    from nntui.train import config

    for name in ("ACTIVATIONS", "BUILTIN_DATASETS", "DATA_FILE_SUFFIXES", "INITS", "LOSSES", "OPTIMIZERS",
                 "MAX_HIDDEN_LAYERS", "MAX_LAYER_WIDTH", "ConfigError", "RunConfig", "apply_overrides",
                 "default_config", "parse_field", "parse_hidden", "parse_number", "validate_field"):
        assert hasattr(config, name), name
