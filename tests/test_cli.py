"""The ``nntui`` command as a user meets it: flags in, numbers and files out, one clear line for bad input.

Most tests call ``nntui.cli.main([...])`` in-process and read what it printed; a few run
``python -m nntui.cli`` in a real child process, to see exactly what a shell would see. Every test works in
its own empty folder.
"""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from nntui import __version__
from nntui.cli import main
from nntui.train.data import describe_builtin

# A run that takes a few milliseconds: 160 training samples, one hidden layer of 8 units, batches of 32.
SMALL_RUN = ["--dataset", "moons", "--samples", "200", "--hidden", "8"]
# Everything in the JSON summary except the timings, which differ from run to run.
TIMINGS = ("seconds", "samples_per_second")


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Ran:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def err_lines(self):
        return self.err.splitlines()

    @property
    def summary(self):
        """The JSON summary: stdout must be exactly one line of JSON."""
        lines = self.out.splitlines()
        assert len(lines) == 1, f"stdout should be one JSON line, got:\n{self.out}"
        return json.loads(lines[0])


def nntui(capsys, *argv):
    """Run ``nntui ARGV`` in this process; returns the exit code and what went to stdout and stderr."""
    capsys.readouterr()  # start clean
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def nntui_in_shell(folder, *argv):
    """Run ``python -m nntui.cli ARGV`` as a child process in ``folder``, as a shell would."""
    done = subprocess.run([sys.executable, "-m", "nntui.cli", *map(str, argv)], cwd=folder,
                          capture_output=True, text=True, timeout=60, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def numbers(summary):
    return {k: v for k, v in summary.items() if k not in TIMINGS}


# -- training ------------------------------------------------------------------------------------------------

def test_digits_reach_97_percent_and_the_same_seed_gives_the_same_numbers(capsys):
    first = nntui(capsys, "train", "--dataset", "digits", "--epochs", 30, "--seed", 0, "--json")
    second = nntui(capsys, "train", "--dataset", "digits", "--epochs", 30, "--seed", 0, "--json")

    assert first.code == second.code == 0
    summary = first.summary
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "epochs", "steps", "seconds",
            "samples_per_second"} <= summary.keys()
    assert summary["val_accuracy"] >= 0.97
    assert (summary["epochs"], summary["state"]) == (30, "finished")
    assert numbers(second.summary) == numbers(summary)


def test_without_a_terminal_progress_is_one_line_per_epoch_on_stderr(capsys):
    ran = nntui(capsys, "train", *SMALL_RUN, "--epochs", 2, "--json")

    assert ran.code == 0
    assert [line.split("  ")[0] for line in ran.err_lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val loss" in ran.err_lines[-1]
    assert ran.summary["epochs"] == 2  # and stdout is the JSON line alone


def test_without_json_the_run_ends_with_a_one_line_report(capsys):
    ran = nntui(capsys, "train", *SMALL_RUN, "--epochs", 2)

    assert ran.code == 0
    assert ran.out.startswith("done: 2 epochs, 10 steps")
    assert "val accuracy" in ran.out


def test_a_run_saved_and_resumed_ends_where_an_uninterrupted_run_ends(capsys):
    straight = nntui(capsys, "train", *SMALL_RUN, "--epochs", 4, "--json")

    first_half = nntui(capsys, "train", *SMALL_RUN, "--epochs", 2, "--save", "half.npz", "--json")
    resumed = nntui(capsys, "train", "--load", "half.npz", "--epochs", 4, "--json")

    assert straight.code == first_half.code == resumed.code == 0
    assert first_half.summary["epochs"] == 2
    assert numbers(resumed.summary) == numbers(straight.summary)
    # Progress after resuming counts on from epoch 3.
    assert [line.split("  ")[0] for line in resumed.err_lines] == ["epoch 3/4", "epoch 4/4"]


def test_resuming_a_run_that_already_has_its_epochs_says_that_nothing_was_trained(capsys, in_empty_folder):
    nntui(capsys, "train", *SMALL_RUN, "--epochs", 3, "--save", "run.npz")

    resumed = nntui(capsys, "train", "--load", "run.npz", "--epochs", 2)

    assert resumed.code == 0
    assert "nothing to train: the checkpoint has already trained 3 epochs and the run asks for 2; " \
           "give --epochs above 3 to go on" in resumed.err
    assert resumed.out.startswith("done: 3 epochs")


def test_metrics_csv_has_a_header_and_one_row_per_epoch(capsys, in_empty_folder):
    ran = nntui(capsys, "train", *SMALL_RUN, "--epochs", 3, "--metrics", "out.csv", "--json")

    assert ran.code == 0
    with open(in_empty_folder / "out.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    # The columns before "seconds" and their places are those of files written before the regression scores
    # were added; the scores are the last three columns, in every run's file, so that all files read alike.
    assert list(rows[0]) == ["epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                             "seconds", "val_mse", "val_mae", "val_r2"]
    assert [(row["epoch"], row["step"]) for row in rows] == [("1", "5"), ("2", "10"), ("3", "15")]
    last = ran.summary
    assert float(rows[-1]["val_loss"]) == last["val_loss"]
    assert float(rows[-1]["train_accuracy"]) == last["train_accuracy"]
    # classification: no regression scores, written as nan (--json says null)
    assert {row[name] for row in rows for name in ("val_mse", "val_mae", "val_r2")} == {"nan"}
    assert last["val_mse"] is last["val_mae"] is last["val_r2"] is None


def test_a_saved_config_reproduces_the_run(capsys, in_empty_folder):
    flags = [*SMALL_RUN, "--epochs", 3, "--lr", 0.02, "--activation", "relu", "--batch-size", 16, "--seed", 7]
    original = nntui(capsys, "train", *flags, "--save-config", "run.toml", "--json")

    again = nntui(capsys, "train", "--config", "run.toml", "--json")

    assert original.code == again.code == 0
    assert 'lr = 0.02' in (in_empty_folder / "run.toml").read_text()
    assert numbers(again.summary) == numbers(original.summary)


def test_flags_override_the_config_file(capsys, in_empty_folder):
    (in_empty_folder / "run.toml").write_text('[data]\ndataset = "moons"\nn_samples = 200\n\n'
                                              '[model]\nhidden = [8]\nactivations = ["tanh"]\n')

    ran = nntui(capsys, "train", "--config", "run.toml", "--epochs", 1, "--json")

    assert ran.code == 0
    assert (ran.summary["dataset"], ran.summary["epochs"], ran.summary["steps"]) == ("moons", 1, 5)


# -- your own data -------------------------------------------------------------------------------------------

def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def two_clusters(n=120, seed=0):
    """Two well separated clusters of 2-d points, labelled with words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label, centre = ("cat", -3.0) if i % 2 else ("dog", 3.0)
        rows.append([label, *(centre + rng.normal(size=2)).round(4)])
    return rows


def test_a_csv_with_word_labels_trains_on_the_column_named_by_target(capsys, in_empty_folder):
    # The label is the first column here, so it has to be named: by default the last column is the label.
    write_csv(in_empty_folder / "pets.csv", ["animal", "x1", "x2"], two_clusters())

    ran = nntui(capsys, "train", "--dataset", "pets.csv", "--target", "animal", "--epochs", 5, "--json")

    assert ran.code == 0, ran.err
    assert ran.summary["dataset"] == "pets.csv"
    assert ran.summary["val_accuracy"] == 1.0


def test_a_target_column_that_does_not_exist_is_named_in_the_error(capsys, in_empty_folder):
    write_csv(in_empty_folder / "pets.csv", ["animal", "x1", "x2"], two_clusters())

    ran = nntui(capsys, "train", "--dataset", "pets.csv", "--target", "species", "--epochs", 1)

    assert ran.code == 2
    assert ran.err_lines == [
        "nntui train: error: CSV file 'pets.csv' has no column named 'species'; columns are: animal, x1, x2"
    ]


def test_regression_on_a_csv_reports_a_loss_and_no_accuracy(capsys, in_empty_folder):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2))
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=150)
    write_csv(in_empty_folder / "line.csv", ["a", "b", "y"], np.column_stack([x, y]).round(5))

    ran = nntui(capsys, "train", "--dataset", "line.csv", "--task", "regression", "--epochs", 20, "--json")

    assert ran.code == 0, ran.err
    summary = ran.summary
    assert summary["val_accuracy"] is None and summary["train_accuracy"] is None
    assert 0 <= summary["val_loss"] < 0.5 * np.var(y)  # it learned much of the line


# -- bad input: exit 2, one line, no traceback ---------------------------------------------------------------

BROKEN_FILES = {
    "ragged.csv": "x1,x2,label\n1,2,a\n3,4\n5,6,b\n",
    "broken.toml": "[optimizer\nlr = 0.1\n",
    "negative_lr.toml": "[optimizer]\nlr = -1\n",
    "unknown_key.toml": "[optimizer]\nlearning_rate = 0.1\n",
    "damaged.npz": "PK\x03\x04 this is not really a checkpoint",
}

BAD_INPUTS = [
    pytest.param(["--lr", "-1"], "optimizer.lr must be > 0", id="negative-lr"),
    pytest.param(["--lr", "abc"], "optimizer.lr must be a number, got 'abc'", id="lr-not-a-number"),
    pytest.param(["--batch-size", "0"], "training.batch_size must be a whole number >= 1", id="batch-size-0"),
    pytest.param(["--epochs", "x"], "training.epochs must be a whole number, got 'x'", id="epochs-word"),
    pytest.param(["--hidden", "64,abc"], "model.hidden[1] must be a whole number, got 'abc'",
                 id="hidden-word"),
    pytest.param(["--hidden", "0"], "model.hidden[0] must be a whole number >= 1", id="hidden-0"),
    pytest.param(["--dataset", "nope"], "data.dataset must be one of spiral", id="unknown-dataset"),
    pytest.param(["--dataset", "missing.csv"], "file not found: missing.csv", id="missing-csv"),
    pytest.param(["--dataset", "ragged.csv"], "'ragged.csv', line 3, has 2 values", id="ragged-csv"),
    pytest.param(["--config", "broken.toml"], "broken.toml is not valid TOML", id="toml-syntax"),
    pytest.param(["--config", "negative_lr.toml"], "negative_lr.toml: optimizer.lr must be > 0",
                 id="toml-value"),
    pytest.param(["--config", "unknown_key.toml"], "unknown key 'learning_rate' in [optimizer]",
                 id="toml-key"),
    pytest.param(["--load", "damaged.npz"], "'damaged.npz' is not a readable nntui checkpoint",
                 id="damaged-checkpoint"),
    pytest.param(["--save", "out.txt"], "checkpoint file must end in .npz, got 'out.txt'", id="save-suffix"),
    pytest.param(["--save", "missingdir/x.npz"], "folder 'missingdir' does not exist", id="save-no-folder"),
    pytest.param(["--metrics", "out.txt"], "metrics file must end in .csv", id="metrics-suffix"),
    pytest.param(["--frobnicate"], "unrecognized arguments: --frobnicate", id="unknown-flag"),
    pytest.param(["--dataset", "moons", "--classes", "4"],
                 "--classes applies only to blobs and spiral; 'moons' always has 2 classes", id="classes-moons"),
    pytest.param(["--dataset", "ragged.csv", "--classes", "3"], "a file's classes are its labels",
                 id="classes-file"),
]


@pytest.mark.parametrize("bad_args, message", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_naming_the_problem(capsys, in_empty_folder, bad_args, message):
    for name, content in BROKEN_FILES.items():
        (in_empty_folder / name).write_text(content)

    ran = nntui(capsys, "train", *bad_args)

    assert ran.code == 2
    assert len(ran.err_lines) == 1, ran.err
    assert ran.err.startswith("nntui")
    assert ": error: " in ran.err and message in ran.err
    assert ran.out == ""


SHELL_BAD_INPUTS = {
    "bad-value": ["train", "--lr", "abc"],
    "damaged-checkpoint": ["train", "--load", "damaged.npz"],
    "unknown-flag": ["--frobnicate"],
}


@pytest.mark.parametrize("bad_args", SHELL_BAD_INPUTS.values(), ids=SHELL_BAD_INPUTS.keys())
def test_bad_input_in_a_real_shell_shows_no_traceback(in_empty_folder, bad_args):
    (in_empty_folder / "damaged.npz").write_bytes(np.random.default_rng(0).bytes(1000))

    ran = nntui_in_shell(in_empty_folder, *bad_args)

    assert ran.code == 2
    assert "Traceback" not in ran.err
    assert len(ran.err_lines) == 1 and ran.err_lines[0].startswith("nntui"), ran.err


# -- a failed run overwrites nothing -------------------------------------------------------------------------

OUTPUTS = ["--save", "keep.npz", "--metrics", "keep.csv", "--save-config", "keep.toml"]
# Plain SGD at lr 10 with ReLU layers blows up within the first epoch (tanh layers would saturate instead).
DIVERGING_RUN = ["--optimizer", "sgd", "--lr", 10, "--dataset", "moons", "--epochs", 3, "--hidden", "64,64",
                 "--activation", "relu"]


def put_precious_files(folder):
    contents = {"keep.npz": b"my old checkpoint", "keep.csv": b"my,old,metrics\n", "keep.toml": b"# mine\n"}
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return contents


def assert_untouched(folder, contents):
    for name, content in contents.items():
        assert (folder / name).read_bytes() == content, f"{name} was overwritten"
    assert sorted(p.name for p in folder.iterdir()) == sorted(contents), "a stray file was left behind"


def test_a_refused_run_leaves_existing_output_files_untouched(capsys, in_empty_folder):
    contents = put_precious_files(in_empty_folder)

    ran = nntui(capsys, "train", *SMALL_RUN, "--lr", -1, *OUTPUTS)

    assert ran.code == 2
    assert_untouched(in_empty_folder, contents)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to the NaN loss
def test_a_diverging_run_exits_1_and_leaves_existing_output_files_untouched(capsys, in_empty_folder):
    contents = put_precious_files(in_empty_folder)

    ran = nntui(capsys, "train", *DIVERGING_RUN, *OUTPUTS, "--json")

    assert ran.code == 1
    assert "diverged" in ran.err and "no files were written" in ran.err
    assert ran.summary["state"] == "diverged"  # --json still ends with its one line, for scripts to read
    assert_untouched(in_empty_folder, contents)


def test_a_diverging_run_in_a_real_shell_explains_itself_in_its_own_words(in_empty_folder):
    ran = nntui_in_shell(in_empty_folder, "train", *DIVERGING_RUN)

    assert ran.code == 1
    assert "Traceback" not in ran.err
    # Only nntui's own lines: progress and the explanation, not NumPy's overflow warnings with source lines.
    strangers = [line for line in ran.err_lines if not line.startswith(("nntui train:", "epoch "))]
    assert strangers == [], ran.err


# -- other commands ------------------------------------------------------------------------------------------

def test_datasets_lists_the_six_built_ins_with_their_sizes(capsys):
    ran = nntui(capsys, "datasets")

    assert ran.code == 0
    rows = {line.split()[0]: line.split() for line in ran.out.splitlines()[1:7]}
    assert list(rows) == ["spiral", "moons", "circles", "xor", "blobs", "digits"]
    for info in describe_builtin():
        sizes = [str(info["n_samples"]), str(info["n_features"]), str(info["n_classes"])]
        assert rows[info["name"]][1:4] == sizes, info["name"]
    assert rows["digits"][1:4] == ["1797", "64", "10"]


def test_version_prints_the_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"nntui {__version__}"


def test_train_help_lists_the_flags_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])

    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    for flag in ("--dataset", "--lr", "--save", "--load", "--metrics", "--save-config", "--json"):
        assert flag in help_text


def test_a_real_shell_sees_progress_on_stderr_and_one_json_line_on_stdout(in_empty_folder):
    ran = nntui_in_shell(in_empty_folder, "train", *SMALL_RUN, "--epochs", 2, "--json")

    assert ran.code == 0, ran.err
    assert [line.split("  ")[0] for line in ran.err_lines] == ["epoch 1/2", "epoch 2/2"]
    assert ran.summary["state"] == "finished"


def test_an_unwritable_save_folder_is_refused_before_training(capsys):
    assert main(["train", "--epochs", "1", "--save", "/proc/x.npz"]) == 2
    err = capsys.readouterr().err
    assert "/proc/x.npz" in err and ".tmp" not in err and "epoch" not in err


@pytest.mark.parametrize("flags, classes", [(["--dataset", "blobs", "--classes", "5"], 5),
                                            (["--dataset", "moons", "--classes", "2"], 2)])
def test_classes_sets_the_class_count_where_it_can_and_may_restate_a_fixed_one(capsys, flags, classes):
    from nntui.cli import build_parser, config_from_args
    from nntui.train.session import TrainingSession

    config = config_from_args(build_parser().parse_args(["train", *flags]))

    assert TrainingSession(config).dataset.n_classes == classes


# -- nntui --load: the app on a saved run --------------------------------------------------------------------------


def test_load_opens_the_app_on_the_saved_run(capsys, in_empty_folder, monkeypatch):
    from nntui.tui.app import NNTuiApp

    nntui(capsys, "train", *SMALL_RUN, "--epochs", 2, "--save", "run.npz")
    opened = []
    monkeypatch.setattr(NNTuiApp, "run", lambda app: opened.append(app))

    ran = nntui(capsys, "--load", "run.npz", "--epochs", 5)

    assert ran.code == 0
    (app,) = opened
    assert app.session.epoch == 2 and app.session.config.training.epochs == 5
    assert app.session.state.value == "paused"


@pytest.mark.parametrize("args, message", [
    (["--load", "missing.npz"], "checkpoint not found: 'missing.npz'"),
    (["--load", "run.npz", "--config", "run.toml"], "--load goes on with the configuration saved in the checkpoint"),
    (["--load", "run.npz", "--hidden", "4"], "cannot change model.hidden when resuming a checkpoint"),
])
def test_load_refuses_what_it_cannot_open_with_one_line(capsys, in_empty_folder, args, message):
    nntui(capsys, "train", *SMALL_RUN, "--epochs", 1, "--save", "run.npz")

    ran = nntui(capsys, *args)

    assert ran.code == 2
    assert len(ran.err_lines) == 1 and message in ran.err


def test_written_files_get_the_usual_permissions_not_private_ones(capsys, in_empty_folder):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        nntui(capsys, "train", *SMALL_RUN, "--epochs", 1, "--save", "run.npz", "--metrics", "m.csv",
              "--save-config", "run.toml")
    finally:
        os.umask(umask)
    for name in ("run.npz", "m.csv", "run.toml"):
        assert stat.S_IMODE((in_empty_folder / name).stat().st_mode) == 0o644, name


def test_loading_a_folder_says_it_is_a_folder(capsys, in_empty_folder):
    (in_empty_folder / "dir.npz").mkdir()
    ran = nntui(capsys, "train", "--load", "dir.npz")
    assert ran.code == 2 and "'dir.npz' is a folder, not a checkpoint file" in ran.err


def test_a_flag_error_inside_a_command_names_the_command(capsys):
    ran = nntui(capsys, "train", "--threads", "abc")
    assert ran.code == 2 and ran.err.startswith("nntui train: error: argument --threads: invalid int value")
