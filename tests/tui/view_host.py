"""A small app that shows one explaining view the way nntui does: under a header, a two-line status and a tab."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from nntui.train.session import TrainingSession


class Host(App):
    """The view as the app shows it (the view explains itself); ``show()`` draws the session's snapshot."""

    CSS = "#status { height: 2; } #tabs { height: 1fr; } TabPane { padding: 0; }"
    AUTO_FOCUS = ""
    VIEW_CLASS: type  # set by each test module's subclass

    def __init__(self, session: TrainingSession) -> None:
        super().__init__()
        self.session = session
        self.view = self.VIEW_CLASS(id="view")

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("status line\n(stand-in)", id="status")
        with TabbedContent(id="tabs"), TabPane(self.view.TITLE):
            yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        self.view.update_view(self.session, self.session.snapshot())
