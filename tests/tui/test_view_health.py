"""The Health view in a small host app at 80x24, fed by a real training session."""

from __future__ import annotations

import dataclasses
import math

import pytest
from textual.widgets import Static
from view_host import Host as ViewHost

from nntui.train.config import default_config
from nntui.train.session import LayerStats, State, TrainingSession
from nntui.tui.views.health import HEALTHY, NO_STEP_YET, HealthView


class Host(ViewHost):
    VIEW_CLASS = HealthView


def trained_session(steps: int = 20) -> TrainingSession:
    session = TrainingSession(default_config("spiral"))
    for _ in range(steps):
        session.step(collect_stats=True)
    return session


def table_rows(app: Host) -> list[str]:
    return str(app.query_one("#health-table", Static).render()).splitlines()


def findings(app: Host) -> str:
    return " ".join(str(app.query_one("#health-findings", Static).render()).split())


def cells(row: str, position: int, stats: LayerStats) -> list[str]:
    """The five number cells after the layer's label (numbered as every tab numbers it), with their ! marks."""
    label = f"{position + 1} {stats.name.split(' ', 1)[1]}"
    assert row.startswith(label), (row, label)
    return row[len(label):].split()


async def test_the_table_shows_the_snapshots_numbers():
    app = Host(trained_session())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        layers = app.session.snapshot().layers
        rows = table_rows(app)
        assert rows[0].split() == ["layer", "|dW|", "|W|", "upd/W", "dead", "sat"]
        assert len(rows) == 1 + len(layers) == 4
        for position, (row, stats) in enumerate(zip(rows[1:], layers)):
            shown = [cell.rstrip("!") for cell in cells(row, position, stats)]
            assert shown[:3] == [f"{stats.grad_norm_w:.1e}", f"{stats.weight_norm:.1e}",
                                 f"{stats.update_ratio:.1e}"]
            assert shown[3] == ("-" if stats.dead_fraction is None else f"{stats.dead_fraction:.0%}")
            assert shown[4] == "-"  # relu layers: no saturation
        assert app.view.region.bottom <= 23 and max(len(row) for row in rows) <= 78  # fits 80x24
        assert str(app.query_one("#health-explanation", Static).render()) == HealthView.EXPLANATION


async def test_before_the_first_step_it_says_there_is_nothing_to_check_yet():
    app = Host(TrainingSession(default_config("spiral")))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert findings(app) == " ".join(NO_STEP_YET.split())
        assert app.view.findings == []


async def test_healthy_layers_are_said_to_be_healthy():
    session = trained_session(steps=3)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        snap = session.snapshot()
        healthy = tuple(dataclasses.replace(stats, update_ratio=1e-3, dead_fraction=0.1 if stats.activation else None)
                        for stats in snap.layers)
        app.view.update_view(session, dataclasses.replace(snap, layers=healthy))
        await pilot.pause()
        assert findings(app) == " ".join(HEALTHY.split())
        assert not any("!" in row for row in table_rows(app))


async def test_a_huge_learning_rate_raises_the_alarm_and_marks_the_numbers():
    session = trained_session(steps=3)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        session.set_lr(5.0)  # Adam moves every weight by about lr: far more than the weights' own size
        session.step(collect_stats=True)
        app.show()
        await pilot.pause()
        layers = session.snapshot().layers
        assert all(stats.update_ratio > 0.1 for stats in layers)
        text = findings(app)
        assert "ALARM layers 1, 2 and 3: updates are as large as the weights" in text
        assert "training is unstable" in text and "lower the learning rate with -" in text
        for position, (row, stats) in enumerate(zip(table_rows(app)[1:], layers)):
            assert cells(row, position, stats)[2] == f"{stats.update_ratio:.1e}!!"


async def test_a_diverged_run_says_so_and_nothing_raises_on_nan():
    session = trained_session(steps=3)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        snap = session.snapshot()
        broken = tuple(dataclasses.replace(stats, grad_norm_w=math.nan, update_ratio=math.nan)
                       for stats in snap.layers)
        app.view.update_view(session, dataclasses.replace(snap, layers=broken, state=State.DIVERGED,
                                                          message="diverged at step 4: the loss became nan."))
        await pilot.pause()
        assert findings(app).startswith("Diverged at step 4: the loss became nan.")
        assert "healthy" not in findings(app)
        assert cells(table_rows(app)[1], 0, broken[0])[0] == "-"


@pytest.mark.parametrize("size", [(60, 16), (120, 40)])
async def test_other_sizes_do_not_break_it(size):
    app = Host(trained_session(steps=3))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert len(table_rows(app)) == 4


def test_health_view_80x24(snap_compare):
    session = TrainingSession(default_config("spiral"))
    for _ in range(10):
        session.step(collect_stats=True)
    app = Host(session)
    app.animation_level = "none"
    assert snap_compare(app, terminal_size=(80, 24))


def test_a_run_reopened_from_a_checkpoint_is_not_called_healthy_before_it_trains(tmp_path):
    from nntui.tui.views.health import NO_STEP_SINCE_OPENED, findings_text

    session = trained_session(steps=3)
    session.save_checkpoint(tmp_path / "run.npz")
    reopened = TrainingSession.from_checkpoint(tmp_path / "run.npz")

    text = findings_text([], reopened.snapshot()).plain
    assert text == NO_STEP_SINCE_OPENED


def test_after_a_divergence_only_the_alarms_are_listed():
    import dataclasses as dc

    from nntui.train.insight.health import Finding
    from nntui.tui.views.health import findings_text

    session = trained_session(steps=3)
    snap = dc.replace(session.snapshot(), state=State.DIVERGED, message="diverged at step 4 with learning rate 10:"
                      " the loss became nan.")
    findings = [Finding("0 2->64 relu", "warning", "vanishing gradients", "try this"),
                Finding("2 64->3", "alarm", "exploding gradients", "lower the rate")]

    text = findings_text(findings, snap).plain

    assert "exploding gradients" in text and "vanishing" not in text


async def test_digits_at_lr_6_get_one_diagnosis_per_layer_and_are_told_only_a_reset_helps():
    # The case: Health said "raise the rate" for three layers and "lower it" for the dead one.
    from nntui.train.config import apply_overrides

    session = TrainingSession(apply_overrides(default_config("digits"), {"optimizer.lr": 6.0, "training.epochs": 3}))
    for _ in range(60):
        session.step(collect_stats=True)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        layers = [finding.layer for finding in app.view.findings]
        assert len(layers) == len(set(layers))  # one diagnosis per layer
        text = findings(app)
        assert "dead" in text and "only a reset (r) revives them" in text
        assert "raise the learning rate" not in text
