"""The status bar: one line of what the player is doing, most important first, and the retrain's progress bar."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static


class StatusBar(Horizontal):
    """The status line (a narrow terminal cuts its end, so the most important words come first)
    and, while a retrain counts its steps, a progress bar beside it."""

    def __init__(self) -> None:
        super().__init__(id="status-bar")
        self.line = Static(id="status")
        self.progress_bar = ProgressBar(id="retrain-progress", show_eta=False)

    def compose(self) -> ComposeResult:
        yield self.line
        yield self.progress_bar

    def on_mount(self) -> None:
        self.progress_bar.display = False

    def show(self, words: Iterable[str | None], progress: tuple[int, int] | None) -> None:
        """The line made of ``words`` (None: nothing to say there); ``progress`` (done, total) or None."""
        self.line.update(" · ".join(word for word in words if word), layout=False)
        if (progress is not None) != self.progress_bar.display:
            self.progress_bar.display = progress is not None
        if progress is not None:
            self.progress_bar.update(progress=progress[0], total=progress[1])
