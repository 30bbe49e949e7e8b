"""The App as an MPRIS player (``moodtui.player.mpris``): its state for D-Bus, D-Bus commands as actions.

D-Bus calls arrive on the App's event loop (dbus-fast's asyncio bus), so they may touch the
widgets directly. After each command the service is refreshed at once, so PropertiesChanged
follows the reply without waiting for the 4 Hz position timer (which refreshes it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moodtui.player.mpris import MprisService, MprisState

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class MprisBridge:
    """Implements :class:`moodtui.player.mpris.MprisPlayer` over the App."""

    def __init__(self, app: MoodApp) -> None:
        self.app = app
        self.service = MprisService(self)
        self.active = False

    async def start(self) -> None:
        """Own the bus name when there is a session bus; silently nothing otherwise."""
        self.active = await self.service.start()

    def refresh(self) -> None:
        if self.active:
            self.service.refresh()

    def close(self) -> None:
        self.service.close()
        self.active = False

    # -- state ------------------------------------------------------------------------------------

    def mpris_state(self) -> MprisState:
        app = self.app
        row, player = app.playing, app.player
        if row is None:
            return MprisState(volume=player.volume)
        status = "Paused" if player.is_paused else "Playing"
        track = row.track
        return MprisState(
            status=status, path=row.path, title=track.title, artist=track.artist, album=track.album,
            length_s=player.duration_s or row.duration_s, mood=row.mood, volume=player.volume,
            position_s=player.position_s,
        )  # fmt: skip

    # -- commands ---------------------------------------------------------------------------------

    def _then_refresh(self) -> None:
        self.refresh()

    def mpris_play_pause(self) -> None:
        self.app.action_toggle_pause()
        self._then_refresh()

    def mpris_play(self) -> None:
        if self.app.playing is None or self.app.player.is_paused:
            self.app.action_toggle_pause()
        self._then_refresh()

    def mpris_pause(self) -> None:
        if self.app.playing is not None and not self.app.player.is_paused:
            self.app.action_toggle_pause()
        self._then_refresh()

    def mpris_stop(self) -> None:
        if self.app.playing is not None:
            self.app.transport.stop()
        self._then_refresh()

    def mpris_next(self) -> None:
        self.app.action_next_track()
        self._then_refresh()

    def mpris_previous(self) -> None:
        self.app.action_previous_track()
        self._then_refresh()

    def mpris_seek_to(self, seconds: float) -> None:
        self.app.transport.seek_to(seconds)
        self._then_refresh()

    def mpris_set_volume(self, volume: float) -> None:
        self.app.player.volume = volume
        self.app.update_status()
        self._then_refresh()

    def mpris_quit(self) -> None:
        self.app.call_next(self.app.action_quit)

    def mpris_raise(self) -> None:
        return  # a terminal's window cannot be raised from inside it (CanRaise is false)
