"""Analysis scheduling: the playing track first, the rest of the library behind it (no Textual).

The player analyses the playing track block by block so its mood shows while it starts; the rest
of the library is analysed one file at a time in the background and waits (the file in progress
is interrupted and retried) whenever the playing track is being analysed. Results and failures
persist in the analysis cache, so a second start only analyses new or changed files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from moodtui.errors import AudioError

POST_INTERVAL_S = 0.25
"""How often the background analysis reports (results in batches: fewer UI updates)."""
CANCELLED = "analysis cancelled"


@dataclass
class AnalysisBatch:
    """Background results since the last batch, and the progress: ``done`` of ``total`` files."""

    moods: dict[str, np.ndarray] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    energies: dict[str, float] = field(default_factory=dict)
    """Song energy, for models that give one (``SongMood.energy``)."""
    done: int = 0
    total: int = 0
    finished: bool = False


class AnalysisScheduler:
    """Runs the analyses of one player over ``cache`` (a ``moodtui.analysis.AnalysisCache``)."""

    def __init__(self, cache) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._foreground = 0  # analyses of the playing track running now (the library waits)

    @contextmanager
    def _playing_first(self) -> Iterator[None]:
        with self._lock:
            self._foreground += 1
        try:
            yield
        finally:
            with self._lock:
                self._foreground -= 1

    def analyse_playing(self, path: str, model, *, on_slices: Callable[[np.ndarray, np.ndarray], None],
                        cancelled: Callable[[], bool]):
        """The playing track's SongMood (first block one slice long, reported through ``on_slices``);
        the background analysis waits meanwhile. Raises ``AudioError`` as ``analyse_file`` does."""
        from moodtui.analysis import analyse_cached

        with self._playing_first():
            return analyse_cached(path, model, self.cache, first_block_slices=1, on_slices=on_slices,
                                  cancelled=cancelled)

    def analyse_library(self, model, paths: list[str], *, cancelled: Callable[[], bool],
                        report: Callable[[AnalysisBatch], None]) -> None:
        """Analyse ``paths`` in order, reporting batches about every :data:`POST_INTERVAL_S`;
        returns early (without a final batch) once ``cancelled()`` is true."""
        from moodtui.analysis import analyse_cached

        cache = self.cache
        batch = AnalysisBatch(total=len(paths))
        last_post = time.monotonic()

        def post(finished: bool = False) -> None:
            nonlocal batch, last_post
            batch.finished = finished
            report(batch)
            batch = AnalysisBatch(done=batch.done, total=batch.total)
            last_post = time.monotonic()

        def interrupted() -> bool:
            return cancelled() or self._foreground > 0

        for path in paths:
            while True:
                while self._foreground > 0 and not cancelled():
                    time.sleep(0.02)  # the playing track goes first
                if cancelled():
                    return
                reason = cache.get_error(path)
                if reason is not None:
                    batch.errors[path] = reason
                    break
                try:
                    mood = analyse_cached(path, model, cache, cancelled=interrupted)
                except AudioError as error:
                    if error.cause == CANCELLED:
                        continue  # interrupted by the playing track or by quitting: try again
                    batch.errors[path] = error.cause
                    break
                batch.moods[path], batch.durations[path] = mood.song_probs, mood.duration_s
                if (energy := getattr(mood, "energy", None)) is not None:
                    batch.energies[path] = energy
                break
            batch.done += 1
            if time.monotonic() - last_post >= POST_INTERVAL_S:
                post()
            time.sleep(0)  # let the UI thread take the GIL between files
        post(finished=True)
