"""Your own files, the odd ones included: every kind gets data that trains or one clear sentence, never a
raw NumPy warning, never a column silently turned into zeros. And the fast reader agrees with the careful one."""

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from nntui.train import datafiles
from nntui.train.data import DataError, load_csv, load_dataset, load_npz
from nntui.train.datafiles import read_csv_careful, sniff_csv


@pytest.fixture(autouse=True)
def numpy_warnings_are_errors():
    """A raw RuntimeWarning ("overflow encountered in ...") reaching the user is a defect: make it fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def careful(path: Path, target: str | None = None, task: str = "classification"):
    """The reference reader (csv module, row by row) on the same file."""
    layout = sniff_csv(path, "test")
    index = len(layout.header) - 1 if target is None else layout.header.index(target)
    return read_csv_careful(path, layout, index, task, "test")


def rows(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "".join(f"{a:.6g},{b:.6g},{['cat', 'dog'][i % 2]}\n" for i, (a, b) in enumerate(rng.normal(size=(n, 2))))


# --- zero feature columns ---------------------------------------------------------------------------------


def test_npz_with_zero_feature_columns_is_refused_in_one_line(tmp_path):
    np.savez(tmp_path / "empty.npz", x=np.zeros((10, 0)), y=np.arange(10) % 2)
    with pytest.raises(DataError, match=r"x has no feature columns \(shape \(10, 0\)\)") as caught:
        load_dataset(str(tmp_path / "empty.npz"))
    assert "\n" not in str(caught.value)


def test_csv_with_only_a_label_column_is_refused_in_one_line(tmp_path):
    with pytest.raises(DataError, match="has a single column; columns must be separated by"):
        load_csv(write(tmp_path, "label\ncat\ndog\n"))


# --- huge values ------------------------------------------------------------------------------------------


def test_features_near_1e300_are_standardised_not_zeroed(tmp_path):
    rng = np.random.default_rng(0)
    big = rng.normal(size=200) * 1e300
    np.savez(tmp_path / "huge.npz", x=np.column_stack([big, rng.normal(size=200)]), y=np.arange(200) % 2)
    data = load_dataset(str(tmp_path / "huge.npz"))
    column = np.concatenate([data.x_train[:, 0], data.x_val[:, 0]]).astype(np.float64)
    assert np.all(np.isfinite(column)) and np.count_nonzero(column) == 200
    assert data.x_train[:, 0].astype(np.float64).std() == pytest.approx(1.0, rel=1e-5)
    assert data.feature_std[0] == pytest.approx((big / 1e300).std() * 1e300, rel=0.3)  # of order 1e300, measured on 160 rows
    # Mapped back with the stored statistics, the training values are the raw ones.
    back = data.x_train[:, 0].astype(np.float64) * data.feature_std[0] + data.feature_mean[0]
    assert np.all(np.isin(np.round(back / 1e295), np.round(big / 1e295)))


def test_features_near_1e300_in_a_csv_file_train_on_standardised_values(tmp_path):
    lines = "".join(f"{float(v) * 1e300!r},{i % 2}\n" for i, v in enumerate(np.random.default_rng(1).normal(size=100)))
    path = write(tmp_path, "size,label\n" + lines)
    data = load_dataset(str(path))
    assert data.x_train.astype(np.float64).std() == pytest.approx(1.0, rel=1e-5)


def test_values_spanning_the_whole_float64_range_are_standardised(tmp_path):
    x = np.array([[-1.7e308], [1.7e308], [0.0], [1e307], [-1e307], [5e307]] * 5)
    np.savez(tmp_path / "span.npz", x=x, y=np.arange(30) % 2)
    data = load_dataset(str(tmp_path / "span.npz"))
    assert np.all(np.isfinite(data.x_train)) and np.all(np.isfinite(data.x_val))
    assert np.abs(data.x_train).max() < 3


def test_tiny_values_whose_spread_has_no_reciprocal_are_standardised(tmp_path):
    """A standard deviation below 5.6e-309 has no float64 reciprocal: those columns are divided by it."""
    tiny = np.tile([0.0, 2e-309], 20)  # subnormal numbers: mean 1e-309, standard deviation 1e-309
    x = np.column_stack([tiny, np.arange(40.0) % 7])
    np.savez(tmp_path / "tiny.npz", x=x, y=np.arange(40) // 20)
    data = load_dataset(str(tmp_path / "tiny.npz"))
    assert 5e-310 < data.feature_std[0] < 2e-309  # of order 1e-309 (its reciprocal overflows)
    column = data.x_train[:, 0].astype(np.float64)
    assert len(set(column.tolist())) == 2 and np.all(np.isfinite(data.x_val))
    assert column.mean() == pytest.approx(0.0, abs=1e-6) and column.std() == pytest.approx(1.0, rel=1e-6)


def test_huge_values_without_standardisation_are_refused_naming_the_column(tmp_path):
    np.savez(tmp_path / "huge.npz", x=np.column_stack([np.ones(20), np.arange(20) * 1e300]), y=np.arange(20) % 2)
    with pytest.raises(DataError, match=r"column 'x1' has values beyond float32's range"):
        load_dataset(str(tmp_path / "huge.npz"), standardize=False)


def test_a_number_beyond_float64_in_a_csv_is_refused_naming_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,x\n3,1e400,y\n")
    with pytest.raises(DataError, match=r"line 3, feature column 'b' has '1e400'; only finite numbers"):
        load_csv(path)


def test_a_huge_regression_target_loads_with_finite_values(tmp_path):
    lines = "".join(f"{i},{(i % 7) * 1e30!r}\n" for i in range(50))
    data = load_dataset(str(write(tmp_path, "x,price\n" + lines)), task="regression")
    assert np.all(np.isfinite(data.y_train))


# --- separators -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path, separator):
    text = "length,width,species\n1.5,2,setosa\n3,4.5,virginica\n5,6,setosa\n".replace(",", separator)
    x, y, feature_names, class_names = load_csv(write(tmp_path, text))
    assert feature_names == ["length", "width"] and class_names == ["setosa", "virginica"]
    np.testing.assert_array_equal(x, [[1.5, 2], [3, 4.5], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 0])


def test_semicolon_file_with_decimal_commas_is_refused_with_the_reason(tmp_path):
    path = write(tmp_path, "a;b;label\n1,5;2;x\n3;4;y\n")
    with pytest.raises(DataError, match=r"line 2, feature column 'a' has '1,5'.*looks like a decimal comma"):
        load_csv(path)


def test_space_separated_file_is_refused_naming_the_separator(tmp_path):
    with pytest.raises(DataError, match=r"single column \(its header looks separated by spaces\)"):
        load_csv(write(tmp_path, "a b label\n1 2 x\n"))


# --- encodings, line ends, quoting, blank lines -----------------------------------------------------------


def test_byte_order_mark_and_crlf_line_ends(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffa,b,label\r\n1,2,x\r\n3,4,y\r\n\r\n".encode())
    x, _y, feature_names, class_names = load_csv(path)
    assert feature_names == ["a", "b"] and class_names == ["x", "y"]
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])


def test_quoted_fields_numbers_and_labels_with_separators_inside(tmp_path):
    path = write(tmp_path, '"a","b","species"\n"1.5","2","Iris, setosa"\n"3",4,"Iris, virginica"\n5,6,plain\n')
    x, y, feature_names, class_names = load_csv(path)
    assert feature_names == ["a", "b"]
    assert class_names == ["Iris, setosa", "Iris, virginica", "plain"]
    np.testing.assert_array_equal(x, [[1.5, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 2])


@pytest.mark.parametrize("tail", ["\n\n\n", "\r\n\r\n", ",,\n,,\n", "   \n", " \t \n"])
def test_blank_trailing_lines_are_skipped(tmp_path, tail):
    path = write(tmp_path, "a,b,label\n1,2,x\n3,4,y\n" + tail)
    x, _y, _, class_names = load_csv(path)
    assert len(x) == 2 and class_names == ["x", "y"]


def test_spaces_around_cells_do_not_make_new_classes(tmp_path):
    path = write(tmp_path, "a, b, label\n1, 2, cat\n3, 4, dog\n5, 6,cat\n")
    _x, y, feature_names, class_names = load_csv(path)
    assert feature_names == ["a", "b"] and class_names == ["cat", "dog"]
    np.testing.assert_array_equal(y, [0, 1, 0])


def test_a_file_of_blank_rows_is_called_empty(tmp_path):
    with pytest.raises(DataError, match="has only blank rows at its start; it needs a header row"):
        load_csv(write(tmp_path, ",,\n,,\n"))


def test_duplicate_column_names_are_refused_naming_them(tmp_path):
    with pytest.raises(DataError, match=r"more than one column named 'a'; rename them"):
        load_csv(write(tmp_path, "a,b,a,label\n1,2,3,x\n"))


# --- columns a network cannot learn from: warnings, not refusals ------------------------------------------


def test_constant_column_is_a_warning_naming_it(tmp_path):
    path = write(tmp_path, "a,flat,label\n" + "".join(f"{i % 5},7,{i % 2}\n" for i in range(40)))
    data = load_dataset(str(path))
    assert len(data.warnings) == 1
    assert "column 'flat' has the same value (7) in every training row" in data.warnings[0]
    assert data.warnings[0].startswith("dataset 'data.csv': ")
    assert np.all(data.x_train[:, 1] == 0) and data.feature_std[1] == 1.0


@pytest.mark.parametrize("name, values", [("id", lambda n: np.arange(n) + 1000),
                                          ("row", lambda n: np.random.default_rng(0).permutation(n)),
                                          ("serial", lambda n: np.arange(n))])
def test_id_like_column_is_a_warning_naming_it(tmp_path, name, values):
    n = 50
    rng = np.random.default_rng(3)
    text = f"{name},size,label\n" + "".join(
        f"{v},{s:.4f},{i % 2}\n" for i, (v, s) in enumerate(zip(values(n), rng.normal(size=n))))
    data = load_dataset(str(write(tmp_path, text)))
    assert any(f"column '{name}' looks like a row number or ID" in line for line in data.warnings), data.warnings
    assert not any("'size'" in line for line in data.warnings)


def test_an_ordinary_integer_feature_is_not_called_an_id(tmp_path):
    rng = np.random.default_rng(0)
    text = "age,label\n" + "".join(f"{a},{i % 2}\n" for i, a in enumerate(rng.integers(18, 90, 200)))
    assert load_dataset(str(write(tmp_path, text))).warnings == []


def test_builtin_datasets_carry_no_warnings():
    assert load_dataset("digits").warnings == []  # its blank corner pixels are known and harmless


# --- the fast reader and the careful reader agree ----------------------------------------------------------

AGREEING_FILES = {
    "words": "a,b,label\n" + rows(30),
    "numbers as labels": "a,b,label\n" + "".join(f"{i},{i * 2.5},{(i * 7) % 11}\n" for i in range(30)),
    "target first": "label,a,b\n" + "".join(f"{['x', 'y'][i % 2]},{i},{-i}\n" for i in range(12)),
    "target in the middle": "a,label,b\n" + "".join(f"{i},{['x', 'y'][i % 2]},{-i}\n" for i in range(12)),
    "semicolons": "a;b;label\n1;2;x\n3;4;y\n5;6;x\n",
    "blank lines": "\n\na,b,label\n1,2,x\n\n3,4,y\n\n",
    "quoted": '"a","b","label"\n"1","2","x, y"\n3,4,z\n',
    "scientific": "a,b,label\n1e-300,-2.5E+10,x\n+3,.5,y\n",
    "a word label late": "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(150)) + "150,other\n",
}


@pytest.mark.parametrize("name", AGREEING_FILES)
def test_fast_and_careful_readers_give_the_same_table(tmp_path, name):
    path = write(tmp_path, AGREEING_FILES[name])
    target = "label"
    fast = datafiles.read_csv(path, target=target, task="classification")
    reference = careful(path, target=target)
    np.testing.assert_array_equal(fast.x, reference.x)
    np.testing.assert_array_equal(fast.y, reference.y)
    assert fast.feature_names == reference.feature_names and fast.output_names == reference.output_names


def test_fast_and_careful_readers_agree_on_regression_targets(tmp_path):
    path = write(tmp_path, "a,b,price\n" + "".join(f"{i},{i % 3},{i * 1.25e5}\n" for i in range(25)))
    fast = datafiles.read_csv(path, target=None, task="regression")
    reference = careful(path, task="regression")
    np.testing.assert_array_equal(fast.x, reference.x)
    np.testing.assert_array_equal(fast.y, reference.y)


def test_a_well_formed_file_never_takes_the_slow_path(tmp_path, monkeypatch):
    def refuse(*args):
        raise AssertionError("the careful (row by row) reader ran on a well-formed file")

    monkeypatch.setattr(datafiles, "read_csv_careful", refuse)
    for text in AGREEING_FILES.values():
        table = datafiles.read_csv(write(tmp_path, text), target="label", task="classification")
        rows_in_file = sum(1 for line in text.splitlines() if line.strip()) - 1  # (less the header)
        assert len(table.y) == rows_in_file  # every row read, by the fast reader (refuse did not run)


def test_labels_longer_than_the_first_rows_suggest_are_not_cut_short(tmp_path):
    long_label = "a-very-long-class-name-that-appears-only-late-in-the-file"
    text = "a,label\n" + "".join(f"{i},x\n" for i in range(150)) + f"151,{long_label}\n152,{long_label}\n"
    _, y, _, class_names = load_csv(write(tmp_path, text))
    assert class_names == [long_label, "x"]
    assert y.tolist().count(0) == 2


def test_a_word_label_after_many_numeric_ones_makes_every_label_a_word(tmp_path):
    text = "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(150)) + "150,other\n"
    _, _y, _, class_names = load_csv(write(tmp_path, text))
    assert class_names == ["0", "1", "2", "other"]


def test_a_bad_cell_deep_in_a_file_is_named_by_its_line(tmp_path):
    text = "a,b,label\n" + rows(500) + "1,oops,cat\n"
    with pytest.raises(DataError, match=r"line 502, feature column 'b' has 'oops', which is not a number"):
        load_csv(write(tmp_path, text))


def test_a_row_with_an_extra_value_deep_in_a_word_label_file_is_refused(tmp_path):
    text = "a,b,label\n" + rows(300) + "1,2,cat,extra\n"
    with pytest.raises(DataError, match=r"line 302, has 4 values but the header has 3 columns"):
        load_csv(write(tmp_path, text))


def test_a_missing_label_deep_in_a_file_is_refused(tmp_path):
    text = "a,b,label\n" + rows(300) + "1,2,NA\n"
    with pytest.raises(DataError, match=r"line 302, column 'label' has a missing value \('NA'\)"):
        load_csv(write(tmp_path, text))


def test_nan_feature_in_a_npz_file_names_the_sample(tmp_path):
    x = np.zeros((100_000, 2))
    x[77_777, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.arange(100_000) % 2)
    with pytest.raises(DataError, match=r"NaN or infinite values \(first in sample 77777\)"):
        load_npz(tmp_path / "nan.npz")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("standardize", [True, False])
def test_nan_or_infinity_anywhere_in_a_npz_file_is_named_by_load_dataset(tmp_path, value, standardize):
    """load_dataset leaves out the reader's own pass over x (standardising reads every value anyway): a bad
    value in a training row or a validation row is still refused naming its sample, with no NumPy warning."""
    import warnings

    x = np.random.default_rng(0).normal(size=(400, 3))
    y = np.arange(400) % 2
    data = load_dataset(str(write_npz(tmp_path, x, y)), seed=3)
    train = data.unstandardize(data.x_train)
    in_train = ((x[:, None, :] - train[None]) ** 2).sum(axis=2).min(axis=1) < 1e-6
    for sample in (int(np.argmax(in_train)), int(np.argmin(in_train)), 399):  # a training row, a validation row
        bad = x.copy()
        bad[sample, 1] = value
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(DataError, match=rf"x has NaN or infinite values \(first in sample {sample}\)"):
                load_dataset(str(write_npz(tmp_path, bad, y)), seed=3, standardize=standardize)


def write_npz(folder: Path, x: np.ndarray, y: np.ndarray) -> Path:
    path = folder / "data.npz"
    np.savez(path, x=x, y=y)
    return path


@pytest.mark.parametrize("damage", ["cut short", "bytes missing in the middle"])
def test_a_damaged_npz_file_is_refused_in_one_line(tmp_path, damage):
    np.savez(tmp_path / "whole.npz", x=np.random.default_rng(0).random((1000, 4)), y=np.arange(1000) % 2)
    data = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "bad.npz").write_bytes(data[:20_000] if damage == "cut short" else data[:5000] + data[9000:])
    with pytest.raises(DataError, match=r"bad.npz' (is not a valid .npz archive|is damaged)"):
        load_dataset(str(tmp_path / "bad.npz"))


@pytest.mark.parametrize("layout", ["fortran order", "big-endian", "float32", "uint8", "images (n, 4, 4)"])
def test_npz_members_of_every_layout_load_as_the_same_data(tmp_path, layout):
    """x stored plainly is memory-mapped in its own dtype and order (a compressed one is read by NumPy);
    whatever they are, the standardised data equal those of the same numbers saved plainly."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 16)) * 20
    if layout in ("float32", "uint8"):
        x = x.astype(np.float32) if layout == "float32" else np.abs(x).astype(np.uint8)
    saved = {"fortran order": np.asfortranarray(x), "big-endian": x.astype(">f8"),
             "images (n, 4, 4)": x.reshape(500, 4, 4)}.get(layout, x)
    y = np.arange(500) % 3
    np.savez(tmp_path / "plain.npz", x=np.ascontiguousarray(x, dtype=np.float64), y=y)
    np.savez(tmp_path / "odd.npz", x=saved, y=y)
    np.savez_compressed(tmp_path / "zipped.npz", x=saved, y=y)
    assert isinstance(datafiles.read_npz(tmp_path / "odd.npz", task="classification").x, np.memmap)
    assert not isinstance(datafiles.read_npz(tmp_path / "zipped.npz", task="classification").x, np.memmap)
    plain = load_dataset(str(tmp_path / "plain.npz"))
    for name in ("odd.npz", "zipped.npz"):
        odd = load_dataset(str(tmp_path / name))
        np.testing.assert_array_equal(odd.x_train, plain.x_train)
        np.testing.assert_array_equal(odd.x_val, plain.x_val)


def test_an_npz_file_that_cannot_be_mapped_is_read(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(300, 4)), y=np.arange(300) % 2)
    mapped = load_dataset(str(tmp_path / "d.npz"))

    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")  # what mmap says on a file system that cannot map

    monkeypatch.setattr(datafiles.np, "memmap", refuse)
    read = load_dataset(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(read.x_train, mapped.x_train)
    np.testing.assert_array_equal(read.y_val, mapped.y_val)


def test_npz_features_are_read_without_changing_them(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    np.savez(tmp_path / "f32.npz", x=x, y=np.arange(50) % 2)
    np.savez_compressed(tmp_path / "zipped.npz", x=x, y=np.arange(50) % 2)
    for name in ("f32.npz", "zipped.npz"):
        loaded, _, _, _ = load_npz(tmp_path / name)
        assert type(loaded) is np.ndarray and loaded.dtype == np.float64
        np.testing.assert_array_equal(loaded, x.astype(np.float64))


# --- what the command line shows -----------------------------------------------------------------------------


def test_nntui_train_prints_each_data_warning_as_a_line_on_stderr(tmp_path, capsys):
    from nntui.cli import main

    path = write(tmp_path, "id,a,flat,label\n" + "".join(f"{i},{(i * 7) % 5},3,{i % 2}\n" for i in range(40)))
    assert main(["train", "--dataset", str(path), "--epochs", "1", "--hidden", "4"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(lines) == 2
    assert lines[0] == ("nntui train: warning: dataset 'data.csv': column 'flat' has the same value (3) in every "
                        "training row; it carries no information (it is left at 0)")
    assert lines[1].startswith("nntui train: warning: dataset 'data.csv': column 'id' looks like a row number")


def test_nntui_train_refuses_an_unusable_file_with_exit_2_and_one_line(tmp_path, capsys):
    from nntui.cli import main

    np.savez(tmp_path / "empty.npz", x=np.zeros((10, 0)), y=np.arange(10) % 2)
    assert main(["train", "--dataset", str(tmp_path / "empty.npz"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x has no feature columns" in err and "Traceback" not in err


def test_loading_progress_reports_stages_in_order_up_to_one(tmp_path):
    from nntui.train.progress import loading_progress

    path = write(tmp_path, "a,b,label\n" + rows(2000))
    reports = []
    with loading_progress(lambda stage, fraction: reports.append((stage, fraction))):
        load_dataset(str(path))
    fractions = [fraction for _, fraction in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert reports[0][0] == "reading data.csv" and reports[-1][0] == "ready"
    assert any(stage == "standardising" for stage, _ in reports)
    load_dataset(str(path))  # outside the block nothing is reported
    assert len(reports) == len(fractions)


# --- regression targets are standardised too ------------------------------------------------------------------


def regression_file(tmp_path: Path, scale: float, name: str = "houses.npz") -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x @ np.array([1.5, -2.0, 0.5]) + 3.0) * scale
    np.savez(tmp_path / name, x=x, y=y)
    return tmp_path / name, y


def test_regression_targets_are_standardised_with_training_statistics(tmp_path):
    path, y = regression_file(tmp_path, 1e5)
    data = load_dataset(str(path), task="regression")
    raw = load_dataset(str(path), task="regression", standardize=False)
    assert raw.target_mean.tolist() == [0.0] and raw.target_std.tolist() == [1.0]
    np.testing.assert_allclose(data.target_mean, raw.y_train.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(data.target_std, raw.y_train.std(axis=0), rtol=1e-9)
    assert data.y_train.dtype == np.float64 and data.y_train.shape == (320, 1)
    np.testing.assert_allclose(data.y_train.mean(), 0.0, atol=1e-9)
    np.testing.assert_allclose(data.y_train.std(), 1.0, rtol=1e-9)
    # Back in the data's units: the raw targets, row for row.
    np.testing.assert_allclose(data.targets_in_units(data.y_val), raw.y_val, rtol=1e-12)
    np.testing.assert_allclose(data.standardize_targets(raw.y_val), data.y_val, rtol=1e-9, atol=1e-12)
    assert sorted(raw.y_train[:, 0].tolist() + raw.y_val[:, 0].tolist()) == sorted(y.tolist())


def test_classification_datasets_have_no_target_statistics():
    data = load_dataset("moons")
    assert data.target_mean is None and data.target_std is None
    with pytest.raises(DataError, match="classes"):
        data.targets_in_units(np.zeros((2, 1)))


@pytest.mark.parametrize("scale", [1.0, 1e5, 1e30])
def test_a_regression_target_of_any_size_trains_at_the_default_learning_rate(tmp_path, scale):
    from nntui.train.config import apply_overrides, default_config
    from nntui.train.session import TrainingSession

    path, _ = regression_file(tmp_path, scale)
    config = apply_overrides(default_config(str(path)), {"data.task": "regression", "model.hidden": [16],
                                                         "training.epochs": 30})
    session = TrainingSession(config)
    session.train()
    assert session.state.value == "finished", session.message
    data = session.dataset
    predicted = session.predict(session.x_val)  # in the data's own units
    actual = data.targets_in_units(data.y_val)
    r2 = 1 - np.sum((predicted - actual) ** 2) / np.sum((actual - actual.mean()) ** 2)
    assert r2 > 0.95, r2  # the same fit at every scale: the network sees the same standardised numbers


# --- lean loading -------------------------------------------------------------------------------------------------


def peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["numeric", "words", "npz"])
def test_loading_100k_rows_peaks_within_twice_what_numpy_alone_needs_to_read_them(tmp_path, kind):
    from nntui.train.loadbench import write_files

    small, large = write_files(tmp_path, 200, 20, seed=1), write_files(tmp_path, 100_000, 20)

    def numpy_reads(paths):
        if kind == "npz":
            with np.load(paths["npz"]) as archive:
                return archive["x"], archive["y"]
        return np.loadtxt(paths["numeric"], delimiter=",", skiprows=1)

    for paths in (small, large):  # warm up: one-time imports and caches are not what is measured
        load_dataset(str(paths[kind]))
        numpy_reads(paths)
    ours = peak_bytes(lambda: load_dataset(str(large[kind])))
    theirs = peak_bytes(lambda: numpy_reads(large))
    assert ours < 2 * theirs, f"nntui peaked at {ours / 1e6:.1f} MB, numpy at {theirs / 1e6:.1f} MB"


def test_regression_scores_are_reported_in_the_data_units(tmp_path):
    path, _ = regression_file(tmp_path, 1e30)
    data = load_dataset(str(path), task="regression")
    raw = load_dataset(str(path), task="regression", standardize=False)
    guess = data.y_val + np.random.default_rng(0).normal(0, 0.1, data.y_val.shape)  # standardised predictions
    scores = data.regression_scores(guess, data.y_val)
    in_units = guess * data.target_std + data.target_mean
    error = in_units - raw.y_val
    assert scores["mse"] == pytest.approx(np.mean(error ** 2), rel=1e-9)  # of order 1e58: the data's units
    assert scores["mae"] == pytest.approx(np.mean(np.abs(error)), rel=1e-9)
    spread = np.sum((raw.y_val - raw.y_val.mean()) ** 2)
    assert scores["r2"] == pytest.approx(1 - np.sum(error ** 2) / spread, rel=1e-9)
    assert scores["mse"] == pytest.approx(np.mean((guess - data.y_val) ** 2) * data.target_std[0] ** 2, rel=1e-9)


def test_a_header_wider_than_the_first_block_read_is_read_whole(tmp_path):
    n = 12_000  # names of 6+ characters: a header line of ~90 kB
    names = [f"pixel{i:05d}" for i in range(n)]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 9, size=(6, n))
    text = ",".join(names + ["label"]) + "\n" + "".join(
        ",".join(map(str, row)) + f",{'ab'[i % 2]}\n" for i, row in enumerate(x))
    features, _y, feature_names, class_names = load_csv(write(tmp_path, text))
    assert feature_names == names and class_names == ["a", "b"]
    np.testing.assert_array_equal(features, x)


def test_nntui_train_draws_a_loading_bar_on_a_terminal_once_loading_takes_half_a_second(monkeypatch):
    import io
    import sys

    from nntui import cli

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with cli._LoadReporter() as reporter:
        from nntui.train.progress import report

        report("reading quick.csv", 0.1)  # within the first half second: nothing drawn
        assert reporter.progress is None
        reporter.started -= 1.0
        report("reading big.csv", 0.5)
        assert reporter.progress is not None
    assert "reading big.csv" in screen.getvalue() and "50%" in screen.getvalue()


def random_csv(rng: np.random.Generator) -> tuple[str, str]:
    """A small well-formed CSV with random quirks: separator, quotes, spaces, CRLF, blank lines, label kind."""
    separator = rng.choice([",", ";", "\t"])
    n_rows, n_features = int(rng.integers(3, 40)), int(rng.integers(1, 5))
    names = [f"f{i}" for i in range(n_features)]
    target_at = int(rng.integers(0, n_features + 1))
    header = names[:target_at] + ["target"] + names[target_at:]
    words = rng.random() < 0.5
    lines = [separator.join(f'"{name}"' if rng.random() < 0.3 else name for name in header)]
    for i in range(n_rows):
        label = ["red", "green", "blue sky"][i % 3] if words else str(int(rng.integers(0, 4)) * 10)
        values = [f"{v:.{int(rng.integers(0, 8))}g}" if rng.random() < 0.8 else repr(float(v))
                  for v in rng.normal(size=n_features) * 10.0 ** rng.integers(-3, 6)]
        cells = values[:target_at] + [label] + values[target_at:]
        cells = [f'"{c}"' if rng.random() < 0.2 else (f" {c} " if rng.random() < 0.1 else c) for c in cells]
        lines.append(separator.join(cells))
        if rng.random() < 0.05:
            lines.append("")
    if rng.random() < 0.3:  # the empty rows a spreadsheet adds at the end
        lines += [separator * n_features] * int(rng.integers(1, 3))
    ending = "\r\n" if rng.random() < 0.3 else "\n"
    return ending.join(lines) + ending * int(rng.integers(1, 4)), "target"


@pytest.mark.parametrize("seed", range(40))
def test_fast_and_careful_readers_agree_on_random_well_formed_files(tmp_path, seed):
    text, target = random_csv(np.random.default_rng(seed))
    path = write(tmp_path, text)
    fast = datafiles.read_csv(path, target=target, task="classification")
    reference = careful(path, target=target)
    np.testing.assert_array_equal(fast.x, reference.x)
    np.testing.assert_array_equal(fast.y, reference.y)
    assert fast.feature_names == reference.feature_names and fast.output_names == reference.output_names


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 500])
@pytest.mark.parametrize("seed", range(12))
def test_a_file_read_in_many_small_blocks_gives_the_same_table(tmp_path, monkeypatch, seed, block_bytes):
    """The fast reader hands NumPy a block of lines at a time: tiny blocks cut the file everywhere (inside
    a quoted cell, between CR and LF, in a BOM) and the table is still the careful reader's, read fast."""
    rng = np.random.default_rng(500 + seed)
    text, target = random_csv(rng)
    if seed % 3 == 0:
        text = text.replace("\r\n", "\r")  # old Mac line ends: a lone CR
    path = tmp_path / "data.csv"
    path.write_bytes((b"\xef\xbb\xbf" if seed % 2 else b"") + text.encode())
    reference = careful(path, target=target)
    layout = sniff_csv(path, "test")
    read_fast_whole = datafiles._read_csv_fast(path, layout, layout.header.index(target), "classification",
                                               datafiles._rows_before_blank_tail(path, layout)) is not None

    def refuse(*args):
        raise AssertionError("the careful (row by row) reader ran on a file the fast one reads in one block")

    if read_fast_whole:  # (a quoted file ending in blank rows such as ',,' is read row by row)
        monkeypatch.setattr(datafiles, "read_csv_careful", refuse)
    monkeypatch.setattr(datafiles, "READ_BLOCK_BYTES", block_bytes)
    fast = datafiles.read_csv(path, target=target, task="classification")
    np.testing.assert_array_equal(fast.x, reference.x)
    np.testing.assert_array_equal(fast.y, reference.y)
    assert fast.output_names == reference.output_names


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
@pytest.mark.parametrize("block_bytes", [None, 9])
def test_windows_and_old_mac_line_ends_are_read_fast(tmp_path, monkeypatch, ending, block_bytes):
    text = "\n\na,b,label\n" + "".join(f"{i},{i * 2},{'xy'[i % 2]}\n" for i in range(30))
    expected = load_csv(write(tmp_path, text))
    monkeypatch.setattr(datafiles, "read_csv_careful", None)  # read fast, or fail
    if block_bytes:
        monkeypatch.setattr(datafiles, "READ_BLOCK_BYTES", block_bytes)
    x, y, _, class_names = load_csv(write(tmp_path, text.replace("\n", ending)))
    np.testing.assert_array_equal(x, expected[0])
    np.testing.assert_array_equal(y, expected[1])
    assert class_names == expected[3] == ["x", "y"]


@pytest.mark.parametrize("block_bytes", [None, 300])
def test_rows_much_shorter_than_the_first_ones_are_all_read(tmp_path, monkeypatch, block_bytes):
    """The result is sized from the first block's bytes per row; a file of short rows after long ones needs
    it to grow, and every row must still be there, in order."""
    long_rows = "".join(f"{i}.000000000001,{i}.000000000002,{i % 2}\n" for i in range(20))
    short_rows = "".join(f"{i},{i},{i % 2}\n" for i in range(20, 3000))
    monkeypatch.setattr(datafiles, "read_csv_careful", None)  # read fast, or fail
    if block_bytes:
        monkeypatch.setattr(datafiles, "READ_BLOCK_BYTES", block_bytes)
    x, y, _, _ = load_csv(write(tmp_path, "a,b,label\n" + long_rows + short_rows))
    assert len(x) == 3000
    np.testing.assert_array_equal(np.floor(x[:, 0]), np.arange(3000))
    np.testing.assert_array_equal(y, np.arange(3000) % 2)


def test_a_quoted_line_break_is_not_cut_between_blocks(tmp_path, monkeypatch):
    text = 'a,label\n' + "".join(f'{i},"two\nlines"\n{i + 0.5},one\n' for i in range(20))
    path = write(tmp_path, text)
    monkeypatch.setattr(datafiles, "READ_BLOCK_BYTES", 5)
    monkeypatch.setattr(datafiles, "read_csv_careful", None)  # read fast, or fail
    x, y, _, class_names = load_csv(path)
    assert class_names == ["one", "two\nlines"] and len(x) == 40
    np.testing.assert_array_equal(y, np.tile([1, 0], 20))


def test_reading_in_blocks_reports_progress_by_bytes(tmp_path, monkeypatch):
    from nntui.train.progress import loading_progress

    path = write(tmp_path, "a,b,label\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(2000)))
    monkeypatch.setattr(datafiles, "READ_BLOCK_BYTES", 1000)
    seen: list[float] = []
    with loading_progress(lambda stage, fraction: seen.append(fraction) if stage.startswith("reading") else None):
        load_csv(path)
    assert len(seen) > 10 and seen == sorted(seen)  # one report per block, never going back
    assert seen[-1] == pytest.approx(datafiles.READ_SHARE)


@pytest.mark.parametrize("seed", range(30))
def test_a_random_flaw_in_a_random_file_is_refused_naming_its_line(tmp_path, seed):
    rng = np.random.default_rng(1000 + seed)
    text, target = random_csv(rng)
    ending = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(ending)
    data_lines = [i for i, line in enumerate(lines) if i > 0 and line.strip(" \t,;")]  # not the blank rows
    victim = int(rng.choice(data_lines))
    separator = max([",", ";", "\t"], key=lambda s: len(lines[0].split(s)))  # no quoted cell holds one
    header = [name.strip('"') for name in lines[0].split(separator)]
    cells = lines[victim].split(separator)
    flaw = rng.choice(["word", "empty", "NA", "extra", "missing", "inf"])
    feature = next(i for i, name in enumerate(header) if name != "target")
    if flaw == "word":
        cells[feature] = "oops"
    elif flaw == "empty":
        cells[feature] = ""
    elif flaw == "NA":
        cells[feature] = "NA"
    elif flaw == "extra":
        cells.append("1")
    elif flaw == "missing":
        cells.pop()
    else:
        cells[feature] = "inf"
    lines[victim] = separator.join(cells)
    path = write(tmp_path, ending.join(lines))
    with pytest.raises(DataError, match=rf"line {victim + 1}\b"):
        load_csv(path, target=target)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("tail", [",,\n,,\n", ",,\n\n  \n", " , , \n", ",,"])
def test_blank_rows_at_the_end_do_not_send_a_file_down_the_slow_path(tmp_path, monkeypatch, ending, tail):
    def refuse(*args):
        raise AssertionError("the careful (row by row) reader ran")

    monkeypatch.setattr(datafiles, "read_csv_careful", refuse)
    body = "\n\na,b,label\n" + "".join(f"{i},{i * 2},{'xy'[i % 2]}\n" for i in range(50)) + "\n50,100,x\n"
    x, _y, _, class_names = load_csv(write(tmp_path, (body + tail).replace("\n", ending)))
    assert len(x) == 51 and class_names == ["x", "y"]
    np.testing.assert_array_equal(x[:, 0], np.arange(51))


def test_blank_rows_at_the_end_of_a_quoted_file_are_read_row_by_row(tmp_path):
    x, _, _, class_names = load_csv(write(tmp_path, 'a,"label"\n1,x\n2,y\n,\n,\n'))
    assert len(x) == 2 and class_names == ["x", "y"]


def test_a_ragged_first_row_in_a_semicolon_file_is_named_not_called_a_single_column(tmp_path):
    with pytest.raises(DataError, match=r"line 2, has 2 values but the header has 3 columns"):
        load_csv(write(tmp_path, "a;b;label\n1;x\n2;3;y\n"))


def test_statistics_of_a_large_offset_column_are_exact_to_a_few_ulps():
    """1e9 + noise: a plain sum of 10k such values is off in its last digits (NumPy's mean is off by ~5e-6
    here); the blocks' means are corrected by their deviations' and merged relative to the first block."""
    from fractions import Fraction

    from nntui.train.columns import BLOCK_ROWS, Standardization

    rng = np.random.default_rng(4)
    n = 3 * BLOCK_ROWS + 123
    x = rng.normal(size=(n, 2)) * [3.0, 1e-3] + [1e9, -5.0]
    train_rows = rng.permutation(n)[: int(0.8 * n)]
    fitted = Standardization.fit(x, train_rows)
    for j in range(2):
        column = [Fraction(value) for value in x[train_rows, j]]
        mean = sum(column) / len(column)
        variance = sum((value - mean) ** 2 for value in column) / len(column)
        assert abs(Fraction(fitted.mean[j]) - mean) <= 2 * np.spacing(abs(float(mean)))
        assert abs(fitted.std[j] ** 2 / float(variance) - 1) < 1e-14


@pytest.mark.parametrize("scale", [1.0, 1e200])
def test_statistics_over_many_blocks_of_rows_equal_numpys_over_the_whole_training_part(tmp_path, scale):
    from nntui.train.columns import BLOCK_ROWS, Standardization

    rng = np.random.default_rng(4)
    n = 3 * BLOCK_ROWS + 123
    x = (rng.normal(size=(n, 3)) * [1.0, 3.0, 1e-3] + [0.0, 1e9, -5.0]) * scale
    train_rows = rng.permutation(n)[: int(0.8 * n)]
    fitted = Standardization.fit(x, train_rows)
    reference = x[train_rows] / scale  # numpy's own two-pass statistics, in a range where nothing overflows
    np.testing.assert_allclose(fitted.mean / scale, reference.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fitted.std / scale, reference.std(axis=0), rtol=1e-9)


@pytest.mark.parametrize("layout", ["plain", "unaligned", "rows with gaps"])
def test_standardising_in_two_threads_gives_the_rows_one_thread_gives(monkeypatch, layout):
    """Big inputs are standardised in two halves at once; the result is the same, bit for bit, for rows taken
    in shuffled order or all of them, from an aligned array, an unaligned one (a mapped file) or a view with
    gaps between its rows (a CSV's features beside the label); a bad value in either half is still named."""
    from nntui.train import columns

    rng = np.random.default_rng(8)
    n = 3000
    full = rng.normal(size=(n, 6)) * [1.0, 5.0, 1e6, 1.0, 2.0, 3.0]
    if layout == "unaligned":
        raw = np.empty(full.nbytes + 1, dtype=np.uint8)
        x = raw[1:].view(np.float64).reshape(n, 6)
        x[...] = full
        assert not x.flags.aligned
    elif layout == "rows with gaps":
        x = np.column_stack([full, np.zeros(n)])[:, :6]
    else:
        x = full
    rows = rng.permutation(n)[:2500]
    transform = columns.Standardization.fit(x, rows)
    one_thread = [transform.apply(x, rows), transform.apply(x)]
    monkeypatch.setattr(columns, "PARALLEL_FROM_ROWS", 2 * columns.FOLD)
    monkeypatch.setattr(columns, "_usable_cpus", lambda: 2)
    np.testing.assert_array_equal(transform.apply(x, rows), one_thread[0])
    np.testing.assert_array_equal(transform.apply(x), one_thread[1])
    expected = ((full[rows] - full[rows].mean(axis=0)) / full[rows].std(axis=0)).astype(np.float32)
    np.testing.assert_allclose(one_thread[0], expected, rtol=1e-6, atol=1e-6)
    x[rows[-1], 4] = np.nan  # in the second half of the shuffled rows
    with pytest.raises(columns.ColumnError) as raised:
        transform.apply(x, rows)
    assert raised.value.column == 4


@pytest.mark.parametrize("layout", ["plain", "unaligned", "rows with gaps"])
def test_statistics_with_rows_gathered_by_a_helper_thread_are_the_same_bits(monkeypatch, layout):
    """From many rows on, fit's next blocks are gathered in a helper thread: the statistics are those of one
    thread to the last bit (the same blocks, in the same order), and NumPy's own to rounding."""
    from nntui.train import columns

    rng = np.random.default_rng(9)
    n = 40 * columns.FOLD * 5 + 17  # several chunks of several blocks, and a short last block
    full = rng.normal(size=(n, 5)) * [1.0, 3.0, 7.0, 1e6, 2.0] + [0.0, 1e9, -3.0, 0.0, 5.0]
    if layout == "unaligned":
        raw = np.empty(full.nbytes + 3, dtype=np.uint8)
        x = raw[3:].view(np.float64).reshape(n, 5)
        x[...] = full
    elif layout == "rows with gaps":
        x = np.column_stack([np.zeros(n), full])[:, 1:]
    else:
        x = full
    rows = rng.permutation(n)[: int(0.8 * n)]
    monkeypatch.setattr(columns, "_block_rows", lambda n_columns, n_rows: 5 * columns.FOLD)
    one_thread = columns.Standardization.fit(x, rows)
    monkeypatch.setattr(columns, "PIPELINE_FROM_ROWS", 1)
    monkeypatch.setattr(columns, "CHUNK_BLOCKS", 3)
    monkeypatch.setattr(columns, "_usable_cpus", lambda: 2)
    helped = columns.Standardization.fit(x, rows)
    for field in ("mean", "std", "low", "high"):
        np.testing.assert_array_equal(getattr(helped, field), getattr(one_thread, field))
    np.testing.assert_allclose(helped.mean, full[rows].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(helped.std, full[rows].std(axis=0), rtol=1e-9)


@pytest.mark.parametrize("label_at", ["last", "first", "middle", "last, quoted"])
@pytest.mark.parametrize("labels", ["numbers", "words"])
def test_a_csv_table_is_standardised_over_its_own_memory_to_the_same_bits(tmp_path, label_at, labels):
    """A table read from a CSV file is standardised over its own memory, which is then given back down to the
    float32 result: the same data, bit for bit, as the same numbers read from an NPZ file (each row copied)."""
    rng = np.random.default_rng(11)
    n, f = 3000, 5  # several blocks of rows
    x = np.round(rng.normal(size=(n, f)) * [1.0, 10.0, 0.1, 1e4, 3.0] + [0.0, 50.0, 0.0, 1e6, -2.0], 6)
    y = rng.integers(0, 3, n)
    names = np.array(["ant", "bee", "cat"]) if labels == "words" else np.array(["0", "1", "2"])
    column = {"last": f, "last, quoted": f, "first": 0, "middle": 2}[label_at]
    quote = '"' if label_at == "last, quoted" else ""  # quotes: read by the careful reader instead
    cells = [[repr(v) for v in row] for row in x.tolist()]
    for row, label in zip(cells, names[y]):
        row.insert(column, f"{quote}{label}{quote}")
    header = [f"f{j}" for j in range(f)]
    header.insert(column, "label")
    path = write(tmp_path, ",".join(header) + "\n" + "\n".join(",".join(row) for row in cells) + "\n")
    np.savez(tmp_path / "same.npz", x=x, y=y)
    from_csv, from_npz = load_dataset(str(path), target="label"), load_dataset(str(tmp_path / "same.npz"))
    np.testing.assert_array_equal(from_csv.x_train, from_npz.x_train)
    np.testing.assert_array_equal(from_csv.x_val, from_npz.x_val)
    np.testing.assert_array_equal(from_csv.feature_std, from_npz.feature_std)
    owner = from_csv.x_train
    while owner.base is not None:
        owner = owner.base
    kept = from_csv.x_train.nbytes + from_csv.x_val.nbytes
    assert kept <= owner.nbytes < kept + 256  # the table's memory, given back down to the result's


def test_a_csv_value_too_large_for_float32_is_refused_naming_the_part(tmp_path):
    lines = [f"{i % 7},{i % 2}" for i in range(100)]
    lines[3] = "1e39,1"
    path = write(tmp_path, "size,label\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"column 'size' has values beyond float32's range \(about 3.4e38\) in the "
                                        r"(training|validation) part"):
        load_dataset(str(path), standardize=False)


def test_standardising_in_place_is_declined_when_the_memory_cannot_hold_the_result():
    from nntui.train.columns import Standardization

    rows = np.arange(40)
    transform = Standardization(np.zeros(3), np.ones(3), np.zeros(3, dtype=bool))
    mapped_like = np.arange(120.0).reshape(40, 3)
    mapped_like.flags.writeable = False
    narrow = np.arange(120.0, dtype=np.float32).reshape(40, 3)  # float32 rows: no room for two float32 copies
    view_of_a_list = np.frombuffer(bytearray(960), dtype=np.float64).reshape(40, 3)  # not NumPy's memory
    for x in (mapped_like, narrow, view_of_a_list):
        before = x.copy()
        assert transform.split_in_place(x, rows[:30], rows[30:]) is None
        np.testing.assert_array_equal(x, before)
