"""The player's one writer of the labels database: one request at a time, in key order (no Textual).

Labels, undos and the search for moved labelled songs go through one queue served by one thread,
so ``p`` then ``x`` leaves ``x`` standing and the UI never waits for a file lock or an fsync.
Each request reports its outcome through ``report`` (called on the writer's thread).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from moodtui.errors import MoodtuiError, display_path


@dataclass(frozen=True)
class LabelOutcome:
    """What a request did. ``path``/``label``: the song whose label changed and its label now
    (None after an undo that left it unlabelled); ``relabelled``: every current label (after moved
    songs were found); ``severity`` as for a notice."""

    message: str
    path: str | None = None
    label: str | None = None
    changed: bool = False
    relabelled: dict[str, str] | None = None
    severity: Literal["information", "warning", "error"] = "information"


def song_name(path: str, title: str | None = None) -> str:
    """How a notice names a song: its title, else its file name."""
    return title or display_path(os.path.basename(path))


class LabelWriter:
    """Serves label requests for ``store`` (a ``moodtui.store.LabelStore``) on its own thread."""

    def __init__(self, store, report: Callable[[LabelOutcome], None]) -> None:
        self.store = store
        self._report = report
        self._requests: queue.Queue[Callable[[], LabelOutcome | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="moodtui-label-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the requests already made, then end the thread."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _serve(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            try:
                outcome = request()
            except MoodtuiError as error:  # the request's own handling missed it: still one line
                outcome = LabelOutcome(f"labels: {error}", severity="error")
            if outcome is not None:
                self._report(outcome)

    # -- requests ---------------------------------------------------------------------------------

    def label(self, path: str, label: str, *, title: str | None = None, model_version: str | None = None,
              probs: list[float] | None = None) -> None:
        self._requests.put(lambda: self._label(path, label, title, model_version, probs))

    def undo(self, titles: Callable[[str], str | None] = lambda path: None) -> None:
        self._requests.put(lambda: self._undo(titles))

    def find_moved(self, files: list[tuple[str, int]]) -> None:
        """Look for labelled songs that were moved or renamed among ``files`` (path, size)."""
        self._requests.put(lambda: self._find_moved(files))

    def _label(self, path: str, label: str, title: str | None, model_version: str | None,
               probs: list[float] | None) -> LabelOutcome:
        try:
            previous = self.store.label_for(path)
            self.store.add_label(path, label, model_version=model_version, model_probs=probs)
        except MoodtuiError as error:
            return LabelOutcome(f"label not saved: {error}", path, severity="error")
        was = f" (was {previous.label})" if previous is not None and previous.label != label else ""
        return LabelOutcome(f"“{song_name(path, title)}” labelled {label}{was} · u undoes", path, label, changed=True)

    def _undo(self, titles: Callable[[str], str | None]) -> LabelOutcome:
        try:
            undone = self.store.undo_last()
            if undone is None:
                return LabelOutcome("nothing to undo")
            now = self.store.label_for(undone.path, fingerprint=undone.fingerprint)
        except MoodtuiError as error:
            return LabelOutcome(f"undo failed: {error}", severity="error")
        label = now.label if now is not None else None
        after = f"; it is {label} again" if label else ""
        name = song_name(undone.path, titles(undone.path))
        return LabelOutcome(f"undid {undone.label} on “{name}”{after}", undone.path, label, changed=True)

    def _find_moved(self, files: list[tuple[str, int]]) -> LabelOutcome | None:
        try:
            moved = self.store.find_moved(files)
            if not moved:
                return None
            labels = {record.path: record.label for record in self.store.current_labels()}
        except MoodtuiError as error:
            return LabelOutcome(f"could not look for moved labelled songs: {error}", severity="warning")
        return LabelOutcome(f"{len(moved)} labelled song(s) found under a new name or folder", relabelled=labels)
