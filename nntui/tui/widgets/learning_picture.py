"""The Train tab's picture of what the network has learned, beside the loss and accuracy charts (from 120 columns).

For 2-D data it is the decision boundary (the Boundary tab's view, without its explanation line); for other
classification data the validation confusion matrix (the Digits tab's page); for regression it says why there is
none. It is redrawn at most once a second while training, and only while it is on screen: the app calls
``update_picture``.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nntui.train.insight import boundary
from nntui.train.session import Snapshot, TrainingSession
from nntui.tui.views.boundary import BoundaryView
from nntui.tui.views.digits import confusion_page


def picture_kind(session: TrainingSession) -> str:
    """"boundary" (2-D data), "confusion" (other classification) or "none" (regression)."""
    if boundary.applies(session) is None:
        return "boundary"
    return "confusion" if session.dataset.task == "classification" else "none"


class LearningPicture(Vertical):
    """The decision boundary or the confusion matrix of the session, whichever its data has."""

    DEFAULT_CSS = """
    LearningPicture { height: 1fr; }
    LearningPicture > #picture-title { height: 1; padding: 0 1; color: $text-muted; }
    LearningPicture > #picture-confusion { height: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kind = ""
        self._drawn: tuple | None = None  # (model, step, width) of the confusion matrix shown (the model kept alive)

    def compose(self) -> ComposeResult:
        yield Static("", id="picture-title", markup=False)
        yield BoundaryView(show_explanation=False, id="picture-boundary")
        yield Static("", id="picture-confusion", markup=False)

    def update_picture(self, session: TrainingSession, snapshot: Snapshot) -> None:
        """Draw what the network predicts now (nothing is computed when nothing changed)."""
        kind = picture_kind(session)
        if kind != self.kind:
            self.kind = kind
            self.query_one("#picture-boundary").display = kind == "boundary"
            self.query_one("#picture-confusion").display = kind == "confusion"
            self.query_one("#picture-title", Static).update({
                "boundary": "what it predicts where",
                "confusion": "what it predicts: validation, row = true class",
                "none": "no picture for regression: the loss chart shows the fit"}[kind])
        if kind == "boundary":
            self.query_one(BoundaryView).update_view(session, snapshot)
        elif kind == "confusion":
            width = self.size.width - 2
            key = (session.model, session.step_count, width)
            if key != self._drawn:
                self._drawn = key
                self.query_one("#picture-confusion", Static).update(confusion_page(session, width, compact=True))
