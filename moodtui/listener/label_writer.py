"""The player's one writer of the labels database: one request at a time, in key order (no Textual).

Labels, undos and the search for moved labelled songs go through one queue served by one thread,
so ``p`` then ``x`` leaves ``x`` standing and the UI never waits for a file lock or an fsync.
Each request reports its outcome through ``report`` (called on the writer's thread).

Nothing the listener gives is dropped silently. A label or undo that cannot be written (a full
disk, a locked or read-only database, any error but the song's own file being unreadable) stays
at the head of the queue, is reported once naming the label and the cause, and is tried again
every :data:`RETRY_S`; the requests behind it wait (order matters) and are reported as waiting.
When it is written at last, that is reported too. :meth:`LabelWriter.stop` tries once more and
returns what is still unsaved, for the player to print when it ends.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from moodtui.errors import AudioError, MoodtuiError, display_path
from moodtui.text import plural

RETRY_S = 2.0
"""How often a label that could not be written is tried again."""
_RETRY = object()
"""What the serving loop gets when it is time to try the waiting requests again."""


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


@dataclass
class _Request:
    what: str
    """Names the request for the listener ("" for housekeeping that is never kept queued)."""
    run: Callable[[], LabelOutcome | None]
    """Raises when the request could not be done and should be tried again."""
    failed: bool = False


class LabelWriter:
    """Serves label requests for ``store`` (a ``moodtui.listener.labels.LabelStore``) on its own thread."""

    def __init__(self, store, report: Callable[[LabelOutcome], None], *, retry_s: float = RETRY_S) -> None:
        self.store = store
        self._report = report
        self._retry_s = retry_s
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._waiting: deque[_Request] = deque()
        """Requests taken from the queue and not done yet (the head failed), oldest first."""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="moodtui-label-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> list[str]:
        """Finish the requests already made (one last try for those that failed), then end the
        thread. Returns what could not be saved, oldest first (the caller tells the listener)."""
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(timeout)
            self._thread = None
        return self.unsaved()

    def unsaved(self) -> list[str]:
        """Labels and undos asked for and not written yet, oldest first."""
        return [request.what for request in list(self._waiting) if request.what]

    def _serve(self) -> None:
        retry_at = 0.0
        while True:
            try:
                timeout = max(0.0, retry_at - time.monotonic()) if self._waiting else None
                request: _Request | object | None = self._requests.get(timeout=timeout)
            except queue.Empty:
                request = _RETRY
            if request is None:
                self._write_waiting()  # one last try
                return
            if isinstance(request, _Request):
                self._waiting.append(request)
                if self._waiting[0].failed:
                    self._report(
                        LabelOutcome(
                            f"{request.what}: waiting to be saved ({len(self._waiting)} in the queue)",
                            severity="warning",
                        )
                    )
                    continue
            if not self._write_waiting():
                retry_at = time.monotonic() + self._retry_s

    def _write_waiting(self) -> bool:
        """Do the waiting requests in order; False when one failed (it stays at the head)."""
        while self._waiting:
            request = self._waiting[0]
            try:
                outcome = request.run()
            except Exception as error:  # noqa: BLE001 - any failure keeps the label for a retry
                if not request.what:  # housekeeping: report and move on
                    self._waiting.popleft()
                    self._report(LabelOutcome(f"labels: {_reason(error)}", severity="warning"))
                    continue
                if not request.failed:
                    request.failed = True
                    self._report(
                        LabelOutcome(
                            f"{request.what}: not saved yet ({_reason(error)}); kept, "
                            f"retrying every {self._retry_s:g} s",
                            severity="error",
                        )
                    )
                return False
            self._waiting.popleft()
            if request.failed:
                self._report(LabelOutcome(f"{request.what}: saved now"))
            if outcome is not None:
                self._report(outcome)
        return True

    # -- requests ---------------------------------------------------------------------------------

    def label(
        self,
        path: str,
        label: str,
        *,
        title: str | None = None,
        model_version: str | None = None,
        probs: list[float] | None = None,
    ) -> None:
        what = f"label {label} for “{song_name(path, title)}”"
        self._requests.put(_Request(what, lambda: self._label(path, label, title, model_version, probs)))

    def undo(self, titles: Callable[[str], str | None] = lambda path: None) -> None:
        self._requests.put(_Request("undo of the last label", lambda: self._undo(titles)))

    def find_moved(self, files: list[tuple[str, int]]) -> None:
        """Look for labelled songs that were moved or renamed among ``files`` (path, size)."""
        self._requests.put(_Request("", lambda: self._find_moved(files)))

    def _label(
        self, path: str, label: str, title: str | None, model_version: str | None, probs: list[float] | None
    ) -> LabelOutcome:
        try:
            previous = self.store.label_for(path)
            self.store.add_label(path, label, model_version=model_version, model_probs=probs)
        except AudioError as error:  # the song's own file: trying again cannot help
            return LabelOutcome(f"label not saved: {error}", path, severity="error")
        was = f" (was {previous.label})" if previous is not None and previous.label != label else ""
        return LabelOutcome(f"“{song_name(path, title)}” labelled {label}{was} · u undoes", path, label, changed=True)

    def _undo(self, titles: Callable[[str], str | None]) -> LabelOutcome:
        undone = self.store.undo_last()
        if undone is None:
            return LabelOutcome("nothing to undo")
        try:
            now = self.store.label_for(undone.path, fingerprint=undone.fingerprint)
        except MoodtuiError:
            now = None  # the undo is written; only the label shown after it is unknown
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
        return LabelOutcome(
            f"{plural(len(moved), 'labelled song')} found under a new name or folder", relabelled=labels
        )


def _reason(error: BaseException) -> str:
    return str(error) if isinstance(error, MoodtuiError) else f"{type(error).__name__}: {error}"
