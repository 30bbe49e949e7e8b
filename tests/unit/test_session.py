"""The saved session (resume): round trip, and a bad file moved aside with one line (no Textual)."""

from __future__ import annotations

import json
from pathlib import Path

from moodtui.player.session import Session, load_session, save_session


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
