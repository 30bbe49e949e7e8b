"""The player's caches: the library index, the analysis cache and its scheduler, on one cache.sqlite (no Textual).

Opened once, by whichever of the player's workers asks first (the scan, the model loader, the
watchers), one thread at a time: two connections creating a new database at the same moment can
make the switch to WAL mode fail with "database is locked".
"""

from __future__ import annotations

import threading

from moodtui.library.scan import LibraryIndex
from moodtui.mood.analysis import AnalysisCache
from moodtui.mood.scheduler import AnalysisScheduler
from moodtui.sqlite_cache import Cache


class PlayerCaches:
    """The three views of the player's cache; None until :meth:`open`."""

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache: Cache = cache if cache is not None else Cache()  # opens nothing: each thread connects on first use
        self.index: LibraryIndex | None = None
        self.analysis: AnalysisCache | None = None
        self.scheduler: AnalysisScheduler | None = None
        self._lock = threading.Lock()

    def open(self) -> tuple[LibraryIndex, str | None]:
        """The library index (the analysis cache and the scheduler open with it) and, the first
        time, the cache's one line when a damaged cache.sqlite was moved aside. MoodtuiError when
        the cache cannot be opened (the next call tries again)."""
        with self._lock:
            if self.index is not None:
                return self.index, None
            self.index = LibraryIndex(self.cache)
            self.analysis = AnalysisCache(self.cache)
            self.scheduler = AnalysisScheduler(self.analysis)
            return self.index, self.cache.take_recovery_notice()

    def loaded_analysis(self) -> AnalysisCache:
        """The analysis cache, for the workers that start only once a model (and so it) is loaded."""
        assert self.analysis is not None, "the analysis cache opens before the model is ready"
        return self.analysis

    def loaded_scheduler(self) -> AnalysisScheduler:
        """The analysis scheduler (made with the analysis cache, before a model is ready)."""
        assert self.scheduler is not None, "the scheduler is made before the model is ready"
        return self.scheduler
