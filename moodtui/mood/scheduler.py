"""Analysis scheduling: the playing track first, the rest of the library behind it (no Textual).

The player analyses the playing track block by block (in its own process) so its mood shows while
it starts; the rest of the library is analysed in the background by the analysis pool
(``moodtui.mood.pool``: worker processes, one fewer than the cores while music plays), which starts no
new file while the playing track is analysed or while the listener has paused it. Results and
failures persist in the analysis cache as each file finishes, so a second start only analyses new
or changed files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from moodtui.mood.pool import AnalysisPool

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
    paused: bool = False
    eta_s: float | None = None  # time left at the rate so far (None until a file is analysed)
    cache_problem: str | None = None
    """Why results stopped being stored (a full disk), once, when it starts; analysis goes on."""


class AnalysisScheduler:
    """Runs the analyses of one player over ``cache`` (a ``moodtui.mood.analysis.AnalysisCache``)."""

    def __init__(self, cache) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._foreground = 0  # analyses of the playing track running now (the library waits)
        self._paused = threading.Event()
        self._pool: AnalysisPool | None = None  # the pool of the running background analysis
        self._cache_problem: str | None = None  # the cache write failure last reported

    @contextmanager
    def _playing_first(self) -> Iterator[None]:
        with self._lock:
            self._foreground += 1
        try:
            yield
        finally:
            with self._lock:
                self._foreground -= 1

    def analyse_playing(
        self, path: str, model, *, on_slices: Callable[[np.ndarray, np.ndarray], None], cancelled: Callable[[], bool]
    ):
        """The playing track's SongMood (first block one slice long, reported through ``on_slices``);
        the background analysis waits meanwhile. Raises ``AudioError`` as ``analyse_file`` does."""
        from moodtui.mood.analysis import analyse_cached
        from moodtui.mood.pool import available_cores

        with self._playing_first():
            # The listener waits for this one: with a second core, decoding runs ahead on it.
            return analyse_cached(
                path,
                model,
                self.cache,
                first_block_slices=1,
                on_slices=on_slices,
                cancelled=cancelled,
                read_ahead=available_cores() >= 2,
            )

    @property
    def paused(self) -> bool:
        """The listener paused the background analysis (files in progress finish)."""
        return self._paused.is_set()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def analyse_library(
        self,
        model,
        paths: list[str],
        *,
        cancelled: Callable[[], bool],
        report: Callable[[AnalysisBatch], None],
        playing: Callable[[], bool] = lambda: True,
        workers: int | None = None,
    ) -> None:
        """Analyse ``paths`` in order on the analysis pool (``moodtui.mood.pool``), reporting batches
        about every :data:`POST_INTERVAL_S`; returns early (without a final batch) once
        ``cancelled()`` is true.

        The pool starts no new file while the playing track is analysed or while paused, and runs
        one process fewer while music plays (``playing()``), unless ``workers`` fixes the count.
        """
        from moodtui.mood.analysis import analyse_paths
        from moodtui.mood.pool import AnalysisPool, worker_count

        batch = AnalysisBatch(total=len(paths))
        last_post = time.monotonic()
        clock = _RunningClock()
        analysed = 0

        def post(finished: bool = False) -> None:
            nonlocal batch, last_post
            batch.finished = finished
            batch.paused = self.paused
            remaining = batch.total - batch.done
            batch.eta_s = remaining * clock.elapsed() / analysed if analysed and remaining else None
            report(batch)
            batch = AnalysisBatch(done=batch.done, total=batch.total)
            last_post = time.monotonic()

        def on_result(result) -> None:
            nonlocal analysed
            if result.mood is not None:
                batch.moods[result.path], batch.durations[result.path] = result.mood.song_probs, result.mood.duration_s
                if (energy := getattr(result.mood, "energy", None)) is not None:
                    batch.energies[result.path] = energy
            else:
                batch.errors[result.path] = result.error
            if not result.cached:
                analysed += 1
            batch.done += 1
            problem = getattr(self.cache, "write_failure", None)
            if problem is not None and problem != self._cache_problem:
                batch.cache_problem = problem  # said once a session, again only after writes worked
            self._cache_problem = problem
            if time.monotonic() - last_post >= POST_INTERVAL_S or batch.cache_problem:
                post()

        def held() -> bool:
            waiting = self._foreground > 0 or self.paused
            clock.hold(waiting)
            if waiting and time.monotonic() - last_post >= POST_INTERVAL_S:
                post()  # the status shows "paused" promptly
            return waiting

        most = workers or worker_count(playing=False)
        with AnalysisPool(most, model_path=model.path, quiet=True) as pool:
            self._pool = pool
            try:
                completed = analyse_paths(
                    paths,
                    model,
                    self.cache,
                    workers=most,
                    on_result=on_result,
                    cancelled=cancelled,
                    paused=held,
                    limit=(lambda: workers or worker_count(playing=playing())),
                    isolate=True,
                    pool=pool,
                )
            finally:
                self._pool = None
        if completed:
            post(finished=True)

    @property
    def in_flight(self) -> int:
        """Library files being analysed right now (by the pool)."""
        pool = self._pool
        return pool.in_flight if pool is not None else 0


class _RunningClock:
    """Seconds elapsed, not counting the time held (paused): the basis of the ETA."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._held_since: float | None = None
        self._held = 0.0

    def hold(self, holding: bool) -> None:
        now = time.monotonic()
        if holding and self._held_since is None:
            self._held_since = now
        elif not holding and self._held_since is not None:
            self._held += now - self._held_since
            self._held_since = None

    def elapsed(self) -> float:
        now = time.monotonic()
        held = self._held + (now - self._held_since if self._held_since is not None else 0.0)
        return max(1e-6, now - self._start - held)
