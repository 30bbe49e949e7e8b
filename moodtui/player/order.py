"""What plays next: the queue, then the list (in order or shuffled), a station, repeat, history.

No Textual here. Songs are named by their path (the key shared with the label store and the
analysis cache). The player asks :meth:`PlayOrder.next` when a track ends or the listener presses
next, and :meth:`PlayOrder.previous` for "previous"; both return the path to play and record the
move, so "previous" goes back through what actually played, whatever the order was.

Modelled on mopidy's ``core/_tracklist.py`` (the order) kept apart from ``core/_playback.py``
(the transport: here ``moodtui.player.playback.Player``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Protocol

HISTORY_LIMIT = 500
"""Played songs remembered for "previous" (older ones are forgotten)."""
FAILURES_BEFORE_GIVING_UP = 3
"""Songs that fail to play one after the other before the player stops trying the next one (a
folder of broken files must not become a long chain of failed plays)."""
STATION_TRIES = 50
"""Songs a station may offer in one :meth:`PlayOrder.next` before it counts as dry (all broken)."""


class Repeat(Enum):
    """What happens at the end of the list: stop, start again, or play the same song again."""

    OFF = "off"
    ALL = "all"
    ONE = "one"

    def next(self) -> Repeat:
        modes = tuple(Repeat)
        return modes[(modes.index(self) + 1) % len(modes)]


class Station(Protocol):
    """An endless source of songs (a mood radio): the next path, or None when it has run dry."""

    name: str

    def next(self) -> str | None: ...


class PlayOrder:
    """The play order over a list of paths (the visible list of the table, kept up to date).

    - The queue (:attr:`queue`) plays first, in its order, each entry once.
    - Then a station, when one is on (:attr:`station`), or else the list: in order, or shuffled
      (:attr:`shuffle`) without repeats until every song of the list has played once.
    - :attr:`repeat`: ``OFF`` stops at the end, ``ALL`` starts the list again (a new shuffle),
      ``ONE`` plays the same song again when it ends (next still moves on).
    - Songs known broken are passed over by :meth:`next`: those that failed to play this session
      (:meth:`failed`) and those the library already knows it cannot read (``set_list(...,
      broken=...)``). The listener may still choose one (:meth:`play`). After
      :data:`FAILURES_BEFORE_GIVING_UP` failures in a row :meth:`failed` says to stop.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._list: Sequence[str] = ()
        self._list_index: dict[str, int] = {}
        self.queue: list[str] = []
        self.shuffle = False
        self.repeat = Repeat.OFF
        self.station: Station | None = None
        self._history: list[str] = []
        self._position = -1  # index in _history of the song playing now (-1: none)
        self._shuffle_played: set[str] = set()  # songs of this shuffle round already played
        self.failed_to_play: dict[str, str] = {}
        """Songs that could not be played this session, with the reason."""
        self._listed_broken: frozenset[str] = frozenset()  # unreadable songs of the list (the scan says so)
        self.failures_in_a_row = 0
        """Songs that failed to play one after the other, since one last started or was chosen."""

    # -- the list ---------------------------------------------------------------------------------

    def set_list(self, paths: Sequence[str], broken: Iterable[str] = ()) -> None:
        """The songs to play in order (the table's visible rows, filtered and sorted), and those
        of them known to be unreadable (:meth:`next` passes over them)."""
        self._list = paths
        self._list_index = {path: i for i, path in enumerate(paths)}
        self._listed_broken = frozenset(broken)

    # -- broken songs -----------------------------------------------------------------------------

    def is_broken(self, path: str) -> bool:
        """Known not to play: it failed this session, or the library cannot read it."""
        return path in self.failed_to_play or path in self._listed_broken

    def broken_in_list(self) -> int:
        """How many songs of the list are known not to play."""
        return sum(1 for path in self._list if self.is_broken(path))

    def started(self, path: str) -> None:
        """``path`` plays: it is not broken after all, and the failures in a row end."""
        self.failed_to_play.pop(path, None)
        self.failures_in_a_row = 0

    def failed(self, path: str, reason: str) -> bool:
        """``path`` could not be played (``reason``). True when the player should stop trying
        further songs: :data:`FAILURES_BEFORE_GIVING_UP` failed in a row."""
        self.failed_to_play[path] = reason
        self.failures_in_a_row += 1
        return self.failures_in_a_row >= FAILURES_BEFORE_GIVING_UP

    @property
    def current(self) -> str | None:
        return self._history[self._position] if self._position >= 0 else None

    @property
    def history(self) -> list[str]:
        """What played, oldest first, up to and including the current song."""
        return self._history[: self._position + 1]

    # -- choosing ---------------------------------------------------------------------------------

    def play(self, path: str) -> str:
        """The listener chose ``path`` (Enter): it becomes the current song (even a broken one:
        it is tried again), and the count of failures in a row starts again."""
        self.failures_in_a_row = 0
        self._record(path)
        return path

    def next(self, *, at_end: bool = False, fallback_index: int | None = None) -> str | None:
        """The song after the current one (and make it current), or None: the end of the list.

        ``at_end`` is True when the current song finished by itself (repeat one replays it).
        ``fallback_index`` is where to go on from in the list when the current song is not in it
        (filtered out): the index of the highlighted row.
        """
        current = self.current
        if at_end and self.repeat is Repeat.ONE and current is not None:
            return current
        while self._position + 1 < len(self._history):  # after "previous": forward again through history
            self._position += 1
            if not self.is_broken(self._history[self._position]):
                return self._history[self._position]
        while self.queue:
            queued = self.queue.pop(0)
            if not self.is_broken(queued):
                return self._record(queued)
        if self.station is not None:
            for _ in range(STATION_TRIES):
                offered = self.station.next()
                if offered is None:
                    return None
                if not self.is_broken(offered):
                    return self._record(offered)
            return None
        chosen = self._next_shuffled() if self.shuffle else self._next_in_order(current, fallback_index)
        return self._record(chosen) if chosen is not None else None

    def previous(self) -> str | None:
        """The song that played before the current one (and make it current), or None."""
        if self._position <= 0:
            return None
        self._position -= 1
        return self._history[self._position]

    def _next_in_order(self, current: str | None, fallback_index: int | None) -> str | None:
        if not self._list:
            return None
        index = self._list_index.get(current) if current is not None else None
        if index is None:
            index = (fallback_index - 1) if fallback_index is not None else -1
        for _ in range(len(self._list)):
            index += 1
            if index >= len(self._list):
                if self.repeat is not Repeat.ALL:
                    return None
                index = 0
            index = max(index, 0)
            if not self.is_broken(self._list[index]):
                return self._list[index]
        return None  # every song of the list is broken

    def _next_shuffled(self) -> str | None:
        playable = [path for path in self._list if not self.is_broken(path)]
        candidates = [path for path in playable if path not in self._shuffle_played]
        if not candidates:
            if self.repeat is not Repeat.ALL or not playable:
                return None
            self._shuffle_played.clear()  # a new round; not the song that just played, if there is a choice
            candidates = [path for path in playable if path != self.current] or playable
        return self._rng.choice(candidates)

    def _record(self, path: str) -> str:
        del self._history[self._position + 1 :]  # a new choice forgets the songs "previous" stepped back over
        self._history.append(path)
        if len(self._history) > HISTORY_LIMIT:
            del self._history[: len(self._history) - HISTORY_LIMIT]
        self._position = len(self._history) - 1
        self._shuffle_played.add(path)
        return path

    def status_words(self) -> list[str]:
        """What the status line says of the order: the station, the queue, shuffle, repeat."""
        words = [f"📻 {self.station.name}"] if self.station is not None else []
        words += [f"queue {len(self.queue)}"] if self.queue else []
        words += ["shuffle"] if self.shuffle else []
        words += [f"repeat {self.repeat.value}"] if self.repeat is not Repeat.OFF else []
        return words

    def set_shuffle(self, on: bool) -> None:
        """Shuffle on or off; turning it on starts a new round (the playing song counts as played)."""
        self.shuffle = on
        self._shuffle_played = {self.current} if self.current is not None else set()

    def forget(self, keep: Callable[[str], bool]) -> None:
        """Drop queued songs for which ``keep`` is false (removed from the library)."""
        self.queue = [path for path in self.queue if keep(path)]

    # -- the queue --------------------------------------------------------------------------------

    def enqueue(self, path: str) -> int:
        """Add ``path`` at the end of the queue; returns its place (1 = next)."""
        self.queue.append(path)
        return len(self.queue)

    def move_in_queue(self, index: int, step: int) -> int:
        """Move queue entry ``index`` by ``step`` places (clamped); returns its new index."""
        if not 0 <= index < len(self.queue):
            return index
        target = min(max(index + step, 0), len(self.queue) - 1)
        self.queue.insert(target, self.queue.pop(index))
        return target

    def remove_from_queue(self, index: int) -> str | None:
        if 0 <= index < len(self.queue):
            return self.queue.pop(index)
        return None

    def clear_queue(self) -> int:
        """Empty the queue; returns how many songs it held."""
        count = len(self.queue)
        self.queue.clear()
        return count
