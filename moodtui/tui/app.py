"""The moodtui player: a Textual app over the core modules.

The UI thread only ever touches in-memory state. Everything that can take time runs in a thread
worker and reports back with a message (``moodtui.tui.messages``):

- ``load_model``: load the current model and warm numpy / scipy / onnxruntime, so the first slice
  of the first song shows quickly;
- ``scan_library``: walk the music folder (the index cache makes a second start instant), posting
  batches so the table fills while a big library is scanned;
- ``open_track`` and ``analyse_playing``: open the chosen track in the player and analyse it
  block by block (first block one slice long) so its mood appears while it starts playing;
- ``analyse_library``: analyse the rest of the library with the same model, yielding to the
  playing track (``moodtui.mood.scheduler`` schedules both), posting results in batches;
- ``retrain``: the training job (a subprocess) and its progress; ``switch_model`` rescores the
  cached moods under a new model (after a retrain or a rollback).

Thread workers poll ``get_current_worker().is_cancelled`` so quitting is prompt. What plays next
is ``moodtui.player.order.PlayOrder``; labels are written by ``moodtui.listener.label_writer.LabelWriter``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from moodtui.audio.replaygain import choose_gain, read_replaygain
from moodtui.config import Settings, load_settings
from moodtui.errors import AudioError, ModelError, MoodtuiError, display_path
from moodtui.library.playlist import export_to_playlists
from moodtui.library.scan import LibraryIndex, resolve_library_dir, scan
from moodtui.library.view import MOOD_FILTERS, LibraryView, TrackRow
from moodtui.listener.label_next import MoodChange
from moodtui.listener.label_writer import LabelOutcome, LabelWriter
from moodtui.listener.labels import LabelStore
from moodtui.listener.retrain import RetrainJob, RetrainResult, stage_fraction, stage_words
from moodtui.mood.analysis import AnalysisCache, warm_up
from moodtui.mood.model import MoodModel
from moodtui.mood.scheduler import AnalysisBatch, AnalysisScheduler
from moodtui.player.order import PlayOrder, Repeat
from moodtui.player.playback import Player
from moodtui.player.radio import station_for
from moodtui.player.session import Session, load_session, restore_session, save_session, session_of
from moodtui.sqlite_cache import Cache
from moodtui.text import plural, short_path
from moodtui.tui.bindings import PLAYER_BINDINGS, binding_ids, binding_list
from moodtui.tui.commands import MoodCommandPalette, PlayerCommands
from moodtui.tui.library_sync import LibrarySync
from moodtui.tui.messages import (
    AnalysisProgress,
    LabelsLoaded,
    LabelWritten,
    ModelReady,
    ModelSwitched,
    MoodsUpdated,
    Notice,
    RetrainFinished,
    RetrainProgress,
    ScanBatch,
    ScanFailed,
    Severity,
    SlicesAnalysed,
    SongAnalysed,
    TrackFailed,
    TrackStarted,
)
from moodtui.tui.mpris_bridge import MprisBridge
from moodtui.tui.palette import format_time
from moodtui.tui.widgets.filter_input import FilterInput
from moodtui.tui.widgets.now_playing import NowPlaying
from moodtui.tui.widgets.track_list import TrackHeader, TrackList

POLL_INTERVAL_S = 0.25
"""How often the playback position is read (the slice display and the playhead follow it)."""
SCAN_POST_INTERVAL_S = 0.1
SCAN_BATCH_SIZE = 50
"""Files per scan batch: also how often the scan worker checks for cancellation."""
WORKER_THREADS = 12
"""Thread workers can run at once (the default executor has only 6 threads on 2 cores)."""


class MoodApp(App[int]):
    """The player. ``MoodApp(folder)`` plays the audio files below ``folder``."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "moodtui"
    COMMANDS = App.COMMANDS | {PlayerCommands}

    BINDINGS = PLAYER_BINDINGS

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        notice: str | None = None,
        settings: Settings | None = None,
        radio: str | None = None,
        play_file: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        self.directory = Path(os.path.abspath(os.fspath(directory)))
        self.start_notice = notice
        self.settings = settings if settings is not None else Settings()
        self.view = LibraryView()
        self.player = Player()
        self.gain_text: str | None = None
        """The ReplayGain applied to the playing track, for the status line ("RG track -6.2 dB")."""
        self.cache_db = Cache()  # opens nothing yet: each worker thread connects on first use
        self.analysis_cache: AnalysisCache | None = None  # made by _open_caches (sqlite I/O)
        self.scheduler: AnalysisScheduler | None = None  # made with the analysis cache
        self._library_index: LibraryIndex | None = None
        self._cache_lock = threading.Lock()
        self.store: LabelStore | None = None  # opened by load_labels (file I/O)
        self.labels_off: str | None = None
        """Why the labels database could not be opened (labels are off for the session), or None."""
        self.label_writer: LabelWriter | None = None  # started once the store is open
        self.unsaved_labels: list[str] = []
        """Labels the writer still could not save when the app quit (printed after it ends)."""
        self.order = PlayOrder()
        self._pending_station: str | None = radio
        self._resume_track: Session | None = None  # the saved session, until its track is scanned
        self._play_file = os.path.abspath(os.fspath(play_file)) if play_file is not None else None
        """``moodtui song.ogg``: the file to select and play once the scan finds it (over resume)."""
        self.session_error: str | None = None  # why the session could not be saved at quit
        """A station to start once the library and its moods are in (``moodtui --radio MOOD``)."""
        self.model: MoodModel | None = None  # None while loading / when none loads
        self.model_state: Literal["loading", "ready", "missing"] = "loading"
        self.playing: TrackRow | None = None
        self.notices: list[str] = []
        """Every notice shown this session, oldest first (the errors screen lists them)."""
        self.scan_done = False
        self.analysis_progress: tuple[int, int] | None = None
        self.analysis_eta_s: float | None = None
        self.retraining = False
        self.retrain_stage = ""
        self.retrain_job: RetrainJob | None = None  # the running job, for cancel on quit
        self.last_retrain: RetrainResult | None = None  # the last retrain of this session
        self.last_changes: list[MoodChange] = []  # of the last model switch
        self.retrain_args: tuple[str, ...] = ()  # extra `moodtui train` arguments (developers, tests)
        self._labels_loaded = False
        self._looked_for_moved_labels = False
        self.moods_version: str | None = None
        """The model version of the last complete set of moods shown (all rows up to date)."""
        self._play_token = 0
        self._analysis_token = 0
        self._opened_token = -1  # the play request whose track the player holds
        self._failures_in_a_row = 0
        self._shown_second = -1

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: handlers use them directly (no DOM query, harmless during shutdown).
        self.library_bar = Static(id="library-bar")
        self.track_header = TrackHeader(id="track-header")
        self.track_list = TrackList(id="tracks")
        self.now_playing = NowPlaying(id="now-playing")
        self.filter_input = FilterInput(
            placeholder="filter: words in title, artist, album or file name (Esc clears)", id="filter"
        )
        self.status_line = Static(id="status")
        self.retrain_bar = ProgressBar(id="retrain-progress", show_eta=False)
        self.library_sync = LibrarySync(self)
        yield self.library_bar
        yield self.track_header
        yield self.track_list
        yield self.now_playing
        yield self.filter_input
        with Horizontal(id="status-bar"):
            yield self.status_line
            yield self.retrain_bar
        yield Footer()
        yield self.library_sync

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="moodtui")
        )
        self._apply_settings()
        if self.settings.resume != "off":
            self._restore_session()
        self.track_list.focus()
        self.filter_input.display = False
        self.retrain_bar.display = False
        if self.start_notice:
            self.show_notice(self.start_notice)
        self._update_library_bar()
        self._update_status()
        self.set_interval(POLL_INTERVAL_S, self._poll_player)
        self.mpris = MprisBridge(self)
        self.run_worker(self.mpris.start(), group="mpris", exit_on_error=False, description="own the MPRIS name")
        self.load_model()
        self.load_labels()
        self.scan_library()

    def _apply_settings(self) -> None:
        """Keys in force and the theme from the settings; each problem in one notice line."""
        settings = self.settings
        self.set_keymap(settings.keymap(binding_ids()))
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        else:
            settings.problem(
                "theme", f"no theme {settings.theme!r} (there are {', '.join(sorted(self.available_themes))})"
            )
        for problem in settings.problems:
            self.show_notice(problem, severity="warning")

    # -- the session (resume) ---------------------------------------------------------------------

    def _restore_session(self) -> None:
        """Filters, sort, volume, queue and station at once; the track when the scan finds it."""
        session, notice = load_session()
        if notice:
            self.show_notice(notice, severity="warning")
        if session is None:
            return
        restore_session(session, self.view, self.order)
        self.player.volume = session.volume
        if session.text_filter:
            self.filter_input.value = session.text_filter
            self.filter_input.display = True
        self._resume_track = session if session.track and self._play_file is None else None
        self._update_library_bar()
        self._update_status()

    def _resume_track_if_scanned(self) -> None:
        session = self._resume_track
        if session is None or session.track is None:
            return
        row = self.view.by_path.get(session.track)
        if row is None:
            if self.scan_done:
                self._resume_track = None  # gone since: nothing to resume
            return
        self._resume_track = None
        self.play_row(row, start_s=session.position_s, paused=self.settings.resume == "paused")
        self.track_list.move_to(row)

    def _play_file_if_scanned(self) -> None:
        if self._play_file is None:
            return
        row = self.view.by_path.get(self._play_file)
        if row is None:
            if self.scan_done:
                self.show_notice(
                    f"{display_path(self._play_file)} is not in the list (hidden, or not audio)", severity="warning"
                )
                self._play_file = None
            return
        self._play_file = None
        if row not in self.view.visible:  # a restored filter hides it: the listener asked for it
            self.view.text_filter, self.view.mood_filter = "", "all"
            self.filter_input.value = ""
            self.filter_input.display = False
            self._refresh_list()
        self.play_row(row)
        self.track_list.move_to(row)

    def current_session(self) -> Session:
        track = self.playing.path if self.playing is not None else None
        return session_of(self.view, self.order, track, self.player.position_s, self.player.volume)

    def keys_for_id(self, binding_id: str) -> str:
        binding = next((b for b in binding_list() if b.id == binding_id), None)
        return self.keys_for(binding) if binding is not None else ""

    def keys_for(self, binding: Binding) -> str:
        """The key(s) in force for ``binding`` (after the keymap), as the footer writes them."""
        keys = self._keymap.get(binding.id) if binding.id else None
        if keys is None and binding.key_display:
            return binding.key_display
        return " / ".join(self.get_key_display(Binding(key, "")) for key in (keys or binding.key).split(","))

    def show_notice(self, text: str, *, severity: Severity = "information") -> None:
        """Show a one-line notice (a toast) and keep it in the session's notice list."""
        self.notices.append(text)
        self.notify(text, severity=severity, markup=False, timeout=5 if severity == "information" else 8)

    # Workers whose arguments are big (10,000 paths, rows holding arrays) get a description: without
    # one, Textual builds it from repr() of every argument, on the UI thread.

    # -- start-up workers -------------------------------------------------------------------------

    def _open_caches(self) -> LibraryIndex:
        """The library index and the analysis cache, opened once by whichever worker comes first.

        One thread at a time: two connections creating a new database at the same moment can make
        the switch to WAL mode fail with "database is locked".
        """
        with self._cache_lock:
            if self._library_index is None:
                self._library_index = LibraryIndex(self.cache_db)
                self.analysis_cache = AnalysisCache(self.cache_db)
                self.scheduler = AnalysisScheduler(self.analysis_cache)
                if recovered := self.cache_db.take_recovery_notice():
                    self.post_message(Notice(recovered, "warning"))
            return self._library_index

    def loaded_analysis_cache(self) -> AnalysisCache:
        """The analysis cache, for the workers that start only once a model (and so it) is loaded."""
        assert self.analysis_cache is not None, "the analysis cache opens before the model is ready"
        return self.analysis_cache

    def loaded_scheduler(self) -> AnalysisScheduler:
        """The analysis scheduler (made with the analysis cache, before a model is ready)."""
        assert self.scheduler is not None, "the scheduler is made before the model is ready"
        return self.scheduler

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def load_model(self) -> None:
        from moodtui.mood.versions import load_current_model

        try:
            model, notice = load_current_model()
        except ModelError as error:
            self.post_message(ModelReady(None, f"{error}: no mood model, playing without mood analysis"))
            return
        warm_up(model)
        try:
            self._open_caches()
        except MoodtuiError as error:
            self.post_message(ModelReady(None, f"{error}: playing without mood analysis"))
            return
        self.post_message(ModelReady(model, notice))

    @work(thread=True, exclusive=True, group="labels", exit_on_error=False)
    def load_labels(self) -> None:
        from moodtui.listener.labels import default_store

        try:
            store = default_store()
            labels = {record.path: record.label for record in store.current_labels()}
        except MoodtuiError as error:
            self.labels_off = str(error)
            self.post_message(LabelsLoaded({}, f"{error}: labels are off for this session"))
            return
        self.store = store
        self.post_message(LabelsLoaded(labels, store.recovery_message))

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def scan_library(self) -> None:
        worker = get_current_worker()
        pending: list = []
        last_post = time.monotonic()
        try:
            index = self._open_caches()
        except MoodtuiError as error:
            self.post_message(Notice(f"{error}: scanning every file's tags", "warning"))
            index = None
        try:
            for batch in scan(self.directory, index, batch_size=SCAN_BATCH_SIZE):
                if worker.is_cancelled:
                    return
                pending += batch
                if time.monotonic() - last_post >= SCAN_POST_INTERVAL_S:
                    self.post_message(ScanBatch(pending, done=False))
                    pending, last_post = [], time.monotonic()
        except MoodtuiError as error:
            self.post_message(ScanFailed(str(error)))
            return
        self.post_message(ScanBatch(pending, done=True))

    def on_model_ready(self, message: ModelReady) -> None:
        self.model = message.model
        self.model_state = "ready" if message.model is not None else "missing"
        self.track_list.model_loaded = message.model is not None
        if message.notice:
            self.show_notice(message.notice, severity="warning")
        if message.model is None:
            self.now_playing.model_notice = "no mood model: playing without mood analysis"
            self.now_playing.refresh()
            self._start_pending_station()  # a station of the listener's labels only
        else:
            self.load_cached_moods(message.model)
            if self.playing is not None:
                self._analyse_playing(self.playing)
        self.track_list.refresh()
        self._update_status()

    def on_labels_loaded(self, message: LabelsLoaded) -> None:
        if self.store is not None and self.label_writer is None:

            def report(outcome: LabelOutcome) -> None:
                self.post_message(LabelWritten(outcome))

            self.label_writer = LabelWriter(self.store, report)
            self.label_writer.start()
        self.view.set_labels(message.labels)
        if message.notice:
            self.show_notice(message.notice, severity="information" if message.relinked else "warning")
        self._labels_loaded = True
        self._moods_changed()
        self._look_for_moved_labels()
        self._start_pending_station()

    def _look_for_moved_labels(self) -> None:
        """Once the scan is done and the labels are open: find labelled songs that were moved
        or renamed since, so the table shows their label at once (not only when played)."""
        if self._looked_for_moved_labels or not self.scan_done or self.label_writer is None:
            return
        self._looked_for_moved_labels = True
        self.label_writer.find_moved([(row.path, row.track.size) for row in self.view.rows])

    def on_scan_batch(self, message: ScanBatch) -> None:
        self.view.add_scanned(message.tracks)
        if message.done:
            self.scan_done = True
            _freeze_long_lived_objects()
            if not self.view.rows:
                self.show_notice(f"no audio files in {display_path(self.directory)}", severity="warning")
        self._refresh_list()
        self._resume_track_if_scanned()
        self._play_file_if_scanned()
        self._start_library_analysis()
        if message.done:
            self._look_for_moved_labels()
            self._start_pending_station()
            self.library_sync.start()

    def on_scan_failed(self, message: ScanFailed) -> None:
        self.scan_done = True
        self.show_notice(message.reason, severity="error")
        self._update_library_bar()

    # -- the list ---------------------------------------------------------------------------------

    def _refresh_list(self) -> None:
        """Re-apply the filters and the sort, keeping the cursor on the same track."""
        self.track_list.show_rows(self.view.apply())
        self._update_library_bar()

    def _moods_changed(self) -> None:
        if self.view.depends_on_moods:
            self._refresh_list()
        else:
            self.track_list.refresh()
            self._update_library_bar()

    def _update_library_bar(self) -> None:
        view = self.view
        self.library_bar.update(view.summary(self.scan_done, short_path(self.directory)), layout=False)
        self.track_header.set_sort(view.sort_column, view.sort_reverse)

    def on_track_list_play_requested(self, message: TrackList.PlayRequested) -> None:
        self.play_row(message.row)

    def on_track_list_highlighted(self, message: TrackList.Highlighted) -> None:
        self._update_status()

    def on_track_header_sort_requested(self, message: TrackHeader.SortRequested) -> None:
        self.view.sort_by(message.column)
        self._refresh_list()

    def action_cycle_sort(self) -> None:
        self.view.cycle_sort()
        self._refresh_list()

    def action_reverse_sort(self) -> None:
        self.view.sort_reverse = not self.view.sort_reverse
        self._refresh_list()

    def action_mood_filter(self, mood: str) -> None:
        if mood not in MOOD_FILTERS:
            return
        self.view.mood_filter = mood
        self._refresh_list()

    def action_open_filter(self) -> None:
        field = self.filter_input
        field.display = True
        # Focus now, not after a refresh (Widget.focus defers it): keys typed right after "/" are
        # filter text, never commands ("q" must not quit).
        self.screen.set_focus(field)

    @on(FilterInput.Changed, "#filter")
    def _filter_changed(self, event: FilterInput.Changed) -> None:
        self.view.text_filter = event.value.strip()
        self._refresh_list()

    @on(FilterInput.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        field = self.filter_input
        if not field.value:
            field.display = False
        self.track_list.focus()

    def on_key(self, event: events.Key) -> None:
        # Keys typed right after "/" (a fast typist, or a paste) were sent to the table before the
        # filter took the focus; they reach the app unhandled and belong in the filter.
        if self.focused is self.filter_input and event.is_printable and event.character:
            event.stop()
            self.filter_input.insert_text_at_cursor(event.character)

    def on_filter_input_closed(self) -> None:
        self.track_list.focus()

    def action_clear_filter(self) -> None:
        view = self.view
        if view.text_filter:
            view.text_filter = ""
            self.filter_input.value = ""
            self.filter_input.display = False
        elif view.mood_filter != "all":
            view.mood_filter = "all"
        else:
            return
        self._refresh_list()

    def action_rescan(self) -> None:
        self.library_sync.rescan()

    def action_goto_playing(self) -> None:
        if self.playing is not None and not self.track_list.move_to(self.playing):
            self.show_notice("the playing track is hidden by the filter")

    # -- playback ---------------------------------------------------------------------------------

    def play_row(self, row: TrackRow, *, start_s: float = 0.0, paused: bool = False) -> None:
        """The listener chose ``row``: play it (the play order goes on from it)."""
        self.order.play(row.path)
        self._play(row, start_s=start_s, paused=paused)

    def _play(self, row: TrackRow, *, start_s: float = 0.0, paused: bool = False) -> None:
        """Start playing ``row`` from ``start_s`` (opening happens in a worker) and analyse it first."""
        self._play_token += 1
        self.playing = row
        self.track_list.set_playing(row.path)
        self.now_playing.start(row, row.duration_s)
        self._shown_second = -1
        self.open_track(row, self._play_token, start_s, paused)
        if self.model is not None:
            self._analyse_playing(row)
        self._update_status()

    @work(thread=True, exclusive=True, group="open", exit_on_error=False, description="open the track in the player")
    def open_track(self, row: TrackRow, token: int, start_s: float = 0.0, paused: bool = False) -> None:
        try:
            opened = self.player.open(row.track.path)
        except AudioError as error:
            self.post_message(TrackFailed(token, error.cause))
            return
        except MoodtuiError as error:
            self.post_message(TrackFailed(token, str(error)))
            return
        if not opened or get_current_worker().is_cancelled:
            return  # a newer play request took over
        gain = choose_gain(read_replaygain(row.track.path), self.settings.replaygain)
        self.player.set_gain(gain.factor)  # before play(): no loud first moment
        self.gain_text = gain.text
        self.player.play()
        if start_s > 0:
            self.player.seek(start_s)
        if paused:
            self.player.pause()
        self.post_message(TrackStarted(token, self.player.duration_s, self.player.take_notice()))

    def on_track_started(self, message: TrackStarted) -> None:
        if message.token != self._play_token:
            return
        self._opened_token = message.token
        self._failures_in_a_row = 0
        if message.duration_s and self.playing is not None:
            self.now_playing.set_position(self.player.position_s, message.duration_s, self.player.is_paused)
        if message.notice:
            self.show_notice(message.notice, severity="warning")
        self._update_status()

    def on_track_failed(self, message: TrackFailed) -> None:
        if message.token != self._play_token or self.playing is None:
            return
        row = self.playing
        self.show_notice(f"cannot play {row.track.title}: {message.reason}", severity="warning")
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= max(len(self.view.visible), 1):
            self._stop_playing("none of the tracks in the list can be played")
            return
        self._advance(+1)

    def _stop_playing(self, notice: str | None = None) -> None:
        self._play_token += 1
        self._analysis_token += 1
        self.playing = None
        self.player.stop()
        self.track_list.set_playing(None)
        self.now_playing.stop()
        if notice:
            self.show_notice(notice)
        self._update_status()

    def _poll_player(self) -> None:
        """About 4 times a second: follow the playback position; start the next track at the end."""
        self.mpris.refresh()
        if self.playing is None or self.opening:
            return
        if self.player.at_end:
            self._advance(+1, at_end=True)
            return
        position = self.player.position_s
        self.now_playing.set_position(position, self.player.duration_s, self.player.is_paused)
        if int(position) != self._shown_second:
            self._shown_second = int(position)
            self._update_status()

    def _advance(self, step: int, *, at_end: bool = False) -> None:
        """Play what the play order says comes next (``step`` +1) or came before (-1)."""
        order = self.order
        if step < 0:
            path = order.previous()
            if path is None:
                self.show_notice("nothing played before this track")
                return
        else:
            order.set_list([row.path for row in self.view.visible])
            path = order.next(at_end=at_end, fallback_index=self.track_list.cursor)
            if path is None:
                self._stop_playing("end of the station" if order.station is not None else "end of the list")
                return
        row = self.view.by_path.get(path)
        if row is None:  # gone from the library since it was queued or played
            self._advance(step, at_end=at_end)
            return
        self._play(row)
        if at_end and self.settings.cursor_follows_playing:
            self.track_list.move_to(row)

    @property
    def opening(self) -> bool:
        """True between a play request and the player having the track (transport keys wait)."""
        return self._opened_token != self._play_token

    def action_toggle_pause(self) -> None:
        if self.playing is None:
            row = self.track_list.highlighted
            if row is not None:
                self.play_row(row)
            return
        if self.opening:
            return
        self.player.toggle()
        self.now_playing.set_position(self.player.position_s, self.player.duration_s, self.player.is_paused)
        self._update_status()

    def action_seek(self, direction: int) -> None:
        if self.playing is None or self.opening:
            return
        self.player.seek_relative(direction * self.settings.seek_step)
        self.now_playing.set_position(self.player.position_s, self.player.duration_s, self.player.is_paused)
        self._update_status()

    def action_volume(self, direction: int) -> None:
        if direction > 0:
            self.player.volume_up(self.settings.volume_fraction)
        else:
            self.player.volume_down(self.settings.volume_fraction)
        self._update_status()

    def action_next_track(self) -> None:
        self._advance(+1)

    def action_previous_track(self) -> None:
        self._advance(-1)

    # -- queue, shuffle, repeat, radio ------------------------------------------------------------

    def action_queue_add(self) -> None:
        row = self.track_list.highlighted
        if row is None:
            return
        place = self.order.enqueue(row.path)
        self.show_notice(f"“{row.track.title}” queued: " + ("plays next" if place == 1 else f"{place} in the queue"))
        self._update_status()

    def action_queue_show(self) -> None:
        from moodtui.tui.screens.queue import QueueScreen

        self.push_screen(QueueScreen(), lambda _: self._update_status())

    def action_shuffle(self) -> None:
        self.order.set_shuffle(not self.order.shuffle)
        self.show_notice(
            "shuffle on: every track of the list once, in random order"
            if self.order.shuffle
            else "shuffle off: the list in order"
        )
        self._update_status()

    def action_repeat(self) -> None:
        self.order.repeat = self.order.repeat.next()
        self.show_notice(f"repeat {self.order.repeat.value}")
        self._update_status()

    def action_radio(self) -> None:
        from moodtui.tui.screens.radio import RadioScreen

        self.push_screen(RadioScreen(), self.start_station)

    def start_station(self, choice: str | None) -> None:
        """Tune in station ``choice`` (a mood or a mood path id; "off" stops it) and play its first song."""
        if choice is None:
            return
        if choice == "off":
            self.order.station = self._pending_station = None
            self.show_notice("station off: the list plays on")
            self._update_status()
            return
        station = station_for(choice, self.view.song_facts)
        first = station.next()
        if first is None:
            if not self._library_known():
                self._pending_station = choice  # started when the library and its moods are in
                return
            self.show_notice(
                f"{station.name}: no songs of that mood yet (label some, or let the analysis finish)",
                severity="warning",
            )
            return
        self._pending_station = None
        self.order.station = station
        self.show_notice(f"{station.name}: on")
        self.play_row(self.view.by_path[first])

    # -- analysis of the playing track ------------------------------------------------------------

    def _analyse_playing(self, row: TrackRow) -> None:
        self._analysis_token += 1
        self.now_playing.reset_analysis()
        if row.track.error is not None:
            self.now_playing.set_song(None, row.track.error)
            return
        self.analyse_playing(row, self.model, self._analysis_token)

    @work(thread=True, exclusive=True, group="playing", exit_on_error=False, description="analyse the playing track")
    def analyse_playing(self, row: TrackRow, model, token: int) -> None:
        worker = get_current_worker()

        def show_slices(starts: np.ndarray, probs: np.ndarray) -> None:
            self.post_message(SlicesAnalysed(token, starts, probs))

        try:
            mood = self.loaded_scheduler().analyse_playing(
                row.path, model, cancelled=lambda: worker.is_cancelled, on_slices=show_slices
            )
        except AudioError as error:
            if not worker.is_cancelled:
                self.post_message(SongAnalysed(token, None, error.cause))
            return
        self.post_message(SongAnalysed(token, mood))
        energy = getattr(mood, "energy", None)  # models with an energy output (wind down uses it)
        self.post_message(
            MoodsUpdated(
                model.version,
                {row.path: mood.song_probs},
                durations={row.path: mood.duration_s},
                energies={row.path: energy} if energy is not None else {},
            )
        )

    def on_slices_analysed(self, message: SlicesAnalysed) -> None:
        if message.token == self._analysis_token:
            self.now_playing.add_slices(message.starts_s, message.probs)

    def on_song_analysed(self, message: SongAnalysed) -> None:
        if message.token != self._analysis_token or self.playing is None:
            return
        self.now_playing.set_song(message.mood, message.error)
        if message.error is not None:
            self.playing.analysis_error = message.error
            self._moods_changed()

    # -- analysis of the library ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="cached-moods", exit_on_error=False, description="read the cached moods")
    def load_cached_moods(self, model) -> None:
        """Every cached song mood under ``model``, in one query (the whole library at once)."""
        cache = self.loaded_analysis_cache()
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

    def on_moods_updated(self, message: MoodsUpdated) -> None:
        if self.model is None or message.model_version != self.model.version:
            return  # computed under a model that has since been replaced
        if message.complete:
            self.moods_version = message.model_version
        self.view.apply_results(
            message.moods,
            durations=message.durations,
            errors=message.errors,
            energies=message.energies,
            complete=message.complete,
        )
        if message.complete:
            _freeze_long_lived_objects()
            self._start_library_analysis()
        self._moods_changed()
        if message.complete:
            self._start_pending_station()

    def _library_known(self) -> bool:
        """Scan, labels and cached moods are in (without a model: scan and labels)."""
        moods_in = self.moods_version is not None or self.model_state == "missing"
        return self.scan_done and self._labels_loaded and moods_in

    def _start_pending_station(self) -> None:
        """A station asked for before the library and its moods were in (``--radio``)."""
        if self._pending_station is not None and self._library_known():
            self.start_station(self._pending_station)

    def _start_library_analysis(self) -> None:
        """Analyse every track without a mood, visible ones first (once the scan is complete)."""
        if not self.scan_done or self.model is None or self.analysis_cache is None:
            return
        paths = self.view.paths_to_analyse()
        self.analyse_library(self.model, paths)

    @work(thread=True, exclusive=True, group="library", exit_on_error=False, description="analyse the library")
    def analyse_library(self, model, paths: list[str]) -> None:
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
        self.loaded_scheduler().analyse_library(
            model,
            paths,
            cancelled=lambda: worker.is_cancelled,
            report=report,
            playing=lambda: self.playing is not None and not self.player.is_paused,
            workers=self.settings.analysis_workers,
        )

    def on_analysis_progress(self, message: AnalysisProgress) -> None:
        self.analysis_progress = None if message.finished else (message.done, message.total)
        self.analysis_eta_s = message.eta_s
        self._update_status()

    def action_toggle_analysis(self) -> None:
        """Pause or resume the background analysis (files in progress finish)."""
        if self.scheduler is None:
            return
        self.scheduler.set_paused(not self.scheduler.paused)
        key = self.keys_for_id("toggle_analysis")
        self.show_notice(
            f"background analysis paused ({key} resumes)" if self.scheduler.paused else "background analysis resumed"
        )
        self._update_status()

    # -- labels -----------------------------------------------------------------------------------

    def action_label(self, label: str) -> None:
        if self.playing is None:
            keys = " / ".join(self.keys_for_id(f"label_{mood}") for mood in ("positive", "neutral", "negative"))
            self.show_notice(f"play a song first: {keys} label the playing song")
            return
        self.label_row(self.playing, label)

    def label_row(self, row: TrackRow, label: str) -> None:
        """The listener's ``label`` for ``row``: shown at once, written by the label writer."""
        if self.label_writer is None:
            self._labels_unavailable()
            return
        probs = None
        version = self.model.version if self.model is not None else None
        song = self.now_playing.song if row is self.playing else None
        if song is not None and song.model_version == version:
            probs = song.song_probs
        elif row.predicted is not None:
            probs = row.predicted
        # Shown at once; the writer confirms it (or the row goes back to the stored label).
        row.user_label = label
        self._moods_changed()
        self.label_writer.label(
            row.path,
            label,
            title=row.track.title,
            model_version=version,
            probs=None if probs is None else [float(p) for p in probs],
        )

    def _labels_unavailable(self) -> None:
        if self.labels_off is not None:
            self.show_notice(f"labels are off for this session: {self.labels_off}", severity="error")
        else:
            self.show_notice("the labels database is not open yet")

    def action_undo_label(self) -> None:
        if self.label_writer is None:
            self._labels_unavailable()
            return
        self.label_writer.undo(self._title_of)

    def _title_of(self, path: str) -> str | None:
        row = self.view.by_path.get(path)
        return row.track.title if row is not None else None

    def on_label_written(self, message: LabelWritten) -> None:
        outcome: LabelOutcome = message.outcome
        if outcome.relabelled is not None:
            self.on_labels_loaded(LabelsLoaded(outcome.relabelled, outcome.message, relinked=True))
            return
        if outcome.path is not None:
            if outcome.changed:
                self.view.label_stored(outcome.path, outcome.label)
            else:
                self.view.label_kept(outcome.path)
            if self.playing is not None and self.playing.path == outcome.path:
                self.now_playing.label_changed()
            self._moods_changed()
        self.show_notice(outcome.message, severity=outcome.severity)

    def on_notice(self, message: Notice) -> None:
        self.show_notice(message.text, severity=message.severity)

    # -- retraining and model versions ------------------------------------------------------------

    def action_retrain(self) -> None:
        if self.retraining:
            self.show_notice("a retrain is already running: wait for it to finish", severity="warning")
            return
        self.retraining = True
        self.retrain_stage = "retrain: starting"
        self._update_status()
        self.retrain()

    @work(thread=True, exclusive=True, group="retrain", exit_on_error=False)
    def retrain(self) -> None:
        from moodtui.mood.versions import load_current_model

        worker = get_current_worker()
        job = RetrainJob(extra_args=self.retrain_args)
        try:
            job.start()
        except MoodtuiError as error:
            self.post_message(RetrainFinished(RetrainResult(False, None, str(error), None), None))
            return
        self.retrain_job = job
        try:
            for event in job.events():
                if worker.is_cancelled:
                    job.cancel()
                    break
                self.post_message(RetrainProgress(event))
            result = job.wait()
        finally:
            self.retrain_job = None
        if worker.is_cancelled:
            return
        model = notice = None
        if result.ok and result.switched:
            try:
                model, notice = load_current_model()
            except ModelError as error:
                result = RetrainResult(False, result.version, f"the new model does not load: {error}", None)
        self.post_message(RetrainFinished(result, model, notice))

    def on_retrain_progress(self, message: RetrainProgress) -> None:
        event = message.event
        self.retrain_stage = stage_words(event, self.retrain_stage)
        fraction = stage_fraction(event)
        if fraction is not None:
            self.retrain_bar.display = True
            self.retrain_bar.update(total=fraction[1], progress=fraction[0])
        self._update_status()

    def on_retrain_finished(self, message: RetrainFinished) -> None:
        self.retraining = False
        self.retrain_stage = ""
        self.retrain_bar.display = False
        result = self.last_retrain = message.result
        if message.notice:
            self.show_notice(message.notice, severity="warning")
        if result.ok and message.model is not None:
            self.switch_model(message.model, result.switch_notice(), show_changes=True)
        elif result.ok:  # not as good as the current model on the listener's songs: kept as a version only
            self.show_notice(result.message, severity="warning")
        else:
            self.show_notice(result.message, severity="error")
        self._update_status()

    @work(
        thread=True,
        exclusive=True,
        group="switch",
        exit_on_error=False,
        description="rescore the cached moods under a new model",
    )
    def switch_model(self, model, message: str, show_changes: bool = False) -> None:
        """Rescore the cached moods under ``model`` (no decoding) and make it the app's model; say
        which songs change mood."""
        from moodtui.listener.label_next import changes_summary, mood_changes

        warm_up(model)
        cache = self.loaded_analysis_cache()
        before = cache.song_moods(self.model.version, self.model.temperature) if self.model is not None else {}
        rescored = cache.rescore(model)
        moods = cache.song_moods(model.version, model.temperature)
        changes = mood_changes(
            {p: probs for p, (probs, _) in before.items()},
            {p: probs for p, (probs, _) in moods.items()},
            self.playing.path if self.playing is not None else None,
        )
        self.post_message(
            ModelSwitched(
                model, rescored, f"{message}; {changes_summary(changes)}", changes, show_changes and bool(changes)
            )
        )
        self.post_message(
            MoodsUpdated(
                model.version,
                {p: probs for p, (probs, _) in moods.items()},
                durations={p: d for p, (_, d) in moods.items()},
                complete=True,
            )
        )

    def on_model_switched(self, message: ModelSwitched) -> None:
        self.workers.cancel_group(self, "library")
        self.model = message.model
        self.model_state = "ready"
        self.track_list.model_loaded = True
        self.now_playing.model_notice = None
        self.show_notice(message.message)
        self.last_changes = message.changes
        if self.playing is not None:
            self._analyse_playing(self.playing)
        self._update_status()
        if message.show_changes:
            self.action_mood_changes()

    def action_mood_changes(self) -> None:
        """The songs the last model switch changed the mood of (the playing song first)."""
        from moodtui.tui.screens.changes import ChangesScreen

        def chosen(path: str | None) -> None:
            row = self.view.by_path.get(path) if path else None
            if row is not None:
                self.play_row(row)
                self.track_list.move_to(row)

        self.push_screen(ChangesScreen(self.last_changes, self.model.version if self.model else "-"), chosen)

    def action_label_next(self) -> None:
        from moodtui.tui.screens.label_next import LabelNextScreen

        if self.model is None:
            self.show_notice("no mood model: nothing to rank")
            return

        screen = LabelNextScreen()

        def chosen(path: str | None) -> None:
            row = self.view.by_path.get(path) if path else None
            if row is not None:
                if self.playing is not row:
                    self.play_row(row, start_s=screen.starts.get(row.path, 0.0))
                self.track_list.move_to(row)

        self.push_screen(screen, chosen)

    def action_models(self) -> None:
        from moodtui.tui.screens.models import ModelsScreen

        def chosen(name: str | None) -> None:
            if name is not None:
                self.roll_back(name)

        self.push_screen(ModelsScreen(), chosen)

    @work(thread=True, exclusive=True, group="rollback", exit_on_error=False)
    def roll_back(self, name: str) -> None:
        from moodtui.mood.versions import load_current_model, roll_back

        try:
            roll_back(name)
            model, notice = load_current_model()
        except MoodtuiError as error:
            self.post_message(Notice(f"cannot switch to model {name}: {error}", "error"))
            return
        if notice:  # the chosen version does not load: the shipped base model stands in
            self.post_message(Notice(notice, "warning"))
            self.switch_model(model, f"model {name} does not load: using the base model ({model.version})")
            return
        self.switch_model(model, f"now using model {name} ({model.version})")

    def action_errors(self) -> None:
        from moodtui.tui.screens.errors import ErrorsScreen

        self.push_screen(ErrorsScreen(self.view.error_rows(), list(self.notices)))

    def action_help(self) -> None:
        from moodtui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_export_playlist(self) -> None:
        self.export_playlist([row for row in self.view.visible if row.error is None])

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="write a playlist")
    def export_playlist(self, rows: list[TrackRow]) -> None:
        entries = [(row.track.path, row.duration_s, row.track.title) for row in rows]
        try:
            output = export_to_playlists(entries, self.view.mood_filter)
        except MoodtuiError as error:
            self.post_message(Notice(str(error), "error"))
            return
        self.post_message(Notice(f"wrote {plural(len(rows), 'track')} to {display_path(output)}"))

    # -- status and workers -----------------------------------------------------------------------

    def _update_status(self) -> None:
        """The status line, most important first (a narrow terminal cuts the end)."""
        parts = []
        if self.playing is not None:
            state = "⏸" if self.player.is_paused else "▶"
            parts.append(f"{state} {format_time(self.player.position_s)} / {format_time(self.player.duration_s)}")
        parts.append(f"vol {100 * self.player.volume:.0f}%")
        if self.playing is not None and self.gain_text:
            parts.append(self.gain_text)
        order = self.order
        if order.station is not None:
            parts.append(f"📻 {order.station.name}")
        if order.queue:
            parts.append(f"queue {len(order.queue)}")
        if order.shuffle:
            parts.append("shuffle")
        if order.repeat is not Repeat.OFF:
            parts.append(f"repeat {order.repeat.value}")
        if self.retraining:
            parts.append(self.retrain_stage)
        highlighted = self.track_list.highlighted
        if highlighted is not None and highlighted.error is not None:
            parts.append(f"✗ {display_path(highlighted.track.path.name)}: {highlighted.error}")
        if self.analysis_progress is not None:
            done, total = self.analysis_progress
            if self.scheduler is not None and self.scheduler.paused:
                parts.append(f"analysis paused {done:,}/{total:,} ({self.keys_for_id('toggle_analysis')})")
            else:
                eta = f" · ETA {format_time(self.analysis_eta_s)}" if self.analysis_eta_s is not None else ""
                parts.append(f"analysing {done:,}/{total:,}{eta}")
        if self.player.backend_is_null:
            parts.append("silent: no sound device")
        if self.model is not None:
            parts.append(f"model {self.model.version}")
        elif self.model_state == "loading":
            parts.append("loading the model…")
        else:
            parts.append("no mood model")
        self.status_line.update(" · ".join(parts), layout=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            # An unexpected failure (a bug): report it in one line and keep playing.
            error = event.worker.error
            self.show_notice(f"{event.worker.name} failed: {type(error).__name__}: {error}", severity="error")
            if event.worker.group == "retrain":
                self.retraining = False
                self.retrain_bar.display = False
                self._update_status()

    def action_command_palette(self) -> None:
        """Ctrl+P: the command palette (moodtui's, which survives keys typed in a burst)."""
        if self.use_command_palette and not MoodCommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(MoodCommandPalette(id="--command-palette"))

    async def action_quit(self) -> None:
        """Stop the player and every worker, then exit (thread workers see the cancellation)."""
        try:
            save_session(self.current_session())
        except OSError as error:
            self.session_error = f"the session was not saved: {error.strerror or error}"
        job = self.retrain_job
        if job is not None:
            job.cancel()
        self.library_sync.stop()
        self.mpris.close()
        self.workers.cancel_all()
        if self.label_writer is not None:
            # The labels already typed are written first; run_app prints any it could not write.
            self.unsaved_labels = self.label_writer.stop()
        self.player.close()
        self.exit(0)


def _freeze_long_lived_objects() -> None:
    """Exempt the objects alive now (the library's rows, the model) from garbage collection.

    A full collection walks every tracked object: with 10,000 rows it took 50-70 ms on the UI
    thread, a visible stall while scrolling. These objects live as long as the app anyway.
    """
    gc.freeze()


def run_app(directory: str | None, *, radio: str | None = None) -> int:
    """``moodtui [DIR]``: open the player on DIR (default ~/Music, else the demo library);
    ``moodtui FILE`` opens FILE's folder playing FILE.

    Native libraries that write to file descriptor 2 (where Textual draws) are silenced at the C
    level instead (ALSA/JACK handlers in moodtui.player.playback, dr_mp3 rather than libsndfile's
    mpg123 for mp3, onnxruntime's log level): descriptor 2 is never redirected.
    """
    settings = load_settings()
    play_file = None
    if directory is not None and os.path.isfile(directory):
        # `moodtui song.ogg`: its folder, with the song selected and playing.
        play_file, directory = directory, os.path.dirname(os.path.abspath(directory))
    try:
        folder, notice = resolve_library_dir(directory or settings.library)
    except MoodtuiError as error:
        print(f"moodtui: {error}", file=sys.stderr)
        return 1
    app = MoodApp(folder, notice=notice, settings=settings, radio=radio, play_file=play_file)
    result = app.run()
    if app.session_error:
        print(f"moodtui: {app.session_error}", file=sys.stderr)
    for what in app.unsaved_labels:
        print(f"moodtui: {what}: NOT saved (the labels database could not be written)", file=sys.stderr)
    return result if isinstance(result, int) else (app.return_code or 0)
