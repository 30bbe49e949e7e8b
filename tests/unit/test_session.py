"""The saved session (resume): round trip, and a bad file moved aside with one line (no Textual)."""

from __future__ import annotations

import json
from pathlib import Path

from moodtui.player.session import Session, load_session, restore_session, save_session, session_of


def test_a_session_round_trips_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    session = Session(
        track="/music/ä.ogg",
        position_s=12.5,
        volume=0.6,
        text_filter="night",
        mood_filter="negative",
        sort="title",
        sort_reverse=True,
        queue=["/music/b.ogg"],
        station={"kind": "mood", "mood": "positive", "played": ["/music/c.ogg"]},
        shuffle=True,
        repeat="all",
    )
    save_session(session, path)
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]
    assert load_session(path) == (session, None)
    assert load_session(tmp_path / "none.json") == (None, None)


def test_a_session_file_that_does_not_load_is_moved_aside_with_one_line(tmp_path: Path) -> None:
    for text, cause in (
        ("{not json", "not valid JSON"),
        ('{"format": 1, "volume": "loud"}', "volume is 'loud'"),
        ("[1, 2]", "not a moodtui session"),
        (b"\xff\xfe", "not UTF-8 text"),
    ):
        path = tmp_path / "session.json"
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        session, notice = load_session(path)
        assert session is None and not path.exists()
        aside = [p for p in tmp_path.iterdir() if p.name.startswith("session.json.bad-")]
        assert len(aside) == 1 and notice.startswith(f"{path}: {cause}")
        assert f"moved aside to {aside[0].name}, starting a new session" in notice
        aside[0].unlink()
    json.loads(Session().to_json())


def test_the_view_and_play_order_round_trip_through_a_session() -> None:
    from moodtui.library.view import LibraryView, SortColumn
    from moodtui.player.order import PlayOrder, Repeat
    from moodtui.player.radio import MoodStation

    view, order = LibraryView(), PlayOrder()
    view.text_filter, view.mood_filter, view.sort_column, view.sort_reverse = (
        "night",
        "negative",
        SortColumn.TITLE,
        True,
    )
    order.queue = ["/music/b.ogg"]
    order.set_shuffle(True)
    order.repeat = Repeat.ALL
    order.station = MoodStation("positive", view.song_facts, played=["/music/c.ogg"])
    session = session_of(view, order, "/music/a.ogg", 12.5, 0.6)
    assert (session.track, session.position_s, session.volume, session.sort, session.repeat) == (
        "/music/a.ogg", 12.5, 0.6, "title", "all"
    )  # fmt: skip
    assert session_of(view, order, None, 12.5, 0.6).position_s == 0.0  # nothing playing: no position

    fresh_view, fresh_order = LibraryView(), PlayOrder()
    restore_session(Session.from_json(session.to_json()), fresh_view, fresh_order)
    assert (fresh_view.text_filter, fresh_view.mood_filter, fresh_view.sort_column, fresh_view.sort_reverse) == (
        "night", "negative", SortColumn.TITLE, True
    )  # fmt: skip
    assert (fresh_order.queue, fresh_order.shuffle, fresh_order.repeat) == (["/music/b.ogg"], True, Repeat.ALL)
    assert isinstance(fresh_order.station, MoodStation) and fresh_order.station.played == {"/music/c.ogg"}


def test_a_session_from_another_version_falls_back_on_the_defaults() -> None:
    from moodtui.library.view import LibraryView, SortColumn
    from moodtui.player.order import PlayOrder, Repeat

    view, order = LibraryView(), PlayOrder()
    restore_session(Session(mood_filter="joyful", sort="tempo", repeat="twice", station={"kind": "bpm"}), view, order)
    assert (view.mood_filter, view.sort_column, order.repeat, order.station) == (
        "all", SortColumn.LIBRARY, Repeat.OFF, None
    )  # fmt: skip


def test_start_up_plays_the_named_file_over_the_session_once_the_scan_finds_it() -> None:
    from moodtui.player.session import StartTrack, StartUp

    start = StartUp("/music/b.ogg", station="positive")
    start.resume(Session(track="/music/a.ogg", position_s=30.0))  # the named file wins
    assert start.track_to_start({"/music/a.ogg"}, scan_done=False) is None  # not scanned yet
    assert start.track_to_start({"/music/a.ogg", "/music/b.ogg"}, scan_done=False) == StartTrack("/music/b.ogg")
    assert start.track_to_start({"/music/a.ogg", "/music/b.ogg"}, scan_done=True) is None  # once
    assert start.station == "positive"  # kept until the App has a station on

    missing = StartUp("/music/hidden/.c.ogg")
    assert missing.track_to_start(set(), scan_done=True) == StartTrack("/music/hidden/.c.ogg", missing=True)


def test_start_up_resumes_the_session_track_at_its_position_unless_it_is_gone() -> None:
    from moodtui.player.session import StartTrack, StartUp

    start = StartUp()
    start.resume(Session(track="/music/a.ogg", position_s=30.0))
    assert start.track_to_start(set(), scan_done=False) is None
    assert start.track_to_start({"/music/a.ogg"}, scan_done=False) == StartTrack("/music/a.ogg", 30.0, resumed=True)
    assert start.track_to_start({"/music/a.ogg"}, scan_done=True) is None

    gone = StartUp()
    gone.resume(Session(track="/music/deleted.ogg", position_s=3.0))
    assert gone.track_to_start({"/music/a.ogg"}, scan_done=True) is None
    assert gone.resume_track is None  # given up: nothing to resume
    nothing = StartUp()
    nothing.resume(Session())
    assert nothing.track_to_start({"/music/a.ogg"}, scan_done=True) is None
