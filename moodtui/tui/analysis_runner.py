"""The player's mood analysis: the playing track block by block, the cached moods, the rest of the library.

:class:`AnalysisRunner` (a display-less part the App mounts, ``moodtui.tui.controller``) owns the
workers; ``moodtui.mood.scheduler.AnalysisScheduler`` decides what runs when (the playing track
first, the library behind it, nothing new while paused). Results come back to the App as
:class:`SlicesAnalysed` / :class:`SongAnalysed` (the playing track; stale ones are stopped here)
and :class:`MoodsUpdated`; the progress of the library's analysis is kept here for the status line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.worker import get_current_worker

from moodtui.errors import AudioError
from moodtui.library.view import TrackRow
from moodtui.mood.model import MoodModel
from moodtui.mood.scheduler import AnalysisBatch
from moodtui.tui.bindings import keys_for_id
from moodtui.tui.controller import Controller
from moodtui.tui.messages import (
    AnalysisProgress,
    MoodsUpdated,
    Notice,
    SlicesAnalysed,
    SongAnalysed,
)
from moodtui.tui.palette import format_time

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class AnalysisRunner(Controller):
    """Runs the analysis workers for the App (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="analysis-runner")
        self.progress: tuple[int, int] | None = None
        """(done, total) of the library's background analysis while it runs, else None."""
        self.eta_s: float | None = None
        self._token = 0
        """The playing track's analysis request: results of an earlier one are stale."""

    # -- the playing track ------------------------------------------------------------------------

    def playing_changed(self, row: TrackRow | None, model: MoodModel | None) -> None:
        """A new track plays (or none: ``row`` None): analyse it first (when there is a model)."""
        self._token += 1
        if row is not None and model is not None and row.track.error is None:
            self.analyse_playing(row, model, self._token)

    @work(thread=True, exclusive=True, group="playing", exit_on_error=False, description="analyse the playing track")
    def analyse_playing(self, row: TrackRow, model: MoodModel, token: int) -> None:
        worker = get_current_worker()

        def show_slices(starts: np.ndarray, probs: np.ndarray) -> None:
            self.post_message(SlicesAnalysed(token, starts, probs))

        try:
            mood = self.player_app.caches.loaded_scheduler().analyse_playing(
                row.path, model, cancelled=lambda: worker.is_cancelled, on_slices=show_slices
            )
        except AudioError as error:
            if not worker.is_cancelled:
                self.post_message(SongAnalysed(token, None, error.cause))
            return
        self.post_message(SongAnalysed(token, mood))
        energy = mood.energy  # models with an energy output (wind down uses it)
        self.post_message(
            MoodsUpdated(
                model.version,
                {row.path: mood.song_probs},
                durations={row.path: mood.duration_s},
                energies={row.path: energy} if energy is not None else {},
            )
        )

    def on_slices_analysed(self, message: SlicesAnalysed) -> None:
        if message.token != self._token:
            message.stop()  # of a track that no longer plays

    def on_song_analysed(self, message: SongAnalysed) -> None:
        if message.token != self._token:
            message.stop()

    # -- the library ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="cached-moods", exit_on_error=False, description="read the cached moods")
    def load_cached_moods(self, model: MoodModel) -> None:
        """Every cached song mood under ``model``, in one query (the whole library at once)."""
        cache = self.player_app.caches.loaded_analysis()
        moods = cache.song_moods(model.version, model.temperature)
        self.post_message(
            MoodsUpdated(
                model.version,
                {p: probs for p, (probs, _) in moods.items()},
                durations={p: d for p, (_, d) in moods.items()},
                complete=True,
                energies=cache.song_energies(model),
            )
        )

    def start_library(self) -> None:
        """Analyse every track without a mood, visible ones first (once the scan is complete)."""
        app = self.player_app
        if app.scan_done and app.model is not None and app.caches.analysis is not None:
            self.analyse_library(app.model, app.view.paths_to_analyse())

    def stop_library(self) -> None:
        """A new model: what the library's analysis computes now is of the old one."""
        self.workers.cancel_group(self, "library")

    @work(thread=True, exclusive=True, group="library", exit_on_error=False, description="analyse the library")
    def analyse_library(self, model: MoodModel, paths: list[str]) -> None:
        app = self.player_app
        worker = get_current_worker()

        def report(batch: AnalysisBatch) -> None:
            if batch.cache_problem:
                self.post_message(
                    Notice(
                        f"{batch.cache_problem}: moods are shown but not kept for the next "
                        "start (stored again once the cache can be written)",
                        "warning",
                    )
                )
            if batch.moods or batch.errors:
                self.post_message(
                    MoodsUpdated(model.version, batch.moods, batch.errors, batch.durations, energies=batch.energies)
                )
            self.post_message(AnalysisProgress(batch.done, batch.total, batch.finished, batch.eta_s, batch.paused))

        # One process fewer while music plays: the player and the playing track's analysis keep a core.
        app.caches.loaded_scheduler().analyse_library(
            model,
            paths,
            cancelled=lambda: worker.is_cancelled,
            report=report,
            playing=lambda: app.playing is not None and not app.player.is_paused,
            workers=app.settings.analysis_workers,
        )

    def on_analysis_progress(self, message: AnalysisProgress) -> None:
        self.progress = None if message.finished else (message.done, message.total)
        self.eta_s = message.eta_s
        self.player_app.update_status()

    def status_words(self) -> list[str]:
        """The library's analysis for the status line: done of total and the time left, or paused."""
        if self.progress is None:
            return []
        done, total = self.progress
        if self.paused:
            return [f"analysis paused {done:,}/{total:,} ({keys_for_id(self.player_app, 'toggle_analysis')})"]
        eta = f" · ETA {format_time(self.eta_s)}" if self.eta_s is not None else ""
        return [f"analysing {done:,}/{total:,}{eta}"]

    @property
    def paused(self) -> bool:
        scheduler = self.player_app.caches.scheduler
        return scheduler is not None and scheduler.paused

    def toggle_paused(self) -> None:
        """Pause or resume the background analysis (files in progress finish); nothing without a
        model (there is no analysis)."""
        app = self.player_app
        scheduler = app.caches.scheduler
        if scheduler is None:
            return
        scheduler.set_paused(not scheduler.paused)
        app.update_status()
        key = keys_for_id(app, "toggle_analysis")
        app.show_notice(
            f"background analysis paused ({key} resumes)" if scheduler.paused else "background analysis resumed"
        )
