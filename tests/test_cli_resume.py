"""nntui --resume opens the newest recovery file; a plain nntui on a terminal offers an interrupted run once."""

import sys

import pytest

from nntui import cli
from nntui.train import recovery
from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession


@pytest.fixture
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state" / "nntui" / "recovery"


def interrupted_run(folder, monkeypatch, steps=12):
    """A recovery file written by a process that has since ended."""
    session = TrainingSession(apply_overrides(default_config("moons"), {"data.n_samples": 200,
                                                                        "training.batch_size": 16}))
    for _ in range(steps):
        session.step()
    with monkeypatch.context() as patch:
        patch.setattr(recovery.os, "getpid", lambda: 999_999_999)
        return recovery.Autosaver(session, folder).save("SIGHUP", force=True, wait=True)


def app_args(*argv):
    return cli.build_parser().parse_args(list(argv))


def test_resume_with_no_recovery_file_is_refused_in_one_line(state_home, capsys):
    assert cli.main(["--resume"]) == 2
    assert capsys.readouterr().err.strip() == f"nntui: error: no run to resume: {state_home} holds no recovery file"


def test_resume_opens_the_newest_recovery_file(state_home, monkeypatch):
    path = interrupted_run(state_home, monkeypatch)
    args = app_args("--resume")
    cli._choose_recovery(args)
    assert args.load == str(path)
    assert cli.session_from_args(args).step_count == 12


def test_a_plain_nntui_on_a_terminal_offers_the_interrupted_run_once(state_home, monkeypatch):
    path = interrupted_run(state_home, monkeypatch)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    questions = []
    args = app_args()
    cli._choose_recovery(args, ask=lambda question: questions.append(question) or "")
    assert args.load == str(path)
    assert questions and questions[0].startswith("nntui: resume the moons run interrupted ")
    assert questions[0].endswith(" at epoch 1? [Y/n] ")
    again = app_args()
    cli._choose_recovery(again, ask=lambda question: pytest.fail(f"asked twice: {question}"))
    assert again.load is None


def test_declining_the_offer_starts_afresh(state_home, monkeypatch):
    interrupted_run(state_home, monkeypatch)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    args = app_args()
    cli._choose_recovery(args, ask=lambda question: "n")
    assert args.load is None


def test_no_offer_when_a_run_is_asked_for_or_there_is_no_terminal(state_home, monkeypatch):
    interrupted_run(state_home, monkeypatch)
    args = app_args("--dataset", "moons")  # the user asked for something: no question
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    cli._choose_recovery(args, ask=lambda question: pytest.fail("asked"))
    assert args.load is None
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    cli._choose_recovery(app_args(), ask=lambda question: pytest.fail("asked without a terminal"))
