"""The app's save dialog never silently replaces a file it did not warn about."""

import asyncio

from nntui.train.config import apply_overrides, default_config
from nntui.tui.app import NNTuiApp
from nntui.tui.screens import SaveScreen


async def test_a_file_that_appears_after_the_dialog_checked_the_name_is_not_replaced_and_the_dialog_says_so(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = NNTuiApp(apply_overrides(default_config("spiral"), {"training.epochs": 1000}), blink=False)
    app.animation_level = "none"
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+s")
        screen = app.screen
        assert isinstance(screen, SaveScreen)
        original_existing = screen.existing

        def checked_then_another_instance_saves(text):
            answer = original_existing(text)  # the dialog looks: no file of that name
            (tmp_path / "same.npz").write_bytes(b"the other instance's run")
            return answer

        screen.existing = checked_then_another_instance_saves
        await pilot.press("end", "ctrl+u", *"same", "enter")
        assert app.screen is screen, "the dialog stays open to say what happened"
        assert "another program" in str(screen.query_one("#save-problem").render())
        assert (tmp_path / "same.npz").read_bytes() == b"the other instance's run"
        assert not any("run saved" == note.title for note in app._notifications)

        screen.existing = original_existing  # now the file is seen: enter warns, a second enter replaces
        await pilot.press("enter")
        assert app.screen is screen and "exists" in str(screen.query_one("#save-problem").render())
        await pilot.press("enter")
        assert not isinstance(app.screen, SaveScreen)
        assert (tmp_path / "same.npz").read_bytes() != b"the other instance's run"
        app.exit()
        await asyncio.wait_for(asyncio.shield(app._task), timeout=5)
