"""MPRIS: media keys, desktop widgets and ``playerctl`` see and drive the player over D-Bus.

On a session bus, :class:`MprisService` owns ``org.mpris.MediaPlayer2.moodtui`` and exports the
root interface (Identity, Quit, Raise) and the Player interface (PlayPause, Play, Pause, Stop,
Next, Previous, Seek, SetPosition, OpenUri refused; PlaybackStatus, Metadata, Volume, Position,
the Can* flags; PropertiesChanged and Seeked) at ``/org/mpris/MediaPlayer2``. It uses dbus-fast's
asyncio bus, which runs on the event loop of the app (Textual's), so method calls arrive on the
UI thread: no locks. Without a session bus :meth:`MprisService.start` returns False and nothing
is said: the player runs as before.

The player side is a :class:`MprisPlayer`: what is playing (:class:`MprisState`) and the
transport commands. No Textual here.

(This module does not use ``from __future__ import annotations``: dbus-fast reads the D-Bus
signatures from the annotations at class creation.)
"""

import hashlib
import os
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from dbus_fast import BusType, PropertyAccess, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusDict,
    DBusDouble,
    DBusInt64,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
)
from dbus_fast.service import ServiceInterface, dbus_property, method, signal

from moodtui.audio.formats import FORMATS

DBusStrList = Annotated[list[str], DBusSignature("as")]

BUS_NAME = "org.mpris.MediaPlayer2.moodtui"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"
TRACK_PATH_PREFIX = "/org/moodtui/track/"

_MIME_TYPES = {
    "wav": ["audio/wav", "audio/x-wav"], "flac": ["audio/flac"], "ogg": ["audio/ogg", "audio/opus"],
    "aiff": ["audio/aiff"], "mp3": ["audio/mpeg"], "mp4/aac": ["audio/mp4"], "aac": ["audio/aac"],
    "matroska": ["audio/x-matroska", "audio/webm"], "wma": ["audio/x-ms-wma"], "ape": ["audio/x-ape"],
    "wavpack": ["audio/x-wavpack"], "musepack": ["audio/x-musepack"],
}  # fmt: skip


@dataclass(frozen=True)
class MprisState:
    """What the player shows now, in MPRIS's terms."""

    status: str = "Stopped"
    """"Playing", "Paused" or "Stopped"."""
    path: str | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    length_s: float | None = None
    mood: str | None = None
    """The mood the table shows for the track (the listener's label, else the prediction)."""
    volume: float = 1.0
    position_s: float = 0.0
    can_go_next: bool = True
    can_go_previous: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    def metadata(self) -> dict[str, Variant]:
        """The ``Metadata`` property (xesam / mpris keys, and ``moodtui:mood``)."""
        if self.path is None:
            return {"mpris:trackid": Variant("o", NO_TRACK)}
        data = {
            "mpris:trackid": Variant("o", track_id(self.path)),
            "xesam:url": Variant("s", file_url(self.path)),
            "xesam:title": Variant("s", self.title or os.path.basename(self.path)),
        }
        if self.artist:
            data["xesam:artist"] = Variant("as", [self.artist])
        if self.album:
            data["xesam:album"] = Variant("s", self.album)
        if self.length_s:
            data["mpris:length"] = Variant("x", int(self.length_s * 1_000_000))
        if self.mood:
            data["moodtui:mood"] = Variant("s", self.mood)
            data["xesam:comment"] = Variant("as", [f"mood: {self.mood}"])
        return data


def track_id(path: str) -> str:
    """A D-Bus object path naming the track (object paths allow only [A-Za-z0-9_])."""
    digest = hashlib.sha1(os.fsencode(path)).hexdigest()[:16]
    return TRACK_PATH_PREFIX + digest


def file_url(path: str) -> str:
    from urllib.parse import quote

    return "file://" + quote(os.fsencode(os.path.abspath(path)))


class MprisPlayer(Protocol):
    """The player as MPRIS drives it (every call arrives on the event loop's thread)."""

    def mpris_state(self) -> MprisState: ...
    def mpris_play_pause(self) -> None: ...
    def mpris_play(self) -> None: ...
    def mpris_pause(self) -> None: ...
    def mpris_stop(self) -> None: ...
    def mpris_next(self) -> None: ...
    def mpris_previous(self) -> None: ...
    def mpris_seek_to(self, seconds: float) -> None: ...
    def mpris_set_volume(self, volume: float) -> None: ...
    def mpris_quit(self) -> None: ...
    def mpris_raise(self) -> None: ...


class _Root(ServiceInterface):
    def __init__(self, player: MprisPlayer) -> None:
        super().__init__("org.mpris.MediaPlayer2")
        self._player = player

    @method()
    def Raise(self) -> None:
        self._player.mpris_raise()

    @method()
    def Quit(self) -> None:
        self._player.mpris_quit()

    @dbus_property(access=PropertyAccess.READ)
    def CanQuit(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanRaise(self) -> DBusBool:
        return False  # a terminal program cannot bring its window to the front

    @dbus_property(access=PropertyAccess.READ)
    def HasTrackList(self) -> DBusBool:
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Identity(self) -> DBusStr:
        return "moodtui"

    @dbus_property(access=PropertyAccess.READ)
    def SupportedUriSchemes(self) -> DBusStrList:
        return ["file"]

    @dbus_property(access=PropertyAccess.READ)
    def SupportedMimeTypes(self) -> DBusStrList:
        return sorted({mime for fmt in FORMATS for mime in _MIME_TYPES.get(fmt.name, [])})


class _Player(ServiceInterface):
    def __init__(self, player: MprisPlayer) -> None:
        super().__init__("org.mpris.MediaPlayer2.Player")
        self._player = player

    def _state(self) -> MprisState:
        return self._player.mpris_state()

    @method()
    def PlayPause(self) -> None:
        self._player.mpris_play_pause()

    @method()
    def Play(self) -> None:
        self._player.mpris_play()

    @method()
    def Pause(self) -> None:
        self._player.mpris_pause()

    @method()
    def Stop(self) -> None:
        self._player.mpris_stop()

    @method()
    def Next(self) -> None:
        self._player.mpris_next()

    @method()
    def Previous(self) -> None:
        self._player.mpris_previous()

    @method()
    def Seek(self, offset: DBusInt64) -> None:
        state = self._state()
        if state.path is None:
            return
        target = state.position_s + offset / 1_000_000
        if state.length_s is not None and target > state.length_s:
            self._player.mpris_next()  # the specification: seeking past the end is Next
            return
        self._player.mpris_seek_to(max(target, 0.0))

    @method()
    def SetPosition(self, track: DBusObjectPath, position: DBusInt64) -> None:
        state = self._state()
        if state.path is None or track != track_id(state.path) or position < 0:
            return  # a stale request for an earlier track: ignored, as the specification says
        if state.length_s is not None and position / 1_000_000 > state.length_s:
            return
        self._player.mpris_seek_to(position / 1_000_000)

    @method()
    def OpenUri(self, uri: DBusStr) -> None:
        return  # not supported (CanOpen... is not part of this player): the call does nothing

    @signal()
    def Seeked(self, position: int) -> DBusInt64:
        return position

    @dbus_property(access=PropertyAccess.READ)
    def PlaybackStatus(self) -> DBusStr:
        return self._state().status

    @dbus_property(access=PropertyAccess.READ)
    def Rate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def MinimumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def MaximumRate(self) -> DBusDouble:
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def Metadata(self) -> DBusDict:
        return self._state().metadata()

    @dbus_property()
    def Volume(self) -> DBusDouble:
        return self._state().volume

    @Volume.setter  # type: ignore[no-redef]
    def Volume(self, value: DBusDouble) -> None:
        self._player.mpris_set_volume(min(max(value, 0.0), 1.0))

    @dbus_property(access=PropertyAccess.READ)
    def Position(self) -> DBusInt64:
        return int(self._state().position_s * 1_000_000)

    @dbus_property(access=PropertyAccess.READ)
    def CanGoNext(self) -> DBusBool:
        return self._state().can_go_next

    @dbus_property(access=PropertyAccess.READ)
    def CanGoPrevious(self) -> DBusBool:
        return self._state().can_go_previous

    @dbus_property(access=PropertyAccess.READ)
    def CanPlay(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanPause(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def CanSeek(self) -> DBusBool:
        return self._state().path is not None

    @dbus_property(access=PropertyAccess.READ)
    def CanControl(self) -> DBusBool:
        return True


SEEK_JUMP_S = 1.0
"""A position this much away from where playing time would have taken it is a seek (Seeked)."""


class MprisService:
    """The D-Bus side. ``await start()`` once on the app's event loop; ``refresh()`` whenever
    the player may have changed (cheap: it compares and sends only what changed)."""

    def __init__(self, player: MprisPlayer) -> None:
        self.player = player
        self.bus: MessageBus | None = None
        self.name: str | None = None
        self._root = _Root(player)
        self._iface = _Player(player)
        self._last: MprisState | None = None
        self._last_time = 0.0

    async def start(self) -> bool:
        """Connect to the session bus and own the name; False (and nothing said) without a bus."""
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            runtime = os.environ.get("XDG_RUNTIME_DIR")
            if not runtime or not os.path.exists(os.path.join(runtime, "bus")):
                return False
        try:
            bus = await MessageBus(bus_type=BusType.SESSION).connect()
        except Exception:  # no bus, a refused connection, a bad address: MPRIS is simply off
            return False
        bus.export(OBJECT_PATH, self._root)
        bus.export(OBJECT_PATH, self._iface)
        try:
            reply = await bus.request_name(BUS_NAME)
            name = BUS_NAME
            if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
                # Another moodtui has the name: the specification's per-instance name.
                name = f"{BUS_NAME}.instance{os.getpid()}"
                await bus.request_name(name)
        except Exception:
            bus.disconnect()
            return False
        self.bus, self.name = bus, name
        self._last = self.player.mpris_state()
        return True

    def refresh(self, now: float | None = None) -> None:
        """Send PropertiesChanged for what changed since the last call (and Seeked after a jump)."""
        if self.bus is None:
            return
        import time

        now = time.monotonic() if now is None else now
        state = self.player.mpris_state()
        last, elapsed = self._last, now - self._last_time
        self._last, self._last_time = state, now
        if last is None or state == last:
            return
        changed: dict[str, Any] = {}
        if state.status != last.status:
            changed["PlaybackStatus"] = state.status
        if (state.path, state.title, state.artist, state.album, state.length_s, state.mood) != (
            last.path,
            last.title,
            last.artist,
            last.album,
            last.length_s,
            last.mood,
        ):
            changed["Metadata"] = state.metadata()
        if state.volume != last.volume:
            changed["Volume"] = state.volume
        if (state.can_go_next, state.can_go_previous) != (last.can_go_next, last.can_go_previous):
            changed["CanGoNext"], changed["CanGoPrevious"] = state.can_go_next, state.can_go_previous
        if state.path != last.path:
            changed["CanSeek"] = state.path is not None
        if changed:
            self._iface.emit_properties_changed(changed)
        expected = last.position_s + (elapsed if last.status == "Playing" else 0.0)
        if state.path == last.path and state.path is not None and abs(state.position_s - expected) > SEEK_JUMP_S:
            self._iface.Seeked(int(state.position_s * 1_000_000))

    def close(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None


__all__ = ["BUS_NAME", "OBJECT_PATH", "MprisPlayer", "MprisService", "MprisState", "file_url", "track_id"]
