"""Tests for the architecture editor and the hyperparameter form, driven by real keys through a Pilot.

Each widget sits alone in a tiny host app that records the messages it posts, so a test reads as: press
these keys, expect these messages (or none) and this on screen.
"""

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Select

from nntui.train.config import ACTIVATIONS, MAX_HIDDEN_LAYERS, MAX_LAYER_WIDTH, default_config
from nntui.tui.widgets.architecture import ArchitectureEditor
from nntui.tui.widgets.hyperparams import HyperParamsForm

# ---------------------------------------------------------------------------------------------------------
# ArchitectureEditor


class EditorHost(App):
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[Binding]] = [Binding("space", "app_key('space')"), Binding("n", "app_key('n')")]

    def __init__(self, **model) -> None:
        super().__init__()
        self.model = {"loss": "auto", "n_inputs": 2, "n_outputs": 3, "n_classes": 3, **model}
        self.changes: list[ArchitectureEditor.Changed] = []
        self.app_keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield ArchitectureEditor(**self.model, blink=False)

    def on_mount(self) -> None:
        self.query_one(ArchitectureEditor).focus()

    def on_architecture_editor_changed(self, message: ArchitectureEditor.Changed) -> None:
        self.changes.append(message)

    def action_app_key(self, key: str) -> None:
        self.app_keys.append(key)


def rows(app: App) -> list[list[str]]:
    """The layer table as plain text, one list of stripped cells per row."""
    table = app.query_one(DataTable)
    return [[str(cell).strip() for cell in table.get_row_at(i)] for i in range(table.row_count)]


def total_line(app: App) -> str:
    return str(app.query_one("#total").render()).strip()


def last_change(app: EditorHost) -> tuple[list[int], list[str], str]:
    change = app.changes[-1]
    return change.hidden, change.activations, change.loss


async def test_parameter_counts_of_a_2_16_3_network():
    app = EditorHost(hidden=[16], activations=["relu"])
    async with app.run_test(size=(80, 24)):
        assert rows(app) == [
            ["1", "Linear", "2→16", "relu", "48"],  # 2*16 weights + 16 biases; layers count from 1, as on every tab
            ["2", "output", "16→3", "softmax_ce", "51"],  # 16*3 + 3
        ]
        assert total_line(app) == "total 99 parameters"
        assert app.changes == []


async def test_add_copies_the_selected_layer_after_it():
    app = EditorHost(hidden=[8, 32], activations=["relu", "tanh"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "a")
        assert last_change(app) == ([8, 32, 32], ["relu", "tanh", "tanh"], "auto")
        assert app.query_one(ArchitectureEditor).selected == 2
        assert total_line(app) == f"total {2 * 8 + 8 + 8 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3:,} parameters"


async def test_add_to_a_linear_model_gives_16_relu_units():
    app = EditorHost(hidden=[], activations=[])
    async with app.run_test(size=(80, 24)) as pilot:
        assert rows(app) == [["1", "output", "2→3", "softmax_ce", "9"]]
        await pilot.press("a")
        assert last_change(app) == ([16], ["relu"], "auto")


async def test_remove_with_x_and_delete():
    app = EditorHost(hidden=[8, 16, 32], activations=["relu", "tanh", "sigmoid"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "x")
        assert last_change(app) == ([8, 32], ["relu", "sigmoid"], "auto")
        await pilot.press("delete")  # the selection stayed at index 1, now the 32-wide layer
        assert last_change(app) == ([8], ["relu"], "auto")
        assert len(app.changes) == 2


async def test_removing_when_there_is_no_hidden_layer_says_so_and_posts_nothing():
    app = EditorHost(hidden=[], activations=[])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        editor = app.query_one(ArchitectureEditor)
        assert editor.problem == "no hidden layer to remove"
        assert app.query_one("#problem").display
        assert app.changes == []
        await pilot.press("a")  # the next valid edit clears the message
        assert editor.problem == ""
        assert not app.query_one("#problem").display


async def test_move_layers_down_and_up_with_shift_j_and_shift_k():
    app = EditorHost(hidden=[8, 16, 32], activations=["relu", "tanh", "sigmoid"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("J")
        assert last_change(app) == ([16, 8, 32], ["tanh", "relu", "sigmoid"], "auto")
        await pilot.press("J")
        assert last_change(app) == ([16, 32, 8], ["tanh", "sigmoid", "relu"], "auto")
        await pilot.press("K", "K")
        assert last_change(app) == ([8, 16, 32], ["relu", "tanh", "sigmoid"], "auto")
        assert len(app.changes) == 4
        await pilot.press("K")  # already the first
        assert "already the first" in app.query_one(ArchitectureEditor).problem
        assert len(app.changes) == 4


async def test_double_and_halve_the_selected_width():
    app = EditorHost(hidden=[16, 5], activations=["relu", "relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(">")
        assert last_change(app)[0] == [32, 5]
        await pilot.press("<", "<")
        assert last_change(app)[0] == [8, 5]
        await pilot.press("down", "<")
        assert last_change(app)[0] == [8, 2]  # 5 // 2


async def test_halving_a_width_of_1_is_refused():
    app = EditorHost(hidden=[1], activations=["relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("<")
        assert app.query_one(ArchitectureEditor).problem == "cannot halve: layer 1 is 1 unit wide"
        assert app.query_one(ArchitectureEditor).hidden == [1]
        assert app.changes == []


async def test_doubling_past_the_maximum_width_is_refused():
    app = EditorHost(hidden=[MAX_LAYER_WIDTH], activations=["relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(">")
        assert "cannot double" in app.query_one(ArchitectureEditor).problem
        assert app.changes == []


async def test_adding_past_the_maximum_number_of_layers_is_refused():
    app = EditorHost(hidden=[4] * MAX_HIDDEN_LAYERS, activations=["relu"] * MAX_HIDDEN_LAYERS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert (
            app.query_one(ArchitectureEditor).problem
            == f"cannot add: at most {MAX_HIDDEN_LAYERS} hidden layers"
        )
        assert app.changes == []


async def test_t_cycles_the_activation_of_the_selected_layer():
    app = EditorHost(hidden=[8, 8], activations=["relu", "relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")
        for expected in [*ACTIVATIONS[1:], ACTIVATIONS[0]]:
            await pilot.press("t")
            assert last_change(app)[1] == ["relu", expected]
        assert rows(app)[1][3] == ACTIVATIONS[0]


async def test_o_switches_between_softmax_ce_and_bce_for_two_classes():
    app = EditorHost(hidden=[4], activations=["relu"], n_outputs=2, n_classes=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        assert last_change(app) == ([4], ["relu"], "bce")
        assert rows(app)[-1] == ["2", "output", "4→1", "bce", "5"]  # one logit: 4 weights + 1 bias
        await pilot.press("o")
        assert last_change(app) == ([4], ["relu"], "softmax_ce")
        assert rows(app)[-1] == ["2", "output", "4→2", "softmax_ce", "10"]


async def test_bce_is_refused_with_three_classes():
    app = EditorHost(hidden=[4], activations=["relu"], loss="softmax_ce")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("o")
        assert app.query_one(ArchitectureEditor).problem == "bce needs 2 classes; this data has 3"
        assert app.query_one(ArchitectureEditor).loss == "softmax_ce"
        assert app.changes == []


async def test_regression_keeps_mse():
    app = EditorHost(hidden=[4], activations=["relu"], task="regression", n_outputs=2, n_classes=0)
    async with app.run_test(size=(80, 24)) as pilot:
        assert rows(app)[-1] == ["2", "output", "4→2", "mse", "10"]
        await pilot.press("o")
        assert "mse" in app.query_one(ArchitectureEditor).problem
        assert app.changes == []


async def test_w_types_a_width_and_enter_applies_it():
    app = EditorHost(hidden=[16, 16], activations=["relu", "relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "w")
        width_input = app.query_one(Input)
        assert app.focused is width_input and width_input.value == "16"
        await pilot.press("1", "0", "0", "enter")  # the old value is selected, so typing replaces it
        assert last_change(app)[0] == [16, 100]
        assert app.focused is app.query_one(ArchitectureEditor)
        assert not width_input.display


async def test_an_invalid_typed_width_is_refused_and_escape_cancels():
    app = EditorHost(hidden=[16], activations=["relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w", "0")
        editor = app.query_one(ArchitectureEditor)
        assert app.query_one(Input).has_class("-invalid")
        assert editor.problem == "width must be a whole number >= 1, got 0"
        await pilot.press("enter")
        assert app.changes == [] and app.focused is app.query_one(Input)
        await pilot.press("escape")
        assert app.changes == [] and editor.hidden == [16]
        assert app.focused is editor and editor.problem == ""


async def test_editor_leaves_the_app_keys_alone():
    app = EditorHost(hidden=[16], activations=["relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space", "n")
        assert app.app_keys == ["space", "n"]
        assert app.changes == []


async def test_set_model_redraws_without_posting():
    app = EditorHost(hidden=[16], activations=["relu"])
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.query_one(ArchitectureEditor)
        editor.set_model([128, 64], ["relu", "relu"], "auto", 64, 10, "classification", 10)
        await pilot.pause()
        assert [row[2] for row in rows(app)] == ["64→128", "128→64", "64→10"]
        assert total_line(app) == f"total {64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10:,} parameters"
        assert editor.hidden == [128, 64] and app.changes == []


# ---------------------------------------------------------------------------------------------------------
# HyperParamsForm


class FormHost(App):
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[Binding]] = [Binding("space", "app_key('space')")]

    def __init__(self, config=None) -> None:
        super().__init__()
        self.config = config or default_config("spiral")  # adam, lr 0.01, batch 32, 60 epochs
        self.changes: list[HyperParamsForm.Changed] = []
        self.app_keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield HyperParamsForm(self.config, blink=False)

    def on_hyper_params_form_changed(self, message: HyperParamsForm.Changed) -> None:
        self.changes.append(message)

    def action_app_key(self, key: str) -> None:
        self.app_keys.append(key)


def posted(app: FormHost) -> list[tuple[str, object]]:
    return [(change.field, change.value) for change in app.changes]


async def type_into(pilot, widget_id: str, text: str) -> Input:
    """Focus an input, clear it and type text (without pressing Enter)."""
    field = pilot.app.query_one(f"#{widget_id}", Input)
    field.focus()
    await pilot.press("end", "ctrl+u", *text)
    return field


async def test_the_form_shows_the_config_and_mounting_posts_nothing():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one("#optimizer-lr", Input).value == "0.01"
        assert app.query_one("#training-batch_size", Input).value == "32"
        assert app.query_one("#optimizer-name", Select).value == "adam"
        assert app.query_one("#data-dataset", Select).value == "spiral"
        assert app.changes == []


async def test_text_that_is_not_a_number_is_marked_and_never_posted():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        lr = await type_into(pilot, "optimizer-lr", "abc")
        form = app.query_one(HyperParamsForm)
        assert lr.has_class("-invalid")
        assert form.problem == "optimizer.lr must be a number, got 'abc'"
        assert str(app.query_one("#optimizer-lr-mark").render()) == "!"
        await pilot.press("enter")
        await pilot.press("escape")  # leaving the field does not post it either
        assert app.changes == []


async def test_a_valid_lr_is_posted_on_enter():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        lr = await type_into(pilot, "optimizer-lr", "0.05")
        assert not lr.has_class("-invalid")
        assert app.query_one(HyperParamsForm).problem == ""
        await pilot.press("enter")
        assert posted(app) == [("optimizer.lr", 0.05)]


async def test_an_out_of_range_value_gets_the_config_message():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "optimizer-momentum", "1")
        assert app.query_one(HyperParamsForm).problem == "optimizer.momentum must be < 1, got 1.0"
        await pilot.press("enter")
        assert app.changes == []
        await pilot.press("backspace", "0", ".", "9", "enter")
        assert posted(app) == [("optimizer.momentum", 0.9)]
        assert app.query_one(HyperParamsForm).problem == ""


async def test_a_valid_changed_value_is_posted_when_the_field_loses_focus():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "training-batch_size", "64")
        await pilot.press("escape")
        assert posted(app) == [("training.batch_size", 64)]


async def test_escape_drops_focus_from_an_input_so_app_keys_work_again():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await type_into(pilot, "training-seed", "")
        await pilot.press("space")  # typed into the field
        assert app.app_keys == []
        await pilot.press("escape")
        assert app.focused is None
        await pilot.press("space")
        assert app.app_keys == ["space"]


async def test_picking_an_optimizer_posts_at_once():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#optimizer-name", Select).focus()
        await pilot.press("enter", "up", "up", "enter")  # the list opens on adam, the last of three
        assert posted(app) == [("optimizer.name", "sgd")]


async def test_space_on_a_list_reaches_the_app_instead_of_opening_it():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        select = app.query_one("#optimizer-name", Select)
        select.focus()
        await pilot.press("space")
        assert app.app_keys == ["space"] and not select.expanded


async def test_up_and_down_move_between_fields():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#optimizer-lr", Input).focus()
        await pilot.press("down")
        assert app.focused.id == "training-batch_size"
        await pilot.press("up", "up")
        assert app.focused.id == "optimizer-name"  # a list does not swallow Up/Down when closed
        await pilot.press("up")
        assert app.focused.id == "data-file"


async def test_set_values_updates_the_display_without_posting():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        config = default_config("digits")  # adam, lr 0.003, 30 epochs
        config.optimizer.name, config.training.seed = "rmsprop", 7
        app.query_one(HyperParamsForm).set_values(config)
        await pilot.pause()
        assert app.query_one("#optimizer-lr", Input).value == "0.003"
        assert app.query_one("#training-epochs", Input).value == "30"
        assert app.query_one("#optimizer-name", Select).value == "rmsprop"
        assert app.query_one("#data-dataset", Select).value == "digits"
        app.query_one(HyperParamsForm).set_value("optimizer.lr", 0.0015)
        await pilot.pause()
        assert app.query_one("#optimizer-lr", Input).value == "0.0015"
        assert app.changes == []


async def test_picking_a_builtin_dataset_posts_it():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#data-dataset", Select).focus()
        await pilot.press("enter", "down", "enter")  # spiral -> moons
        assert posted(app) == [("data.dataset", "moons")]


async def test_picking_a_file_in_the_dataset_list_goes_to_the_path_field_and_back_if_none_is_typed():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        select = app.query_one("#data-dataset", Select)
        select.focus()
        await pilot.press("enter", "up", "enter")  # spiral -> "(a file)"
        await pilot.pause()
        assert app.focused is app.query_one("#data-file", Input)

        await pilot.press("tab")  # leave it empty
        await pilot.pause()
        assert select.value == "spiral"
        assert app.changes == []


async def test_a_data_file_must_exist_and_be_csv_or_npz(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short relative paths keep the typing quick
    (tmp_path / "points.csv").write_text("x,y,label\n0,0,0\n")
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.query_one(HyperParamsForm)
        await type_into(pilot, "data-file", "notes.txt")
        assert form.problem == "data file must end in .csv or .npz, got 'notes.txt'"
        await type_into(pilot, "data-file", "gone.csv")
        assert form.problem == "no such file: gone.csv"
        await pilot.press("enter")
        assert app.changes == []
        app.query_one("#data-file", Input).value = "c" * 300 + ".csv"  # pasted; too long a name for the disk
        await pilot.pause()
        assert form.problem.startswith("cannot use 'cccc")
        await type_into(pilot, "data-file", "points.csv")
        assert form.problem == ""
        await pilot.press("enter")
        assert posted(app) == [("data.dataset", "points.csv")]
        assert app.query_one("#data-dataset", Select).is_blank()


async def test_set_value_of_a_file_dataset_fills_the_file_field():
    app = FormHost()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(HyperParamsForm).set_value("data.dataset", "runs/points.csv")
        await pilot.pause()
        assert app.query_one("#data-file", Input).value == "runs/points.csv"
        assert app.query_one("#data-dataset", Select).is_blank()
        assert app.changes == []


def test_the_form_shows_numbers_as_the_runs_log_writes_them_and_reads_them_back():
    from nntui.train.config import apply_overrides, as_logged, parse_field
    from nntui.tui.widgets.hyperparams import TEXT_FIELDS, shown_values

    config = apply_overrides(default_config("spiral"), {"optimizer.lr": 0.1 + 0.2, "optimizer.weight_decay": 1e-05})
    shown = shown_values(config)
    assert (shown["optimizer.lr"], shown["optimizer.weight_decay"], shown["training.batch_size"]) == ("0.3", "1e-05", "32")
    for dotted, _label in TEXT_FIELDS:
        section, name = dotted.split(".")
        value = getattr(getattr(config, section), name)
        assert shown[dotted] == as_logged(value)  # the form and the log (lr 0.3 -> 0.6) write a setting alike
        assert parse_field(dotted, shown[dotted]) == float(f"{value:.6g}"), dotted  # and it reads back
