"""`nntui bench --load`: the files it writes hold what it says, and its table compares the two readers."""

import json

import numpy as np

from nntui.cli import main
from nntui.train.loadbench import write_files


def test_the_three_files_hold_the_same_features_and_labels(tmp_path):
    paths = write_files(tmp_path, 25_000, 4)
    numeric = np.loadtxt(paths["numeric"], delimiter=",", skiprows=1)
    words = np.loadtxt(paths["words"], delimiter=",", skiprows=1, dtype=str)
    with np.load(paths["npz"]) as archive:
        x, y = archive["x"], archive["y"]
    assert numeric.shape == (25_000, 5) and x.shape == (25_000, 4)
    np.testing.assert_array_equal(numeric[:, :4], x)
    np.testing.assert_array_equal(numeric[:, 4], y)
    np.testing.assert_array_equal(words[:, 4], np.array(["cat", "dog", "bird"])[y])


def test_bench_load_prints_a_row_per_size_and_file_and_ends_with_json(capsys):
    assert main(["bench", "--load", "--rows", "300", "--features", "3", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = json.loads(lines[-1])
    assert [row["file"] for row in rows] == ["CSV, integer labels", "CSV, word labels", "NPZ"]
    assert [row["reference"] for row in rows] == ["loadtxt", "loadtxt", "np.load"]
    for row in rows:
        assert row["rows"] == 300 and row["seconds"] > 0 and row["peak_mb"] > 0 and row["reference_peak_mb"] > 0
    assert sum(line.lstrip().startswith("300") for line in lines) == 3


def test_bench_load_refuses_a_bad_size_in_one_line(capsys):
    try:
        main(["bench", "--load", "--rows", "ten"])
    except SystemExit as stop:
        assert stop.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rows takes whole numbers" in err
