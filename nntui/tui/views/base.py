"""What every explaining view has in common."""

from __future__ import annotations

from typing import ClassVar

from textual.widget import Widget

from nntui.train.session import Snapshot, TrainingSession


class InsightView(Widget):
    """A view the app shows as a tab and refreshes at a low rate (about once a second) while it is visible.

    The app calls ``update_view(session, snapshot)`` only for the visible view, so a closed view costs nothing.
    A view reads its numbers from the session (its model, data, last gradients and updates) or the snapshot, and
    computes nothing that could disagree with them. When it does not apply (a decision boundary for the digits),
    ``not_applicable`` returns the reason, and the view shows it instead of drawing nothing.
    """

    #: The tab's title and the one line under it that tells a learner what the view shows.
    TITLE: ClassVar[str] = ""
    EXPLANATION: ClassVar[str] = ""

    def not_applicable(self, session: TrainingSession) -> str | None:
        """Why this view does not apply to the session's data or model, or None when it does."""
        return None

    def update_view(self, session: TrainingSession, snapshot: Snapshot) -> None:
        raise NotImplementedError
