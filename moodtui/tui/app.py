"""The moodtui player: a Textual app that wires the core to its widgets.

The UI thread only ever touches in-memory state. Everything that can take time runs in a thread
worker of one of the App's display-less parts (``moodtui.tui.controller``), whose workers report
back with messages (``moodtui.tui.messages``): ``Transport`` opens and follows the playing track,
``LibrarySync`` scans and follows the music folder, ``ModelKeeper`` loads, retrains and switches the
model, ``AnalysisRunner`` analyses the playing track first and the library behind it,
``LabelKeeper`` writes the listener's labels, ``PlaylistExport`` writes the visible list as a
playlist. Three plain helpers take work off it too: ``OrderKeeper`` (queue, shuffle, repeat,
radio), ``ScreenOpener`` (the screens) and ``SessionKeeper`` (the session restored and saved).
The App composes the widgets, hands each key to its part and shows what the parts find. What plays next is
``moodtui.player.order.PlayOrder``; what the table shows is ``moodtui.library.view.LibraryView``;
what starts first, ``moodtui.player.session.StartUp``.
"""

from __future__ import annotations

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from textual import events, on
from textual.app import App, ComposeResult
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from moodtui.config import Settings
from moodtui.errors import display_path
from moodtui.library.view import MOOD_FILTERS, LibraryView, TrackRow
from moodtui.mood.model import MoodModel
from moodtui.player.caches import PlayerCaches
from moodtui.player.order import PlayOrder
from moodtui.player.playback import Player
from moodtui.player.session import StartUp
from moodtui.tui.analysis_runner import AnalysisRunner
from moodtui.tui.bindings import PLAYER_BINDINGS, binding_ids
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
from moodtui.tui.playlist_export import PlaylistExport
from moodtui.tui.screens.opener import ScreenOpener
from moodtui.tui.session_keeper import SessionKeeper
from moodtui.tui.transport import Transport
from moodtui.tui.widgets.filter_input import FilterInput
from moodtui.tui.widgets.library_bar import LibraryBar
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
        self.playlist_export: PlaylistExport = PlaylistExport(self)
        self.order_keeper: OrderKeeper = OrderKeeper(self)
        self.screen_opener: ScreenOpener = ScreenOpener(self)
        self.session_keeper: SessionKeeper = SessionKeeper(self)
        self.mpris: MprisBridge = MprisBridge(self)

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # Kept as attributes: handlers use them directly (no DOM query, harmless during shutdown).
        self.library_bar = LibraryBar(id="library-bar")
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
        yield self.playlist_export

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="moodtui")
        )
        self._apply_settings()
        if self.settings.resume != "off":
            self.session_keeper.restore()
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

    def show_notice(self, text: str, *, severity: Severity = "information") -> None:
        """Show a one-line notice (a toast) and keep it in the session's notice list."""
        self.notices.append(text)
        self.notify(text, severity=severity, markup=False, timeout=5 if severity == "information" else 8)

    def on_notice(self, message: Notice) -> None:
        self.show_notice(message.text, severity=message.severity)

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
            self.screen_opener.mood_changes()

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
        self.session_keeper.play_when_scanned()
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
        self.library_bar.show(self.view, self.scan_done, self.directory)
        self.track_header.set_sort(self.view.sort_column, self.view.sort_reverse)

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
        self.filter_input.take_stray_key(event)

    def on_filter_input_closed(self) -> None:
        self.track_list.focus()

    def clear_filters(self) -> None:
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
        self.transport.change_volume(direction)

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
        self.analysis.toggle_paused()

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
        self.playlist_export.export_visible()

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
        self.session_keeper.save()
        self.model_keeper.cancel_retrain()
        self.library_sync.stop()
        self.mpris.close()
        self.workers.cancel_all()
        # The labels already typed are written first; run_app prints any it could not write.
        self.unsaved_labels = self.label_keeper.stop()
        self.player.close()
        self.exit(0)
