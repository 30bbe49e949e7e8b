"""Playing: the transport between the play order (``moodtui.player.order``) and the sound output.

:class:`Transport` (a display-less part the App mounts, ``moodtui.tui.controller``) opens the
chosen track in ``moodtui.player.playback.Player`` in a worker (its ReplayGain set before it
sounds), follows the position, plays what the play order says comes next when a track ends,
skips tracks that cannot be played (and stops once none of the list can), and keeps the
transport keys waiting while a track opens. It tells the App what plays (``playing_changed``) and
where (``position_changed``) at once, so the table and the now-playing panel show it in the same frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from moodtui.audio.replaygain import choose_gain, read_replaygain
from moodtui.errors import AudioError, MoodtuiError
from moodtui.library.view import TrackRow
from moodtui.text import plural
from moodtui.tui.bindings import keys_for_id
from moodtui.tui.controller import Controller
from moodtui.tui.messages import TrackFailed, TrackStarted
from moodtui.tui.palette import format_time

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class Transport(Controller):
    """What plays and where it is (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="transport")
        self.playing: TrackRow | None = None
        self.gain_text: str | None = None
        """The ReplayGain applied to the playing track, for the status line ("RG track -6.2 dB")."""
        self._token: int = 0
        """The play request in force: a worker's report about an earlier one is stale."""
        self._opened: int = -1
        """The play request whose track the player holds."""
        self._shown_second: int = -1

    def status_words(self) -> list[str | None]:
        """The status line's start: position and length, volume, the ReplayGain applied."""
        player = self.player_app.player
        if self.playing is None:
            return [f"vol {100 * player.volume:.0f}%"]
        state = "⏸" if player.is_paused else "▶"
        position = f"{state} {format_time(player.position_s)} / {format_time(player.duration_s)}"
        return [position, f"vol {100 * player.volume:.0f}%", self.gain_text]

    @property
    def opening(self) -> bool:
        """True between a play request and the player having the track (transport keys wait)."""
        return self._opened != self._token

    def play_row(self, row: TrackRow, *, start_s: float = 0.0, paused: bool = False) -> None:
        """The listener chose ``row``: play it (the play order goes on from it)."""
        self.player_app.order.play(row.path)
        self._play(row, start_s=start_s, paused=paused)

    def _play(self, row: TrackRow, *, start_s: float = 0.0, paused: bool = False, follow: bool = False) -> None:
        self._token += 1
        self.playing = row
        self._shown_second = -1
        self.open_track(row, self._token, start_s, paused)
        self.player_app.playing_changed(row, follow=follow)

    @work(thread=True, exclusive=True, group="open", exit_on_error=False, description="open the track in the player")
    def open_track(self, row: TrackRow, token: int, start_s: float = 0.0, paused: bool = False) -> None:
        player = self.player_app.player
        try:
            opened = player.open(row.track.path)
        except MoodtuiError as error:
            self.post_message(TrackFailed(token, error.cause if isinstance(error, AudioError) else str(error)))
            return
        if not opened or get_current_worker().is_cancelled:
            return  # a newer play request took over
        gain = choose_gain(read_replaygain(row.track.path), self.player_app.settings.replaygain)
        player.set_gain(gain.factor)  # before play(): no loud first moment
        self.gain_text = gain.text
        player.play()
        if start_s > 0:
            player.seek(start_s)
        if paused:
            player.pause()
        self.post_message(TrackStarted(token, player.duration_s, player.take_notice()))

    def on_track_started(self, message: TrackStarted) -> None:
        if message.token != self._token:
            return
        self._opened = message.token
        if self.playing is not None:
            self.playing.play_error = None
            self.player_app.order.started(self.playing.path)
        if message.duration_s and self.playing is not None:
            self._post_position()
        if message.notice:
            self.player_app.show_notice(message.notice, severity="warning")
        self.player_app.update_status()

    def on_track_failed(self, message: TrackFailed) -> None:
        if message.token != self._token or self.playing is None:
            return
        app, row, order = self.player_app, self.playing, self.player_app.order
        row.play_error = message.reason  # listed by `e`
        give_up = order.failed(row.path, message.reason)
        text = f"cannot play {row.track.title}: {message.reason}"
        if order.failures_in_a_row == 1:
            app.show_notice(text, severity="warning")
        else:
            app.notices.append(text)  # in `e`'s notices, without one more toast
        if give_up:
            self.stop(self._unplayable_notice())
        else:
            self.advance(+1)

    def _unplayable_notice(self) -> str:
        order = self.player_app.order
        count = max(order.broken_in_list(), order.failures_in_a_row)
        return f"{plural(count, 'file')} could not be played, see `{keys_for_id(self.player_app, 'errors')}`"

    def stop(self, notice: str | None = None) -> None:
        self._token += 1
        self.playing = None
        self.player_app.player.stop()
        if notice:
            self.player_app.show_notice(notice)
        self.player_app.playing_changed(None)

    def poll(self) -> None:
        """About 4 times a second: follow the playback position; start the next track at the end."""
        if self.playing is None or self.opening:
            return
        if self.player_app.player.at_end:
            self.advance(+1, at_end=True)
        else:
            self._post_position(force=False)

    def _post_position(self, force: bool = True) -> None:
        player = self.player_app.player
        position = player.position_s
        new_second = force or int(position) != self._shown_second
        self._shown_second = int(position)
        self.player_app.position_changed(position, player.duration_s, player.is_paused, new_second=new_second)

    def advance(self, step: int, *, at_end: bool = False) -> None:
        """Play what the play order says comes next (``step`` +1) or came before (-1)."""
        app = self.player_app
        order = app.order
        if step < 0:
            path = order.previous()
            if path is None:
                self.player_app.show_notice("nothing played before this track")
                return
        else:
            visible = app.view.visible
            order.set_list([row.path for row in visible], broken=[row.path for row in visible if row.track.error])
            path = order.next(at_end=at_end, fallback_index=app.track_list.cursor)
            if path is None:
                if order.failures_in_a_row:
                    self.stop(self._unplayable_notice())
                else:
                    self.stop("end of the station" if order.station is not None else "end of the list")
                return
        row = app.view.by_path.get(path)
        if row is None:  # gone from the library since it was queued or played
            self.advance(step, at_end=at_end)
            return
        self._play(row, follow=at_end and app.settings.cursor_follows_playing)

    def toggle_pause(self, highlighted: TrackRow | None) -> None:
        """Pause or resume; with nothing playing, play ``highlighted``."""
        if self.playing is None:
            if highlighted is not None:
                self.play_row(highlighted)
        elif not self.opening:
            self.player_app.player.toggle()
            self._post_position()

    def seek_to(self, seconds: float) -> None:
        if self.playing is not None and not self.opening:
            self.player_app.player.seek(seconds)
            self._post_position()

    def seek_by(self, seconds: float) -> None:
        if self.playing is not None and not self.opening:
            self.player_app.player.seek_relative(seconds)
            self._post_position()

    def change_volume(self, direction: int) -> None:
        """One ``volume_step`` up (``direction`` > 0) or down."""
        app = self.player_app
        if direction > 0:
            app.player.volume_up(app.settings.volume_fraction)
        else:
            app.player.volume_down(app.settings.volume_fraction)
        app.update_status()
