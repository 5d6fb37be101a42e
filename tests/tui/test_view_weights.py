"""The Weights view: the matrices it reads, the down-sampling, and the view driven by keys at 80x24."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import ColorSystem
from view_host import Host as ViewHost

from nntui.train.config import apply_overrides, default_config
from nntui.train.insight.weights import downsample, layer_matrices, linear_layers
from nntui.train.session import TrainingSession
from nntui.tui.views.weights import LEVELS, PALETTE, WeightsView, colour_levels, heatmap_lines


class Host(ViewHost):
    VIEW_CLASS = WeightsView


def spiral_session(steps: int = 5, **overrides) -> TrainingSession:
    """The default spiral network: Linear 2->64, relu, Linear 64->64, relu, Linear 64->3."""
    session = TrainingSession(apply_overrides(default_config("spiral"), overrides))
    for _ in range(steps):
        session.step(collect_stats=True)
    return session


def shown(app: Host) -> str:
    return str(app.view.render())


# -- the matrices ----------------------------------------------------------------------------------------------

def test_linear_layers_are_found_in_model_order():
    assert linear_layers(spiral_session(steps=0)) == [0, 2, 4]


def test_layer_matrices_are_the_models_own_arrays():
    session = spiral_session(steps=2)
    for index in linear_layers(session):
        weights, gradient, update = layer_matrices(session, index)
        layer = session.model.layers[index]
        assert weights is layer.params["W"] and gradient is layer.grads["W"]
        assert np.array_equal(weights, layer.params["W"]) and np.array_equal(gradient, layer.grads["W"])
        assert np.array_equal(update, session.last_updates[index])


def test_the_update_is_the_change_the_last_step_made():
    session = spiral_session(steps=2)
    before = session.model.layers[2].params["W"].copy()
    session.step(collect_stats=True)
    weights, _gradient, update = layer_matrices(session, 2)
    assert np.array_equal(update, weights - before)


def test_with_plain_sgd_the_update_is_minus_lr_times_the_gradient():
    # float64, so that W_after - W_before loses nothing to rounding
    session = spiral_session(steps=1, **{"optimizer.name": "sgd", "optimizer.lr": 0.05, "optimizer.momentum": 0.0,
                                         "model.dtype": "float64"})
    for index in linear_layers(session):
        _weights, gradient, update = layer_matrices(session, index)
        np.testing.assert_allclose(update, -0.05 * gradient, rtol=1e-9, atol=1e-14)


def test_there_is_no_update_before_a_measured_step():
    assert layer_matrices(spiral_session(steps=0), 0)[2] is None


def test_an_activation_layer_has_no_matrices():
    with pytest.raises(TypeError, match="not a Linear layer"):
        layer_matrices(spiral_session(steps=0), 1)


# -- down-sampling ---------------------------------------------------------------------------------------------

def test_downsample_takes_block_means():
    matrix = np.arange(16.0).reshape(4, 4)
    small, factor_rows, factor_cols = downsample(matrix, 2, 2)
    # Blocks [[0, 1], [4, 5]] -> 2.5, [[2, 3], [6, 7]] -> 4.5, [[8, 9], [12, 13]] -> 10.5, [[10, 11], [14, 15]] -> 12.5
    assert (factor_rows, factor_cols) == (2, 2)
    assert np.array_equal(small, [[2.5, 4.5], [10.5, 12.5]])


def test_downsample_averages_a_smaller_last_block_over_what_it_holds():
    matrix = np.arange(15.0).reshape(3, 5)  # rows 0..2, columns 0..4; factors 2 and 3
    small, factor_rows, factor_cols = downsample(matrix, 2, 2)
    assert (factor_rows, factor_cols) == (2, 3)
    expected = [[np.mean([0, 1, 2, 5, 6, 7]), np.mean([3, 4, 8, 9])],
                [np.mean([10, 11, 12]), np.mean([13, 14])]]
    assert np.array_equal(small, expected)


def test_downsample_is_exact_when_the_matrix_fits():
    matrix = np.random.default_rng(0).normal(size=(5, 7)).astype(np.float32)
    small, factor_rows, factor_cols = downsample(matrix, 5, 7)
    assert (factor_rows, factor_cols) == (1, 1)
    assert np.array_equal(small, matrix) and small is not matrix


def test_downsample_only_the_dimension_that_does_not_fit():
    small, factor_rows, factor_cols = downsample(np.ones((64, 3)), 22, 24)
    assert small.shape == (22, 3) and (factor_rows, factor_cols) == (3, 1)


# -- colours ---------------------------------------------------------------------------------------------------

def test_colours_are_symmetric_around_zero_and_nan_is_grey():
    levels = colour_levels(np.array([[-2.0, 0.0, 2.0, np.nan, 1.0]]), scale=2.0)
    assert levels.tolist() == [[0, LEVELS, 2 * LEVELS, len(PALETTE) - 1, LEVELS + round(LEVELS / 2)]]
    white = PALETTE[LEVELS].get_truecolor()
    assert min(white) > 240  # zero is (near) white
    blue, red = PALETTE[0].get_truecolor(), PALETTE[2 * LEVELS].get_truecolor()
    assert blue.blue > blue.red and red.red > red.blue


@pytest.mark.parametrize("system", [ColorSystem.STANDARD, ColorSystem.EIGHT_BIT])
def test_the_sign_survives_a_terminal_with_16_or_256_colours(system):
    downgraded = [colour.downgrade(system).number for colour in PALETTE[:-1]]
    negative, positive = downgraded[:LEVELS - 1], downgraded[LEVELS + 2:]  # levels -5..-2 and 2..5
    assert not set(negative) & set(positive), downgraded


def test_two_matrix_rows_share_one_text_row():
    lines = heatmap_lines(np.array([[-1.0, 1.0], [1.0, -1.0], [0.0, 0.0]]), scale=1.0)
    assert [line.plain for line in lines] == ["▀▀", "▀▀"]
    first = lines[0].spans[0].style
    assert (first.color.get_truecolor(), first.bgcolor.get_truecolor()) == (
        PALETTE[0].get_truecolor(), PALETTE[2 * LEVELS].get_truecolor())
    assert lines[1].spans[0].style.bgcolor is None  # an odd last row: only the upper half is drawn


# -- the view --------------------------------------------------------------------------------------------------

async def test_the_keys_switch_layers_and_the_64x64_layer_is_down_sampled_at_80x24():
    app = Host(spiral_session())
    async with app.run_test(size=(80, 24)) as pilot:
        app.view.focus()
        await pilot.pause()
        assert app.view.layer_index == 0 and "W 2x64" in shown(app)
        await pilot.press("right")
        assert app.view.layer_index == 2
        text = shown(app)
        assert "W 64x64" in text and "down-sampled from 64x64 to 22x22 (block means)" in text
        await pilot.press("full_stop")
        assert app.view.layer_index == 4 and "W 64x3" in shown(app)
        await pilot.press("full_stop")
        assert app.view.layer_index == 0  # round again
        await pilot.press("comma")
        assert app.view.layer_index == 4
        await pilot.press("left")
        assert app.view.layer_index == 2


async def test_the_view_shows_the_three_formulas_and_the_scales():
    session = spiral_session(steps=1, **{"optimizer.name": "sgd", "optimizer.lr": 0.05, "optimizer.momentum": 0.0})
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = shown(app)
        assert text.splitlines()[0] == WeightsView.EXPLANATION
        for words in ("y = x · W + b", "dL/dW", "= x^T · dL/dy", "= W_after - W_before", "W ← W − lr · g"):
            assert words in text
        weights = session.model.layers[0].params["W"]
        scale = np.abs(downsample(weights, 22, 24)[0]).max()
        assert f"±{scale:.1e}" in text
        assert app.view.region.bottom <= 23  # above the footer
        assert all(len(line) <= app.view.size.width for line in text.splitlines())


async def test_the_footer_shows_the_layer_keys_when_the_view_is_focused():
    app = Host(spiral_session(steps=1))
    async with app.run_test(size=(80, 24)) as pilot:
        app.view.focus()
        await pilot.pause()
        active = {active.binding.description for active in app.active_bindings.values()}
        assert {"Prev layer", "Next layer"} <= active
        footer = " ".join(str(key.render()) for key in app.query("FooterKey"))
        assert "Prev layer" in footer and "Next layer" in footer


async def test_before_any_step_the_update_is_explained_not_drawn():
    app = Host(spiral_session(steps=0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no update measured:" in shown(app)


async def test_nan_weights_and_tiny_or_wide_terminals_do_not_raise():
    session = spiral_session(steps=1)
    app = Host(session)
    async with app.run_test(size=(80, 24)) as pilot:
        session.model.layers[0].grads["W"][...] = np.nan
        app.view.update_view(session, session.snapshot())
        await pilot.pause()
        assert "every number is NaN" in shown(app)
        for size in ((60, 16), (50, 30), (30, 8), (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            shown(app)
        assert "full size" in shown(app) or "down-sampled" in shown(app)


def test_weights_view_80x24(snap_compare):
    app = Host(spiral_session(steps=10))
    app.animation_level = "none"

    async def show_the_64x64_layer(pilot) -> None:
        app.view.focus()
        await pilot.press("right")

    assert snap_compare(app, terminal_size=(80, 24), run_before=show_the_64x64_layer)


def test_the_update_panel_states_the_rule_the_optimizer_applies_nesterov_included():
    from nntui.nn import SGD, Adam, RMSProp
    from nntui.tui.views.weights import update_formula

    assert update_formula(SGD(0.1, momentum=0.9, nesterov=True)) == "W ← W − lr · (g + μ · v)"
    assert update_formula(SGD(0.1, momentum=0.9)) == "W ← W − lr · v"
    assert update_formula(SGD(0.1)) == "W ← W − lr · g"
    assert update_formula(Adam()) == "W ← W − lr · m̂/(√v̂ + ε)"
    assert update_formula(RMSProp(0.01)) == "W ← W − lr · u"
