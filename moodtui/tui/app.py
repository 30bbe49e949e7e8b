"""The moodtui player: a Textual app that wires the core to its widgets.

The UI thread only ever touches in-memory state. Everything that can take time runs in a thread
worker of one of the App's display-less parts (``moodtui.tui.controller``), whose workers report
back with messages (``moodtui.tui.messages``): ``Transport`` opens and follows the playing track,
``LibrarySync`` scans and follows the music folder, ``ModelKeeper`` loads, retrains and switches the
model, ``AnalysisRunner`` analyses the playing track first and the library behind it,
``LabelKeeper`` writes the listener's labels. Two plain helpers take the keys' work too:
``OrderKeeper`` (queue, shuffle, repeat, radio) and ``ScreenOpener`` (the screens). The App
composes the widgets, hands each key to its part and shows what the parts find. What plays next
is ``moodtui.player.order.PlayOrder``; what the table shows is ``moodtui.library.view.LibraryView``;
what starts first, ``moodtui.player.session.StartUp``.
"""

from __future__ import annotations

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from moodtui.config import Settings
from moodtui.errors import MoodtuiError, display_path
from moodtui.library.playlist import export_to_playlists
from moodtui.library.scan import LibraryIndex
from moodtui.library.view import MOOD_FILTERS, LibraryView, TrackRow
from moodtui.mood.model import MoodModel
from moodtui.player.caches import PlayerCaches
from moodtui.player.order import PlayOrder
from moodtui.player.playback import Player
from moodtui.player.session import Session, StartUp, load_session, restore_session, save_session, session_of
from moodtui.text import plural, short_path
from moodtui.tui.analysis_runner import AnalysisRunner
from moodtui.tui.bindings import PLAYER_BINDINGS, binding_ids, binding_list
from moodtui.tui.commands import MoodCommandPalette, PlayerCommands
from moodtui.tui.label_keeper import LabelKeeper
from moodtui.tui.library_sync import LibrarySync
from moodtui.tui.messages import (
    ModelReady,
    ModelSwitched,
    MoodsUpdated,
    Notice,
    ScanBatch,
    ScanFailed,
    Severity,
    SlicesAnalysed,
    SongAnalysed,
)
from moodtui.tui.model_keeper import ModelKeeper
from moodtui.tui.mpris_bridge import MprisBridge
from moodtui.tui.order_keeper import OrderKeeper
from moodtui.tui.screens.opener import ScreenOpener
from moodtui.tui.transport import Transport
from moodtui.tui.widgets.filter_input import FilterInput
from moodtui.tui.widgets.now_playing import NowPlaying
from moodtui.tui.widgets.status_bar import StatusBar
from moodtui.tui.widgets.track_list import TrackHeader, TrackList

POLL_INTERVAL_S = 0.25
"""How often the playback position is read (the slice display and the playhead follow it)."""
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
        self.directory: Path = Path(os.path.abspath(os.fspath(directory)))
        self.start_notice: str | None = notice
        self.settings: Settings = settings if settings is not None else Settings()
        self.view: LibraryView = LibraryView()
        self.player: Player = Player()
        self.order: PlayOrder = PlayOrder()
        self.caches: PlayerCaches = PlayerCaches()
        self.unsaved_labels: list[str] = []
        """Labels the writer still could not save when the app quit (printed after it ends)."""
        self.session_error: str | None = None
        """Why the session could not be saved at quit (printed after the app ends)."""
        file = os.path.abspath(os.fspath(play_file)) if play_file is not None else None
        self.start_up: StartUp = StartUp(file, radio)
        self.model: MoodModel | None = None
        """The model in use (None while loading, or when none loads)."""
        self.model_state: Literal["loading", "ready", "missing"] = "loading"
        self.notices: list[str] = []
        """Every notice shown this session, oldest first (the errors screen lists them)."""
        self.scan_done: bool = False
        self.moods_version: str | None = None
        """The model version of the last complete set of moods shown (all rows up to date)."""
        self.library_sync: LibrarySync = LibrarySync(self)
        self.model_keeper: ModelKeeper = ModelKeeper(self)
        self.analysis: AnalysisRunner = AnalysisRunner(self)
        self.label_keeper: LabelKeeper = LabelKeeper(self)
        self.transport: Transport = Transport(self)
        self.order_keeper: OrderKeeper = OrderKeeper(self)
        self.screen_opener: ScreenOpener = ScreenOpener(self)
        self.mpris: MprisBridge = MprisBridge(self)

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
        self.status_bar = StatusBar()
        yield from (self.library_bar, self.track_header, self.track_list, self.now_playing, self.filter_input)
        yield self.status_bar
        yield Footer()
        yield from (self.library_sync, self.model_keeper, self.analysis, self.label_keeper, self.transport)

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="moodtui")
        )
        self._apply_settings()
        if self.settings.resume != "off":
            self._restore_session()
        self.track_list.focus()
        self.filter_input.display = False
        if self.start_notice:
            self.show_notice(self.start_notice)
        self._update_library_bar()
        self.update_status()
        self.set_interval(POLL_INTERVAL_S, self._tick)
        self.run_worker(self.mpris.start(), group="mpris", exit_on_error=False, description="own the MPRIS name")
        self.model_keeper.load_model()
        self.label_keeper.load_labels()
        self.library_sync.scan_library()

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

    def on_notice(self, message: Notice) -> None:
        self.show_notice(message.text, severity=message.severity)

    # -- the session (resume) and start-up --------------------------------------------------------

    def _restore_session(self) -> None:
        """Filters, sort, volume, queue and station at once; the track when the scan finds it."""
        session, notice = load_session()
        if notice:
            self.show_notice(notice, severity="warning")
        if session is None:
            return
        restore_session(session, self.view, self.order)
        self.player.volume = session.volume
        self.filter_input.value = session.text_filter
        self.start_up.resume(session)

    def current_session(self) -> Session:
        track = self.playing.path if self.playing is not None else None
        return session_of(self.view, self.order, track, self.player.position_s, self.player.volume)

    def _play_when_scanned(self) -> None:
        """The track to resume, or ``moodtui song.ogg``'s file, once the scan has found it."""
        start = self.start_up.track_to_start(self.view.by_path, self.scan_done)
        row = self.view.by_path.get(start.path) if start is not None else None
        if start is not None and start.missing:
            self.show_notice(
                f"{display_path(start.path)} is not in the list (hidden, or not audio)", severity="warning"
            )
        if start is None or row is None:
            return
        if not start.resumed and row not in self.view.visible:  # a restored filter hides it: it was asked for
            self._clear_filters()
        self.play_row(row, start_s=start.start_s, paused=start.resumed and self.settings.resume == "paused")
        self.track_list.move_to(row)

    def open_caches(self) -> LibraryIndex:
        """The caches, opened by whichever worker asks first; one notice if a damaged one was replaced."""
        index, recovered = self.caches.open()
        if recovered:
            self.post_message(Notice(recovered, "warning"))
        return index

    # -- what the parts report --------------------------------------------------------------------

    def on_model_ready(self, message: ModelReady) -> None:
        self.model = message.model
        self.model_state = "ready" if message.model is not None else "missing"
        self.track_list.model_loaded = message.model is not None
        if message.notice:
            self.show_notice(message.notice, severity="warning")
        if message.model is None:
            self.now_playing.model_notice = "no mood model: playing without mood analysis"
            self.now_playing.refresh()
            self.order_keeper.start_pending_station()  # a station of the listener's labels only
        else:
            self.analysis.load_cached_moods(message.model)
            if self.playing is not None:
                self._analyse_playing(self.playing)
        self.track_list.refresh()
        self.update_status()

    def on_model_switched(self, message: ModelSwitched) -> None:
        self.analysis.stop_library()
        self.model = message.model
        self.model_state = "ready"
        self.track_list.model_loaded = True
        self.now_playing.model_notice = None
        self.show_notice(message.message)
        if self.playing is not None:
            self._analyse_playing(self.playing)
        self.update_status()
        if message.show_changes:
            self.action_mood_changes()

    def labels_changed(self) -> None:
        """The label keeper has every stored label on the rows."""
        self._moods_changed()
        self.order_keeper.start_pending_station()

    def rows_changed(self, path: str | None = None) -> None:
        """The labels or moods of some rows (of the row at ``path``) changed: redraw."""
        if self.playing is not None and self.playing.path == path:
            self.now_playing.label_changed()
        self._moods_changed()

    def on_scan_batch(self, message: ScanBatch) -> None:
        self.view.add_scanned(message.tracks)
        if message.done:
            self.scan_done = True
            gc.freeze()  # the rows live as long as the app: spare them the full collections (50-70 ms)
            if not self.view.rows:
                self.show_notice(f"no audio files in {display_path(self.directory)}", severity="warning")
        self._refresh_list()
        self._play_when_scanned()
        self.analysis.start_library()
        if message.done:
            self.label_keeper.look_for_moved()
            self.order_keeper.start_pending_station()
            self.library_sync.start()

    def on_scan_failed(self, message: ScanFailed) -> None:
        self.scan_done = True
        self.show_notice(message.reason, severity="error")
        self._update_library_bar()

    def on_moods_updated(self, message: MoodsUpdated) -> None:
        if self.model is None or message.model_version != self.model.version:
            return  # computed under a model that has since been replaced
        self.view.apply_results(
            message.moods,
            durations=message.durations,
            errors=message.errors,
            energies=message.energies,
            complete=message.complete,
        )
        if message.complete:
            self.moods_version = message.model_version
            gc.freeze()
            self.analysis.start_library()
        self._moods_changed()
        if message.complete:
            self.order_keeper.start_pending_station()

    def on_slices_analysed(self, message: SlicesAnalysed) -> None:
        self.now_playing.add_slices(message.starts_s, message.probs)

    def on_song_analysed(self, message: SongAnalysed) -> None:
        if self.playing is None:
            return
        self.now_playing.set_song(message.mood, message.error)
        if message.error is not None:
            self.playing.analysis_error = message.error
            self._moods_changed()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:  # an unexpected failure (a bug): one line, keep playing
            error = event.worker.error
            self.show_notice(f"{event.worker.name} failed: {type(error).__name__}: {error}", severity="error")

    # -- the list ---------------------------------------------------------------------------------

    def _refresh_list(self) -> None:
        """Re-apply the filters and the sort, keeping the cursor on the same track."""
        self.track_list.show_rows(self.view.apply())
        self._update_library_bar()

    def library_changed(self) -> None:
        """Library sync added, changed or removed rows: redraw and analyse what is new."""
        self._refresh_list()
        self.analysis.start_library()

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

    def on_track_list_highlighted(self, _: TrackList.Highlighted) -> None:
        self.update_status()

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
        if mood in MOOD_FILTERS:
            self.view.mood_filter = mood
            self._refresh_list()

    def action_open_filter(self) -> None:
        self.filter_input.open()

    @on(FilterInput.Changed, "#filter")
    def _filter_changed(self, event: FilterInput.Changed) -> None:
        self.view.text_filter = event.value.strip()
        self._refresh_list()

    def on_key(self, event: events.Key) -> None:
        # Keys typed right after "/" (a fast typist, or a paste) were sent to the table before the
        # filter took the focus; they reach the app unhandled and belong in the filter.
        if self.focused is self.filter_input and event.is_printable and event.character:
            event.stop()
            self.filter_input.insert_text_at_cursor(event.character)

    def on_filter_input_closed(self) -> None:
        self.track_list.focus()

    def _clear_filters(self) -> None:
        self.view.text_filter, self.view.mood_filter = "", "all"
        self.filter_input.reset()
        self._refresh_list()

    def action_clear_filter(self) -> None:
        view = self.view
        if view.text_filter:
            view.text_filter = ""
            self.filter_input.reset()
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

    # -- playback (``Transport``) -----------------------------------------------------------------

    @property
    def playing(self) -> TrackRow | None:
        return self.transport.playing

    @property
    def opening(self) -> bool:
        return self.transport.opening

    def play_row(self, row: TrackRow, *, start_s: float = 0.0, paused: bool = False) -> None:
        """The listener chose ``row``: play it (the play order goes on from it)."""
        self.transport.play_row(row, start_s=start_s, paused=paused)

    def playing_changed(self, row: TrackRow | None, *, follow: bool = False) -> None:
        """The transport plays ``row`` now (None: nothing); ``follow``: the cursor goes to it."""
        self.track_list.set_playing(row.path if row is not None else None)
        if row is None:
            self.now_playing.stop()
            self.analysis.playing_changed(None, None)
        else:
            self.now_playing.start(row, row.duration_s)
            if self.model is not None:
                self._analyse_playing(row)
            if follow:
                self.track_list.move_to(row)
        self.update_status()

    def position_changed(self, position_s: float, duration_s: float | None, paused: bool, *, new_second: bool) -> None:
        self.now_playing.set_position(position_s, duration_s, paused)
        if new_second:
            self.update_status()

    def _analyse_playing(self, row: TrackRow) -> None:
        self.now_playing.reset_analysis()
        if row.track.error is not None:
            self.now_playing.set_song(None, row.track.error)
        self.analysis.playing_changed(row, self.model)

    def _tick(self) -> None:
        self.mpris.refresh()
        self.transport.poll()

    def action_toggle_pause(self) -> None:
        self.transport.toggle_pause(self.track_list.highlighted)

    def action_seek(self, direction: int) -> None:
        self.transport.seek_by(direction * self.settings.seek_step)

    def action_volume(self, direction: int) -> None:
        if direction > 0:
            self.player.volume_up(self.settings.volume_fraction)
        else:
            self.player.volume_down(self.settings.volume_fraction)
        self.update_status()

    def action_next_track(self) -> None:
        self.transport.advance(+1)

    def action_previous_track(self) -> None:
        self.transport.advance(-1)

    # -- queue, shuffle, repeat, radio (``OrderKeeper``) ------------------------------------------

    def action_queue_add(self) -> None:
        self.order_keeper.queue_add(self.track_list.highlighted)

    def action_queue_show(self) -> None:
        self.screen_opener.queue()

    def action_shuffle(self) -> None:
        self.order_keeper.toggle_shuffle()

    def action_repeat(self) -> None:
        self.order_keeper.next_repeat()

    def action_radio(self) -> None:
        self.screen_opener.radio()

    # -- analysis, labels, models -----------------------------------------------------------------

    def action_toggle_analysis(self) -> None:
        """Pause or resume the background analysis (files in progress finish)."""
        paused = self.analysis.toggle_paused()
        if paused is not None:
            key = self.keys_for_id("toggle_analysis")
            self.show_notice(f"background analysis paused ({key} resumes)" if paused else "background analysis resumed")

    def action_label(self, label: str) -> None:
        self.label_keeper.label_playing(label)

    def action_undo_label(self) -> None:
        self.label_keeper.undo()

    def action_retrain(self) -> None:
        self.model_keeper.start_retrain()

    def action_mood_changes(self) -> None:
        self.screen_opener.mood_changes()

    def action_label_next(self) -> None:
        self.screen_opener.label_next()

    def action_models(self) -> None:
        self.screen_opener.models()

    def action_errors(self) -> None:
        self.screen_opener.errors()

    def action_help(self) -> None:
        self.screen_opener.help()

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

    # -- the status line --------------------------------------------------------------------------

    def update_status(self) -> None:
        """The status line, most important first (a narrow terminal cuts the end)."""
        row, retrain = self.track_list.highlighted, self.model_keeper
        if self.model is not None:
            model = f"model {self.model.version}"
        else:
            model = "loading the model…" if self.model_state == "loading" else "no mood model"
        words = [
            *self.transport.status_words(),
            *self.order.status_words(),
            retrain.stage if retrain.retraining else None,
            f"✗ {display_path(row.track.path.name)}: {row.error}" if row is not None and row.error else None,
            *self.analysis.status_words(),
            "silent: no sound device" if self.player.backend_is_null else None,
            model,
        ]
        self.status_bar.show(words, retrain.progress)

    # -- palette and quit -------------------------------------------------------------------------

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
        self.model_keeper.cancel_retrain()
        self.library_sync.stop()
        self.mpris.close()
        self.workers.cancel_all()
        # The labels already typed are written first; run_app prints any it could not write.
        self.unsaved_labels = self.label_keeper.stop()
        self.player.close()
        self.exit(0)
