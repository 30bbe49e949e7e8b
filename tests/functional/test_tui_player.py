"""The player's play order keys, mood radio, keymap and label-next loop, through Textual's Pilot."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_tui import SIZE, STANDARD_SONGS, make_library, play_title, run, screen_text, wait_settled, wait_until

from moodtui.config import Settings, parse_settings
from moodtui.listener.labels import LabelStore
from moodtui.tui.app import MoodApp
from moodtui.tui.screens.help import HelpScreen
from moodtui.tui.screens.label_next import LabelNextScreen
from moodtui.tui.screens.queue import QueueScreen
from moodtui.tui.screens.radio import RadioScreen


def row_titled(app: MoodApp, title: str):
    return next(row for row in app.view.rows if row.track.title == title)


# The standard songs a minute long each: a test that presses keys while one plays must not see it
# end and the next start (under a full CI run's load 5-7 s went by between starting a track and
# the keys that followed: a label went to the next row, a queued track was played off the queue).
LONG_SONGS = tuple((*song[:2], 60.0, *song[3:]) for song in STANDARD_SONGS)


def test_queue_keys_add_show_reorder_remove_clear(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music", LONG_SONGS)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await play_title(pilot, app, "Sunny Days")
            for title in ("Hum", "Night Drive", "Grey Morning"):
                app.track_list.move_to(row_titled(app, title))
                await pilot.press("a")
            assert [row_titled(app, t).path for t in ("Hum", "Night Drive", "Grey Morning")] == app.order.queue
            assert "“Hum” queued: plays next" in app.notices and "queue 3" in screen_text(app)
            await pilot.press("w")
            assert isinstance(app.screen, QueueScreen)
            await pilot.press("shift+down")  # Hum after Night Drive
            await pilot.press("d")  # the cursor moved with Hum: Hum out
            assert app.order.queue == [row_titled(app, t).path for t in ("Night Drive", "Grey Morning")]
            rows = [
                str(cell)
                for key in app.screen.query_one("#queue-table").rows
                for cell in app.screen.query_one("#queue-table").get_row(key)
            ]
            assert "Night Drive" in rows and "Grey Morning" in rows and "Hum" not in rows
            await pilot.press("escape")
            await pilot.press("right_square_bracket")
            await wait_until(pilot, lambda: app.playing.track.title == "Night Drive" and not app.opening, "the queue")
            await pilot.press("w", "c", "escape")
            assert app.order.queue == [] and "queue cleared (1 track)" in app.notices
            await pilot.press("left_square_bracket")  # back through what played
            await wait_until(pilot, lambda: app.playing.track.title == "Sunny Days", "previous")

    run(scenario)


def test_shuffle_and_repeat_keys_and_repeat_one_replays(model_env: Path, tmp_path: Path) -> None:
    songs = [(f"{i} short.ogg", "neutral", 2.5, f"Short {i}", "S", "T") for i in range(3)]
    library = make_library(tmp_path / "music", songs)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await pilot.press("z")
            assert app.order.shuffle and "shuffle" in screen_text(app)
            await pilot.press("z")
            assert not app.order.shuffle
            await pilot.press("r")
            assert "repeat all" in screen_text(app)
            await pilot.press("r")
            assert "repeat one" in screen_text(app)
            await play_title(pilot, app, "Short 2")
            first = app.playing
            await wait_until(pilot, lambda: app.player.position_s >= 1.5, "Short 2 to play on", 6)
            # Back near its start: the same song again (repeat one), not the end of the list.
            await wait_until(pilot, lambda: not app.opening and app.player.position_s < 1.0, "the end of Short 2", 6)
            assert app.playing is first
            await pilot.press("r")  # off
            await wait_until(pilot, lambda: app.playing is None, "the end of the list", 6)

    run(scenario)


def test_cursor_follows_the_playing_track_when_set(model_env: Path, tmp_path: Path) -> None:
    songs = [(f"{i} short.ogg", "neutral", 2.5, f"Short {i}", "S", "T") for i in range(2)]
    library = make_library(tmp_path / "music", songs)

    async def scenario() -> None:
        app = MoodApp(library, settings=Settings(cursor_follows_playing=True))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await play_title(pilot, app, "Short 0")
            await wait_until(
                pilot, lambda: app.playing is not None and app.playing.track.title == "Short 1", "auto-advance", 6
            )
            assert app.track_list.highlighted is app.playing

    run(scenario)


def label_in_store(home: Path, library: Path, names: dict[str, str]) -> None:
    store = LabelStore(home / "labels.json")
    for name, mood in names.items():
        store.add_label(str(library / name), mood)


def test_radio_key_plays_own_labels_of_the_mood_first_never_twice(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    label_in_store(
        model_env,
        library,
        {
            "Alpha Band/Grey Morning.flac": "neutral",
            "Beta Crew/Hum.ogg": "neutral",
            "Alpha Band/Sunny Days.flac": "positive",
        },
    )

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("t")
            assert isinstance(app.screen, RadioScreen)
            await pilot.press("down", "enter")  # positive, neutral, ...
            await wait_until(pilot, lambda: app.playing is not None and not app.opening, "the station's first song")
            first = app.playing.track.title
            assert first in ("Grey Morning", "Hum") and "📻 neutral radio" in screen_text(app)
            await pilot.press("right_square_bracket")
            await wait_until(
                pilot,
                lambda: app.playing is not None and app.playing.track.title != first and not app.opening,
                "the station's second song",
            )
            assert {first, app.playing.track.title} == {"Grey Morning", "Hum"}

    run(scenario)


def test_radio_from_the_command_line_starts_playing(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    label_in_store(model_env, library, {"Beta Crew/Night Drive.ogg": "negative"})

    async def scenario() -> None:
        app = MoodApp(library, radio="negative")
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.playing is not None, "the station to start", 30)
            assert app.playing.track.title == "Night Drive" and app.order.station.name == "negative radio"

    run(scenario)


def test_a_remapped_key_works_the_old_one_does_not_and_help_shows_it(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music", LONG_SONGS)
    settings = parse_settings('[keys]\nlabel_positive = "P"\nquit = "Q"\n', tmp_path / "config.toml")

    async def scenario() -> None:
        app = MoodApp(library, settings=settings)
        async with app.run_test(size=(120, 80)) as pilot:  # tall: the whole help screen shows
            await wait_until(pilot, lambda: app.scan_done and app.label_keeper.loaded, "scan and labels")
            await play_title(pilot, app, "Hum")
            await pilot.press("p")
            await pilot.pause(0.3)
            assert app.playing.user_label is None  # p is no longer a label key
            await pilot.press("P")
            assert app.playing.user_label == "positive"
            await wait_until(
                pilot, lambda: any("“Hum” labelled positive · u undoes" in t for t in app.notices), "the label notice"
            )
            assert " P Positive" in screen_text(app)  # the footer shows the key in force
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            help_text = screen_text(app)
            assert re.search(r"│\s+P\s+label the playing song positive", help_text), help_text
            assert not re.search(r"│\s+p\s+label the playing song positive", help_text)
            await pilot.press("escape")
            await pilot.press("q")
            await pilot.pause(0.2)
            assert app.is_running
            await pilot.press("Q")
            await pilot.pause(0.2)
            assert not app.is_running

    run(scenario)


def test_a_preset_keeps_labels_off_the_peers_play_pause_keys(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music", LONG_SONGS)
    settings = parse_settings('keys = "cmus"\n', tmp_path / "config.toml")

    async def scenario() -> None:
        app = MoodApp(library, settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and app.label_keeper.loaded, "scan and labels")
            await play_title(pilot, app, "Hum")
            await pilot.press("c")  # cmus: pause
            assert app.player.is_paused
            await pilot.press("x")  # x plays in cmus: never a label here
            assert app.playing.user_label is None and not app.player.is_paused
            await pilot.press("X")
            assert app.playing.user_label == "negative"

    run(scenario)


def test_bad_config_lines_are_notices_and_defaults_stand(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    config = tmp_path / "config.toml"
    settings = parse_settings('theme = "no-such-theme"\nseek_step = 10\n[keys]\nfly = "f"\n', config)

    async def scenario() -> None:
        app = MoodApp(library, settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            assert any(t.startswith(f"{config}:1: no theme 'no-such-theme'") for t in app.notices), app.notices
            assert any(t.startswith(f"{config}:4: no key binding named 'fly'") for t in app.notices), app.notices
            assert app.settings.seek_step == 10

    run(scenario)


def test_label_next_loop_labels_inside_the_screen_and_plays_the_next_from_its_least_certain_part(
    model_env: Path, tmp_path: Path
) -> None:
    from moodtui.listener.label_next import least_certain_start

    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("l")
            screen = app.screen
            assert isinstance(screen, LabelNextScreen)
            table = screen.query_one("#label-next-table")
            await wait_until(
                pilot,
                lambda: table.row_count == 4 and app.playing is not None and not app.opening,
                "the first candidate playing",
            )
            first = app.playing
            mood = app.caches.loaded_analysis().get(first.path, app.model)
            start = least_certain_start(mood.slice_probs, mood.starts_s)
            assert screen.starts[first.path] == start
            assert app.player.position_s >= start - 0.1
            await pilot.press("n")
            assert first.user_label == "neutral" and table.row_count == 3
            await wait_until(pilot, lambda: app.playing is not first and not app.opening, "the next candidate")
            assert app.playing.path == next(iter(table.rows)).value
            await wait_until(
                pilot,
                lambda: LabelStore(model_env / "labels.json").label_for(first.path) is not None,
                "the label written",
            )

    run(scenario)


def test_no_preset_leaves_two_bindings_on_one_key() -> None:
    from moodtui.config import PRESETS
    from moodtui.tui.widgets.track_list import TrackList

    bindings = [b for b in (*MoodApp.BINDINGS, *TrackList.BINDINGS) if b.id]
    for name, preset in PRESETS.items():
        owner: dict[str, str] = {}
        for binding in bindings:
            for key in preset.get(binding.id, binding.key).split(","):
                assert key not in owner, f"preset {name}: {key!r} is both {owner[key]} and {binding.id}"
                owner[key] = binding.id


def test_a_saved_session_is_restored_paused_with_its_queue_station_filter_and_sort(
    model_env: Path, tmp_path: Path
) -> None:
    from moodtui.library.view import SortColumn
    from moodtui.player.session import Session, save_session

    library = make_library(tmp_path / "music")
    night, hum = str(library / "Beta Crew/Night Drive.ogg"), str(library / "Beta Crew/Hum.ogg")
    save_session(
        Session(
            track=night,
            position_s=3.0,
            volume=0.7,
            text_filter="beta",
            mood_filter="all",
            sort="title",
            sort_reverse=True,
            queue=[hum],
            shuffle=True,
            repeat="all",
            station={"kind": "mood", "mood": "negative", "played": [night]},
        )
    )

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.playing is not None and not app.opening, "the restored track")
            assert app.playing.path == night and app.player.is_paused
            assert abs(app.player.position_s - 3.0) < 0.2
            assert app.player.volume == 0.7 and app.order.queue == [hum]
            assert app.order.shuffle and app.order.repeat.value == "all"
            assert app.order.station.name == "negative radio" and night in app.order.station.played
            assert app.view.text_filter == "beta" and app.view.sort_column is SortColumn.TITLE and app.view.sort_reverse
            assert [row.track.title for row in app.track_list.rows] == ["Night Drive", "Hum"]
            assert "⏸" in screen_text(app) and "vol 70%" in screen_text(app)
            await pilot.press("q")
        saved = json.loads((model_env / "session.json").read_text(encoding="utf-8"))
        assert saved["track"] == night and saved["queue"] == [hum] and saved["station"]["mood"] == "negative"

    run(scenario)


def test_resume_off_and_playing_settings(model_env: Path, tmp_path: Path) -> None:
    from moodtui.player.session import Session, save_session

    library = make_library(tmp_path / "music")
    hum = str(library / "Beta Crew/Hum.ogg")

    async def scenario(resume: str) -> None:
        save_session(Session(track=hum, position_s=1.0))
        app = MoodApp(library, settings=Settings(resume=resume))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            if resume == "off":
                await pilot.pause(0.3)
                assert app.playing is None
            else:
                await wait_until(pilot, lambda: app.playing is not None and not app.opening, "the restored track")
                assert not app.player.is_paused

    run(lambda: scenario("off"))
    run(lambda: scenario("playing"))


def test_a_bad_session_file_is_moved_aside_with_a_notice(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    (model_env / "session.json").write_text("{broken", encoding="utf-8")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            assert any("session.json: not valid JSON" in t and "moved aside" in t for t in app.notices), app.notices
            assert app.playing is None
        assert any(p.name.startswith("session.json.bad-") for p in model_env.iterdir())

    run(scenario)


def test_the_palette_shows_the_keys_in_force(model_env: Path, tmp_path: Path) -> None:
    from moodtui.tui.commands import PlayerCommands

    library = make_library(tmp_path / "music")
    settings = parse_settings('[keys]\nshuffle = "F"\n', tmp_path / "config.toml")

    async def scenario() -> None:
        app = MoodApp(library, settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            provider = PlayerCommands(app.screen)
            texts = {name: text for name, text, _ in provider._commands()}
            assert texts["Shuffle on / off"].endswith("· key F")
            assert texts["Add to the queue"].endswith("· key a")
            await pilot.press("F")
            assert app.order.shuffle

    run(scenario)


def test_every_binding_has_a_stable_id_for_the_keymap() -> None:
    from textual.binding import Binding

    from moodtui.tui.bindings import binding_list
    from moodtui.tui.widgets.track_list import TrackList

    missing = [
        b.key if isinstance(b, Binding) else b
        for b in (*MoodApp.BINDINGS, *TrackList.BINDINGS)
        if not isinstance(b, Binding) or not b.id
    ]
    assert not missing, f"bindings without an id cannot be remapped in config.toml: {missing}"
    ids = [b.id for b in binding_list()]
    assert len(ids) == len(set(ids)) + 3  # the label-next screen shares the three label ids with the app


def test_radio_without_a_model_plays_the_listeners_labels(home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(tmp_path / "no-such-model.onnx"))
    library = make_library(tmp_path / "music")
    label_in_store(home, library, {"Alpha Band/Sunny Days.flac": "positive"})

    async def scenario() -> None:
        app = MoodApp(library, radio="positive")
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.playing is not None, "the station to start")
            assert app.model_state == "missing" and app.playing.track.title == "Sunny Days"

    run(scenario)
