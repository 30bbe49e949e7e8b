"""The listening session kept across runs: track, position, volume, filter, sort, queue, station.

Saved on quit in the data folder (``session.json``) through the one atomic writer
(``moodtui.fileio``), so a crash mid-save leaves the previous session whole. A session file that
does not load is moved aside (``session.json.bad-<time>``) with a one-line notice: never a crash,
and nothing is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from moodtui.errors import display_path
from moodtui.fileio import atomic_write_text, move_aside
from moodtui.player.order import PlayOrder, Repeat
from moodtui.player.radio import station_from_id, station_id

if TYPE_CHECKING:
    from moodtui.library.view import LibraryView

SESSION_NAME = "session.json"
FORMAT = 1


@dataclass
class Session:
    track: str | None = None
    """Path of the track playing (or paused) at quit."""
    position_s: float = 0.0
    volume: float = 1.0
    text_filter: str = ""
    mood_filter: str = "all"
    sort: str = "library"
    sort_reverse: bool = False
    queue: list[str] = field(default_factory=list)
    station: dict | None = None
    """``moodtui.player.radio.station_id`` of the station on at quit."""
    shuffle: bool = False
    repeat: str = "off"

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Session:
        """The session in ``text``; ValueError naming what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a moodtui session")
        data.pop("format")
        session = cls()
        for name, default in asdict(session).items():
            if name not in data:
                continue
            value = data[name]
            if name == "track":
                ok = value is None or isinstance(value, str)
            elif name == "station":
                ok = value is None or isinstance(value, dict)
            elif name == "queue":
                ok = isinstance(value, list) and all(isinstance(p, str) for p in value)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"{name} is {value!r}")
            setattr(session, name, float(value) if isinstance(default, float) else value)
        return session


def session_of(view: LibraryView, order: PlayOrder, track: str | None, position_s: float, volume: float) -> Session:
    """The session to save: ``track`` playing at ``position_s``, the view's filters and sort, the order's
    queue, station, shuffle and repeat."""
    return Session(
        track=track,
        position_s=position_s if track is not None else 0.0,
        volume=volume,
        text_filter=view.text_filter,
        mood_filter=view.mood_filter,
        sort=view.sort_column.value,
        sort_reverse=view.sort_reverse,
        queue=list(order.queue),
        station=station_id(order.station) if order.station is not None else None,
        shuffle=order.shuffle,
        repeat=order.repeat.value,
    )


def restore_session(session: Session, view: LibraryView, order: PlayOrder) -> None:
    """Filters and sort into ``view``; queue, shuffle, repeat and station into ``order`` (what a
    version of moodtui no longer knows falls back on the default)."""
    from moodtui.library.view import MOOD_FILTERS, SortColumn

    view.text_filter = session.text_filter
    view.mood_filter = session.mood_filter if session.mood_filter in MOOD_FILTERS else "all"
    view.sort_column = next((c for c in SortColumn if c.value == session.sort), SortColumn.LIBRARY)
    view.sort_reverse = session.sort_reverse
    order.queue = list(session.queue)
    order.set_shuffle(session.shuffle)
    order.repeat = next((r for r in Repeat if r.value == session.repeat), Repeat.OFF)
    if session.station is not None:
        try:
            order.station = station_from_id(session.station, view.song_facts)
        except (ValueError, TypeError):
            pass  # a station this version does not know: the list plays


@dataclass(frozen=True)
class StartTrack:
    """A track to start with: ``path`` from ``start_s``; ``resumed``: the saved session's (else the
    file named on the command line); ``missing``: that file is not in the list (hidden, or not audio)."""

    path: str
    start_s: float = 0.0
    resumed: bool = False
    missing: bool = False


class StartUp:
    """What the player starts with once the scan has found it (no Textual): the file named on the
    command line (``moodtui song.ogg``), else the saved session's track at its position; and the
    station asked for with ``--radio``, kept until one is on (the App starts it once the library,
    the labels and the moods are in)."""

    def __init__(self, play_file: str | None = None, station: str | None = None) -> None:
        self.play_file = play_file
        self.station = station
        self.resume_track: str | None = None
        self.resume_position_s = 0.0

    def resume(self, session: Session) -> None:
        """Start with ``session``'s track (a file named on the command line comes first)."""
        if session.track and self.play_file is None:
            self.resume_track, self.resume_position_s = session.track, session.position_s

    def track_to_start(self, scanned: Container[str], scan_done: bool) -> StartTrack | None:
        """The track to start now that the paths in ``scanned`` are known, once; None: not (yet)."""
        if self.play_file is not None:
            path = self.play_file
            if path in scanned or scan_done:
                self.play_file = None
                return StartTrack(path, missing=path not in scanned)
            return None
        if self.resume_track is not None and (self.resume_track in scanned or scan_done):
            path, self.resume_track = self.resume_track, None
            if path in scanned:  # else gone since: nothing to resume
                return StartTrack(path, self.resume_position_s, resumed=True)
        return None


def session_path(home: Path | None = None) -> Path:
    from moodtui.paths import data_home

    return (home or data_home()) / SESSION_NAME


def save_session(session: Session, path: Path | None = None) -> None:
    """Write ``session`` atomically (temporary file, fsync, rename). Raises OSError."""
    atomic_write_text(path or session_path(), session.to_json() + "\n")


def load_session(path: Path | None = None) -> tuple[Session | None, str | None]:
    """The saved session (None if there is none) and a notice when the file was moved aside."""
    path = path or session_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as error:
        cause = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8 text"
        return None, _move_aside(path, cause)
    try:
        return Session.from_json(text), None
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        cause = f"not valid JSON ({error.msg})" if isinstance(error, json.JSONDecodeError) else str(error)
        return None, _move_aside(path, cause)


def _move_aside(path: Path, cause: str) -> str:
    try:
        aside = move_aside(path, "bad")
    except OSError as error:
        return f"{display_path(path)}: {cause}; could not move it aside ({error.strerror or error}): starting a new session"
    return f"{display_path(path)}: {cause}: moved aside to {aside.name}, starting a new session"
