"""The listener's say in what plays next: the queue, shuffle, repeat and the mood radio, with their notices.

:class:`OrderKeeper` turns the keys into changes of ``moodtui.player.order.PlayOrder`` and tells the
listener what changed in one line. A station asked for before the library and its moods are in
(``moodtui --radio``, or a key pressed during the first scan) waits in ``StartUp.station`` and starts
once they are: tuning in earlier would find no songs of the mood and say so wrongly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moodtui.library.view import TrackRow
from moodtui.player.radio import station_for

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class OrderKeeper:
    """Queue, shuffle, repeat and station changes, each with its notice (see the module docstring)."""

    def __init__(self, app: MoodApp) -> None:
        self.player_app = app

    def queue_add(self, row: TrackRow | None) -> None:
        if row is None:
            return
        app = self.player_app
        place = app.order.enqueue(row.path)
        app.show_notice(f"“{row.track.title}” queued: " + ("plays next" if place == 1 else f"{place} in the queue"))
        app.update_status()

    def toggle_shuffle(self) -> None:
        app, order = self.player_app, self.player_app.order
        order.set_shuffle(not order.shuffle)
        on = "shuffle on: every track of the list once, in random order"
        app.show_notice(on if order.shuffle else "shuffle off: the list in order")
        app.update_status()

    def next_repeat(self) -> None:
        app, order = self.player_app, self.player_app.order
        order.repeat = order.repeat.next()
        app.show_notice(f"repeat {order.repeat.value}")
        app.update_status()

    def library_known(self) -> bool:
        """Scan, labels and cached moods are in (without a model: scan and labels)."""
        app = self.player_app
        moods_in = app.moods_version is not None or app.model_state == "missing"
        return app.scan_done and app.label_keeper.loaded and moods_in

    def start_pending_station(self) -> None:
        """A station asked for before the library and its moods were in (``--radio``)."""
        station = self.player_app.start_up.station
        if station is not None and self.library_known():
            self.start_station(station)

    def start_station(self, choice: str | None) -> None:
        """Tune in station ``choice`` (a mood or a mood path id; "off" stops it) and play its first song."""
        if choice is None:
            return
        app = self.player_app
        if choice == "off":
            app.order.station = app.start_up.station = None
            app.show_notice("station off: the list plays on")
            app.update_status()
            return
        station = station_for(choice, app.view.song_facts)
        first = station.next()
        if first is None:
            if not self.library_known():
                app.start_up.station = choice  # started when the library and its moods are in
                return
            app.show_notice(
                f"{station.name}: no songs of that mood yet (label some, or let the analysis finish)",
                severity="warning",
            )
            return
        app.start_up.station = None
        app.order.station = station
        app.show_notice(f"{station.name}: on")
        app.play_row(app.view.by_path[first])
