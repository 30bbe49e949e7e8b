"""The App's parts without a look: widgets that own workers and messages and are never displayed.

Like posting's and harlequin's Apps split into widgets that talk through messages: each part
(``transport``, ``library_sync``, ``model_keeper``, ``analysis_runner``, ``label_keeper``,
``playlist_export``) owns its workers and state; what they find out comes back as messages that
bubble up to the App, which shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget
from textual.worker import Worker, WorkerState

from moodtui.library.scan import LibraryIndex
from moodtui.tui.messages import Notice

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class Controller(Widget):
    """A display-less part of the player (see the module docstring)."""

    DEFAULT_CSS = "Controller { display: none; }"

    def __init__(self, app: MoodApp, *, id: str) -> None:
        super().__init__(id=id)
        # Kept, not looked up: thread workers read it too (``self.app`` is a context variable).
        self.player_app = app

    def open_caches(self) -> LibraryIndex:
        """The caches (``PlayerCaches``), opened by whichever worker asks first; one notice if a
        damaged one was replaced."""
        index, recovered = self.player_app.caches.open()
        if recovered:
            self.post_message(Notice(recovered, "warning"))
        return index

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: report a worker's unexpected failure (a bug) here.
        if event.state is WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker) -> None:
        """One line for the listener; playing goes on."""
        error = worker.error
        self.player_app.show_notice(f"{worker.name} failed: {type(error).__name__}: {error}", severity="error")
