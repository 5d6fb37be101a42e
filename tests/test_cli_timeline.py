"""nntui train --load CKPT --rewind N: go back to a kept epoch of a saved run; --json counts the interventions."""

import json

import pytest

from nntui.cli import main

RUN = ["train", "--dataset", "moons", "--samples", "200", "--batch-size", "16", "--json"]


@pytest.fixture
def saved_run(tmp_path, monkeypatch, capsys):
    """A finished 4-epoch moons run saved to run.npz, and its JSON summary."""
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "--epochs", "4", "--save", "run.npz"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def summary(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_rewinding_a_saved_run_and_training_on_replays_it_exactly(saved_run, capsys):
    assert saved_run["interventions"] == 0
    assert main(["train", "--load", "run.npz", "--rewind", "2", "--json"]) == 0
    replayed = summary(capsys)
    assert replayed["interventions"] == 1  # the rewind
    assert (replayed["epochs"], replayed["steps"], replayed["state"]) == (4, saved_run["steps"], "finished")
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert replayed[key] == saved_run[key], key


def test_rewinding_with_another_rate_is_a_branch_equal_to_a_run_given_that_rate_there(saved_run, capsys):
    assert main([*RUN, "--epochs", "2", "--save", "two.npz"]) == 0
    capsys.readouterr()
    assert main(["train", "--load", "two.npz", "--lr", "0.002", "--epochs", "4", "--json"]) == 0
    reference = summary(capsys)  # independently: stopped at epoch 2, went on with the other rate

    assert main(["train", "--load", "run.npz", "--rewind", "2", "--lr", "0.002", "--json"]) == 0
    branch = summary(capsys)
    assert branch["lr"] == 0.002 and branch["interventions"] == 2  # the branch and its rate change
    for key in ("train_loss", "val_loss", "val_accuracy", "steps"):
        assert branch[key] == reference[key], key


def test_an_epoch_that_is_not_kept_is_refused_in_one_line_naming_the_kept_ones(saved_run, capsys):
    assert main(["train", "--load", "run.npz", "--rewind", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["nntui train: error: cannot rewind run.npz: epoch 9 is not kept; kept epochs: 0-4"]


def test_rewind_without_a_checkpoint_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--rewind", "2"]) == 2
    assert "give the checkpoint with --load" in capsys.readouterr().err
