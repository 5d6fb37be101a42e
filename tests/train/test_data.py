"""Behaviour of the dataset layer: generators, the shipped digits, CSV/NPZ loading, splitting, packaging."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nntui
from nntui.train.data import (
    BUILTIN_DATASETS,
    DataError,
    blobs,
    circles,
    describe_builtin,
    load_csv,
    load_dataset,
    load_digits,
    load_npz,
    moons,
    spiral,
    xor,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

GENERATORS = {
    "spiral": (spiral, 3),
    "moons": (moons, 2),
    "circles": (circles, 2),
    "xor": (xor, 2),
    "blobs": (blobs, 3),
}


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- synthetic generators -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n_samples", [7, 300])
def test_generator_returns_float_points_and_balanced_int_labels(name, n_samples):
    generate, n_classes = GENERATORS[name]
    x, y = generate(n_samples, rng=np.random.default_rng(0))
    assert x.shape == (n_samples, 2) and x.dtype == np.float64
    assert y.shape == (n_samples,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1, f"class counts {counts} are not balanced"
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_with_same_seed_gives_the_same_bits_and_another_seed_differs(name):
    generate, _ = GENERATORS[name]
    x1, y1 = generate(200, rng=np.random.default_rng(42))
    x2, y2 = generate(200, rng=np.random.default_rng(42))
    x3, _ = generate(200, rng=np.random.default_rng(43))
    assert x1.tobytes() == x2.tobytes() and y1.tobytes() == y2.tobytes()
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_returns_classes_in_mixed_order(name):
    generate, _ = GENERATORS[name]
    _, y = generate(300, rng=np.random.default_rng(0))
    assert not np.all(np.diff(y) >= 0), "labels came back sorted by class"


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_without_arguments_draws_the_listed_defaults_from_a_generator_seeded_0(name):
    generate, _ = GENERATORS[name]
    info = BUILTIN_DATASETS[name]
    x, y = generate()
    assert x.shape == (info.n_samples, 2) and len(np.unique(y)) == info.n_classes
    # The same bits as an explicit default_rng(0) and the listed noise, and the same on every call.
    x_explicit, y_explicit = generate(info.n_samples, noise=info.default_noise, rng=np.random.default_rng(0))
    assert x.tobytes() == x_explicit.tobytes() and y.tobytes() == y_explicit.tobytes()
    assert generate()[0].tobytes() == x.tobytes()
    assert not np.array_equal(generate(rng=np.random.default_rng(1))[0], x)


def test_load_dataset_defaults_to_seed_0_for_notebooks():
    default = load_dataset("moons")
    seeded = load_dataset("moons", seed=0)
    assert default.x_train.tobytes() == seeded.x_train.tobytes()
    assert default.y_val.tobytes() == seeded.y_val.tobytes()
    assert not np.array_equal(load_dataset("moons", seed=1).x_train, default.x_train)


def test_spiral_and_blobs_accept_a_number_of_classes():
    rng = np.random.default_rng(0)
    assert set(spiral(100, n_classes=5, rng=rng)[1]) == set(range(5))
    assert set(blobs(100, n_classes=4, rng=rng)[1]) == set(range(4))


def test_xor_labels_follow_the_sign_of_x1_times_x2_when_there_is_no_noise():
    x, y = xor(400, noise=0.0, rng=np.random.default_rng(0))
    different_signs = (x[:, 0] * x[:, 1] < 0).astype(np.int64)
    np.testing.assert_array_equal(y, different_signs)


def test_circles_without_noise_puts_class_1_on_the_inner_ring():
    x, y = circles(200, noise=0.0, factor=0.3, rng=np.random.default_rng(0))
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)


def test_blobs_spread_is_the_noise():
    x, y = blobs(30_000, n_classes=3, noise=0.5, rng=np.random.default_rng(0))
    for label in range(3):
        assert x[y == label].std(axis=0) == pytest.approx([0.5, 0.5], rel=0.05)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda rng: spiral(2, n_classes=3, rng=rng), "n_samples must be"),
        (lambda rng: blobs(100, n_classes=1, rng=rng), "n_classes must be"),
        (lambda rng: moons(100, noise=-1.0, rng=rng), "noise must be a number >= 0"),
        (lambda rng: circles(100, factor=1.5, rng=rng), "between 0 and 1"),
    ],
)
def test_generator_refuses_bad_arguments_with_a_message(call, fragment):
    with pytest.raises(DataError, match=fragment):
        call(np.random.default_rng(0))


# --- the shipped digits -------------------------------------------------------------------------------------


def test_digits_are_1797_images_of_64_pixels_valued_0_to_16_in_10_classes():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
    assert sorted(set(y.tolist())) == list(range(10))
    assert np.bincount(y).min() >= 170


def test_digits_dataset_knows_its_images_are_8_by_8():
    data = load_dataset("digits", seed=0)
    assert data.image_shape == (8, 8) and data.n_features == 64 and not data.is_2d
    assert data.n_classes == 10 and data.class_names == [str(d) for d in range(10)]
    assert len(data.y_train) + len(data.y_val) == 1797


def test_digits_can_be_subsampled_reproducibly():
    first = load_dataset("digits", seed=3, n_samples=200)
    again = load_dataset("digits", seed=3, n_samples=200)
    assert len(first.y_train) + len(first.y_val) == 200
    assert first.x_train.tobytes() == again.x_train.tobytes()


def test_digits_file_is_found_inside_an_installed_wheel_layout(tmp_path, monkeypatch):
    # A wheel carries datasets/ as nntui/_data/; pretend nntui is installed under tmp_path.
    (tmp_path / "nntui" / "_data").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "datasets" / "digits.npz", tmp_path / "nntui" / "_data" / "digits.npz")
    monkeypatch.setattr(nntui, "__file__", str(tmp_path / "nntui" / "__init__.py"))
    x, _ = load_digits()
    assert x.shape == (1797, 64)


def test_missing_digits_file_is_reported_with_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(nntui, "__file__", str(tmp_path / "nntui" / "__init__.py"))
    with pytest.raises(DataError, match=r"digits data file is missing .*_data.*datasets"):
        load_digits()


# --- load_dataset: names, splitting, standardisation --------------------------------------------------------


def test_every_builtin_dataset_matches_its_listed_size():
    for name, info in BUILTIN_DATASETS.items():
        data = load_dataset(name, seed=0)
        assert len(data.y_train) + len(data.y_val) == info.n_samples, name
        assert data.n_features == info.n_features and data.n_classes == info.n_classes, name
        assert data.is_2d == (info.n_features == 2)


def test_describe_builtin_lists_every_builtin_with_its_numbers():
    rows = describe_builtin()
    assert [row["name"] for row in rows] == ["spiral", "moons", "circles", "xor", "blobs", "digits"]
    spiral_row = rows[0]
    assert spiral_row["n_samples"] == 600 and spiral_row["n_classes"] == 3 and spiral_row["description"]


def test_load_dataset_with_the_same_seed_gives_the_same_bits():
    a = load_dataset("spiral", seed=7)
    b = load_dataset("spiral", seed=7)
    c = load_dataset("spiral", seed=8)
    for field in ("x_train", "y_train", "x_val", "y_val", "feature_mean", "feature_std"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field
    assert not np.array_equal(a.x_train, c.x_train)


def test_load_dataset_options_change_the_generated_data():
    data = load_dataset("blobs", seed=0, n_samples=100, n_classes=5, noise=0.3)
    assert len(data.y_train) + len(data.y_val) == 100
    assert data.n_classes == 5 and data.class_names == ["0", "1", "2", "3", "4"]


def test_stratified_split_keeps_each_class_share_within_one_sample(tmp_path):
    y = np.repeat([0, 1, 2], [120, 60, 20])
    np.savez(tmp_path / "uneven.npz", x=np.arange(200.0).reshape(-1, 1), y=y)
    data = load_dataset(str(tmp_path / "uneven.npz"), seed=0, val_fraction=0.25)
    for label, total in enumerate([120, 60, 20]):
        n_val = int(np.sum(data.y_val == label))
        assert abs(n_val - total * 0.25) <= 1, (
            f"class {label}: {n_val} in validation, expected ~{total * 0.25}"
        )
        assert n_val + int(np.sum(data.y_train == label)) == total


def test_every_class_with_two_samples_appears_in_both_parts(tmp_path):
    y = np.array([0] * 50 + [1] * 2 + [2] * 3)
    np.savez(tmp_path / "rare.npz", x=np.arange(55.0).reshape(-1, 1), y=y)
    data = load_dataset(str(tmp_path / "rare.npz"), seed=0, val_fraction=0.1)
    assert set(data.y_train.tolist()) == {0, 1, 2}
    assert set(data.y_val.tolist()) == {0, 1, 2}


def test_split_puts_every_sample_in_exactly_one_part(tmp_path):
    np.savez(tmp_path / "ids.npz", x=np.arange(101.0).reshape(-1, 1), y=np.arange(101) % 2)
    data = load_dataset(str(tmp_path / "ids.npz"), seed=0, standardize=False)
    ids = np.concatenate([data.x_train[:, 0], data.x_val[:, 0]])
    assert sorted(ids.tolist()) == list(range(101))


def test_standardisation_uses_training_statistics_only():
    data = load_dataset("blobs", seed=0)
    # x_train is float32: its statistics are 0 and 1 up to float32 rounding (about 1e-7 of each value).
    np.testing.assert_allclose(data.x_train.astype(np.float64).mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.x_train.astype(np.float64).std(axis=0), 1.0, atol=1e-6)
    # The validation part went through the same transform, so its statistics are close but not exact.
    assert not np.allclose(data.x_val.mean(axis=0), 0.0, atol=1e-12)
    assert np.all(np.abs(data.x_val.mean(axis=0)) < 0.5)
    # Unstandardised features are the raw values in float32, so they agree to float32's precision.
    raw = load_dataset("blobs", seed=0, standardize=False)
    np.testing.assert_allclose(raw.x_train.astype(np.float64).mean(axis=0), data.feature_mean, atol=1e-6)
    np.testing.assert_allclose(data.standardize(raw.x_val), data.x_val, atol=1e-6)


def test_features_are_standardised_in_float64_and_rounded_to_float32_once(tmp_path):
    rng = np.random.default_rng(5)
    ids = np.arange(300.0)
    values = rng.normal(1e9, 3.0, size=(300, 2))  # float32 alone would keep nothing of the spread (ulp 64)
    np.savez(tmp_path / "wide.npz", x=np.column_stack([ids, values]), y=np.arange(300) % 3)
    data = load_dataset(str(tmp_path / "wide.npz"), seed=0)
    raw = load_dataset(str(tmp_path / "wide.npz"), seed=0, standardize=False)
    assert data.x_train.dtype == np.float32 and data.x_val.dtype == np.float32
    assert data.feature_mean.dtype == np.float64 and data.feature_std.dtype == np.float64
    train_rows = raw.x_train[:, 0].astype(np.int64)  # ids are exact in float32
    val_rows = raw.x_val[:, 0].astype(np.int64)
    x = np.column_stack([ids, values])
    mean, std = x[train_rows].mean(axis=0), x[train_rows].std(axis=0)
    np.testing.assert_allclose(data.feature_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(data.feature_std, std, rtol=1e-9)
    expected_train = ((x[train_rows] - mean) / std).astype(np.float32)
    expected_val = ((x[val_rows] - mean) / std).astype(np.float32)
    np.testing.assert_allclose(data.x_train, expected_train, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data.x_val, expected_val, rtol=1e-6, atol=1e-6)
    assert data.x_train[:, 1:].std() == pytest.approx(1.0, abs=1e-3)


def test_constant_feature_is_left_at_zero_instead_of_dividing_by_zero():
    data = load_dataset("digits", seed=0)
    corner = data.feature_names.index("pixel_0_0")  # always blank in this dataset
    assert data.feature_std[corner] == 1.0
    assert np.all(data.x_train[:, corner] == 0.0) and np.all(np.isfinite(data.x_val))


def test_without_standardisation_the_transform_is_the_identity():
    data = load_dataset("moons", seed=0, standardize=False)
    assert np.all(data.feature_mean == 0) and np.all(data.feature_std == 1)


def test_standardize_refuses_samples_with_the_wrong_number_of_features():
    data = load_dataset("moons", seed=0)
    with pytest.raises(DataError, match=r"has 2 features.*\(n, 2\).*\(4, 3\)"):
        data.standardize(np.zeros((4, 3)))


def test_unknown_dataset_name_lists_the_builtins():
    with pytest.raises(DataError) as caught:
        load_dataset("spirals", seed=0)
    message = str(caught.value)
    assert "unknown dataset 'spirals'" in message
    for name in BUILTIN_DATASETS:
        assert name in message
    assert ".csv or .npz" in message


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_missing_file_is_reported_as_not_found(tmp_path, suffix):
    path = tmp_path / f"nowhere{suffix}"
    with pytest.raises(DataError, match=f"file not found: .*nowhere{suffix}"):
        load_dataset(str(path), seed=0)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan")])
def test_val_fraction_outside_0_and_1_is_refused(fraction):
    with pytest.raises(DataError, match="val_fraction must be between 0 and 1"):
        load_dataset("moons", seed=0, val_fraction=fraction)


def test_a_single_class_cannot_be_a_classification_problem(tmp_path):
    path = write(tmp_path, "a,label\n1,cat\n2,cat\n3,cat\n")
    with pytest.raises(DataError, match="single class"):
        load_dataset(str(path), seed=0)


def test_too_few_samples_to_validate_is_refused(tmp_path):
    path = write(tmp_path, "a,label\n1,cat\n2,dog\n")
    with pytest.raises(DataError, match="too few samples"):
        load_dataset(str(path), seed=0)


def test_a_label_column_with_a_class_per_sample_is_questioned_rather_than_called_too_small(tmp_path):
    path = write(tmp_path, "size,price\n" + "".join(f"{i % 7},{100 + i}\n" for i in range(60)))  # price last
    with pytest.raises(DataError, match=r"60 classes in 60 samples.*is the label column right.*--task regression"):
        load_dataset(str(path), seed=0)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"noise": 0.1}, "no noise setting"),
        ({"n_classes": 3}, "always has 10 classes"),
        ({"target": "label"}, "target names a column"),
        ({"task": "regression"}, "classification task"),
        ({"seed": -1}, "seed must be"),
        ({"task": "clustering"}, "task must be"),
    ],
)
def test_options_that_do_not_apply_are_refused_rather_than_ignored(kwargs, fragment):
    arguments = {"seed": 0, **kwargs}
    with pytest.raises(DataError, match=fragment):
        load_dataset("digits", **arguments)


def test_moons_always_has_two_classes():
    with pytest.raises(DataError, match="'moons' always has 2 classes; only blobs and spiral"):
        load_dataset("moons", seed=0, n_classes=3)


def test_regression_with_a_single_sample_is_refused(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n")
    with pytest.raises(DataError, match=r"too few samples \(1\).*at least two samples$"):
        load_dataset(str(path), seed=0, task="regression")


def test_digits_subset_size_must_fit_the_data():
    with pytest.raises(DataError, match="from 20 to 1797, got 5000"):
        load_dataset("digits", seed=0, n_samples=5000)


def test_synthetic_options_are_refused_for_a_file(tmp_path):
    path = write(tmp_path, "a,label\n1,x\n2,y\n3,x\n4,y\n")
    with pytest.raises(DataError, match="noise applies only to the synthetic built-in datasets"):
        load_dataset(str(path), seed=0, noise=0.1)


# --- CSV files ----------------------------------------------------------------------------------------------


def test_csv_string_labels_become_sorted_classes(tmp_path):
    path = write(
        tmp_path, "length,width,species\n1.0,2,setosa\n3,4.5,virginica\n5,6,setosa\n7,8,versicolor\n"
    )
    x, y, feature_names, class_names = load_csv(path)
    np.testing.assert_array_equal(x, [[1, 2], [3, 4.5], [5, 6], [7, 8]])
    assert x.dtype == np.float64 and y.dtype == np.int64
    assert feature_names == ["length", "width"]
    assert class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(y, [0, 2, 0, 1])


def test_csv_integer_labels_sort_by_value_not_as_text(tmp_path):
    path = write(tmp_path, "a,digit\n1,10\n2,9\n3,2\n4,10\n")
    _, y, _, class_names = load_csv(path)
    assert class_names == ["2", "9", "10"]
    np.testing.assert_array_equal(y, [2, 1, 0, 2])


def test_csv_target_column_can_be_chosen_by_name(tmp_path):
    path = write(tmp_path, "label,a,b\nyes,1,2\nno,3,4\n")
    x, y, feature_names, class_names = load_csv(path, target="label")
    assert feature_names == ["a", "b"] and class_names == ["no", "yes"]
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [1, 0])


def test_csv_regression_gives_float_targets_in_a_column(tmp_path):
    path = write(tmp_path, "size,rooms,price\n50,2,100.5\n80,3,180\n120,4,260.25\n")
    _, y, feature_names, class_names = load_csv(path, task="regression")
    assert y.shape == (3, 1) and y.dtype == np.float64
    np.testing.assert_array_equal(y[:, 0], [100.5, 180, 260.25])
    assert feature_names == ["size", "rooms"] and class_names is None


def test_regression_dataset_from_csv_names_its_target_and_keeps_y_2d(tmp_path):
    rows = "\n".join(f"{i},{2 * i + 1}" for i in range(20))
    path = write(tmp_path, "x,y\n" + rows + "\n")
    data = load_dataset(str(path), seed=0, task="regression")
    assert data.task == "regression" and data.n_classes == 1 and data.class_names == ["y"]
    assert data.y_train.shape == (16, 1) and data.y_val.shape == (4, 1)
    assert data.y_train.dtype == np.float64
    assert data.name == "data.csv"


def test_csv_tolerates_blank_lines_spaces_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffa, label\n1, x\n\n2 ,y\n\n".encode())
    x, _, feature_names, class_names = load_csv(path)
    assert feature_names == ["a"] and class_names == ["x", "y"]
    np.testing.assert_array_equal(x[:, 0], [1, 2])


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("", {}, "is empty; it needs a header row"),
        ("a,b,label\n", {}, "has a header row but no data rows"),
        ("1,2,3\n4,5,6\n", {}, "starts with a row of numbers; add a header row"),
        ("a,b,label\n1,2,x\n3,4\n", {}, "line 3, has 2 values but the header has 3 columns"),
        ("a,b,label\n1,2,x\n3,,y\n", {}, "line 3, column 'b' has a missing value \\(empty\\)"),
        ("a,b,label\n1,NA,x\n", {}, "line 2, column 'b' has a missing value \\('NA'\\)"),
        ("a,b,label\n1,2,x\n3,four,y\n", {}, "line 3, feature column 'b' has 'four', which is not a number"),
        ("a,b,label\n1,inf,x\n", {}, "line 2, feature column 'b' has 'inf'; only finite numbers"),
        ("a,b,c\n1,2,3\n", {"target": "label"}, "has no column named 'label'; columns are: a, b, c"),
        ("a,a,label\n1,2,x\n", {}, "more than one column named 'a'"),
        ("a,,label\n1,2,x\n", {}, "column with an empty name"),
        ("label\nx\n", {}, "has a single column"),
        (
            "a,price\n1,cheap\n",
            {"task": "regression"},
            "target column 'price' has 'cheap', which is not a number",
        ),
        ("a,price\n1,2.5\n2,3\n", {}, "label 2.5, which is not a whole number.*task='regression'"),
    ],
)
def test_malformed_csv_is_refused_with_a_message_that_says_what_to_fix(tmp_path, text, kwargs, message):
    path = write(tmp_path, text, "bad.csv")
    with pytest.raises(DataError, match=message) as caught:
        load_csv(path, **kwargs)
    assert "bad.csv" in str(caught.value)


def test_csv_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        load_csv(path)


# --- NPZ files ----------------------------------------------------------------------------------------------


def test_npz_with_features_and_integer_labels_loads(tmp_path):
    np.savez(
        tmp_path / "good.npz", x=np.arange(12, dtype=np.float32).reshape(6, 2), y=np.array([3, 5, 3, 5, 3, 5])
    )
    x, y, feature_names, class_names = load_npz(tmp_path / "good.npz")
    assert x.dtype == np.float64 and x.shape == (6, 2)
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1, 0, 1]
    assert feature_names == ["x0", "x1"] and class_names == ["3", "5"]


def test_npz_string_labels_and_column_vector_labels_are_accepted(tmp_path):
    np.savez(tmp_path / "words.npz", x=np.zeros((3, 1)), y=np.array([["b"], ["a"], ["b"]]))
    _, y, _, class_names = load_npz(tmp_path / "words.npz")
    assert class_names == ["a", "b"] and y.tolist() == [1, 0, 1]


def test_npz_images_are_flattened_and_remember_their_shape(tmp_path):
    images = np.random.default_rng(0).integers(0, 17, size=(40, 8, 8))
    np.savez(tmp_path / "images.npz", x=images, y=np.arange(40) % 2)
    x, _, _, _ = load_npz(tmp_path / "images.npz")
    assert x.shape == (40, 64)
    np.testing.assert_array_equal(x[5].reshape(8, 8), images[5])
    data = load_dataset(str(tmp_path / "images.npz"), seed=0)
    assert data.image_shape == (8, 8) and data.n_features == 64


def test_npz_regression_targets_come_back_as_a_float_column(tmp_path):
    np.savez(tmp_path / "reg.npz", x=np.zeros((5, 2)), y=np.arange(5))
    _, y, _, class_names = load_npz(tmp_path / "reg.npz", task="regression")
    assert y.shape == (5, 1) and y.dtype == np.float64 and class_names is None


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((3, 2))}, "has no array named 'y' \\(it holds: x\\)"),
        ({"features": np.zeros((3, 2)), "labels": np.zeros(3)}, "no array named 'x' or 'y'"),
        ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, "x has 3 samples but y has shape \\(4,\\)"),
        ({"x": np.zeros(3), "y": np.zeros(3)}, "save x.reshape\\(-1, 1\\)"),
        (
            {"x": np.array([[1.0], [np.nan]]), "y": np.zeros(2)},
            "NaN or infinite values \\(first in sample 1\\)",
        ),
        ({"x": np.zeros((2, 2)), "y": np.eye(2)}, "save y.argmax\\(axis=1\\)"),
        ({"x": np.array([["a"], ["b"]]), "y": np.zeros(2)}, "x must hold numbers"),
        ({"x": np.zeros((2, 1)), "y": np.array([0.5, 1.0])}, "not a whole number"),
    ],
)
def test_malformed_npz_is_refused_with_a_message_that_says_what_to_fix(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message) as caught:
        load_npz(tmp_path / "bad.npz")
    assert "bad.npz" in str(caught.value)


def test_npz_that_is_not_an_archive_is_refused(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n", "actually_text.npz")
    with pytest.raises(DataError, match="is not a valid .npz archive"):
        load_npz(path)


def test_npz_holding_python_objects_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(DataError, match="cannot load safely"):
        load_npz(tmp_path / "objects.npz")


# --- packaging ----------------------------------------------------------------------------------------------


def test_wheel_carries_the_digits_file_as_package_data(tmp_path):
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling in this environment")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("nntui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "nntui/_data/digits.npz" in archive.namelist()
        archive.extract("nntui/_data/digits.npz", tmp_path / "unpacked")
    with np.load(tmp_path / "unpacked" / "nntui" / "_data" / "digits.npz", allow_pickle=False) as digits:
        assert digits["x"].shape == (1797, 64) and digits["y"].shape == (1797,)


def test_a_folder_named_like_a_data_file_is_called_a_folder(tmp_path):
    (tmp_path / "data.csv").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        load_dataset(str(tmp_path / "data.csv"), seed=0)


def test_unstandardize_gives_back_whole_pixel_values_exactly():
    data = load_dataset("digits", seed=0)
    raw = load_dataset("digits", seed=0, standardize=False)  # the same split, raw pixels (exact in float32)
    back = data.unstandardize(data.x_val)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, raw.x_val)
    # Values that are not whole numbers come back within float32's rounding, not snapped.
    moons = load_dataset("moons", seed=0)
    raw_moons = load_dataset("moons", seed=0, standardize=False)
    np.testing.assert_allclose(moons.unstandardize(moons.x_val), raw_moons.x_val, rtol=1e-6, atol=1e-6)
