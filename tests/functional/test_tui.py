"""The player, driven through Textual's Pilot: real audio files, the real small model, real stores.

Playback runs on miniaudio's null backend here (no sound card), which keeps time like a device,
so positions advance and tracks end as they would with sound.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import pytest

from audio_factory import write_song
from moodtui import CLASSES
from moodtui.library.view import SortColumn
from moodtui.listener.labels import LabelStore
from moodtui.mood.model import UNSURE_BELOW
from moodtui.tui.app import MoodApp
from moodtui.tui.screens.errors import ErrorsScreen
from moodtui.tui.screens.help import HelpScreen
from moodtui.tui.screens.label_next import LabelNextScreen
from moodtui.tui.screens.models import ModelsScreen
from moodtui.tui.widgets.track_list import MARKER_WIDTH, TrackHeader, column_widths

SIZE = (110, 34)

# (file below the library, synthesised mood, seconds, title, artist, album)
STANDARD_SONGS = (
    ("Alpha Band/Sunny Days.flac", "positive", 7.0, "Sunny Days", "Alpha Band", "Bright"),
    ("Alpha Band/Grey Morning.flac", "neutral", 6.0, "Grey Morning", "Alpha Band", "Bright"),
    ("Beta Crew/Night Drive.ogg", "negative", 8.0, "Night Drive", "Beta Crew", "Dark"),
    ("Beta Crew/Hum.ogg", "neutral", 5.0, "Hum", "Beta Crew", "Dark"),
)


def make_library(root: Path, songs=STANDARD_SONGS) -> Path:
    """Write tagged songs below ``root``; returns ``root``."""
    for seed, (name, kind, seconds, title, artist, album) in enumerate(songs):
        path = write_song(root / name, kind, seconds, seed=seed)
        tags = mutagen.File(path, easy=True)
        tags["title"], tags["artist"], tags["album"] = title, artist, album
        tags.save()
    return root


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


async def wait_until(pilot, predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


def settled(app: MoodApp) -> bool:
    """Scan done, model and labels loaded, every track analysed (or failed)."""
    if not app.scan_done or app.model_state == "loading" or not app.label_keeper.loaded:
        return False
    if app.model is not None and app.moods_version != app.model.version:
        return False
    if app.model_state == "ready" and any(row.predicted is None and row.error is None for row in app.view.rows):
        return False
    return app.analysis.progress is None


async def wait_settled(pilot, app: MoodApp, timeout: float = 30.0) -> None:
    try:
        await wait_until(pilot, lambda: settled(app), "the library to be scanned and analysed", timeout)
    except AssertionError as error:
        pending = [row.track.title for row in app.view.rows if row.predicted is None and row.error is None]
        raise AssertionError(
            f"{error}: scan_done={app.scan_done} model_state={app.model_state} store={app.label_keeper.loaded} "
            f"moods_version={app.moods_version} model={app.model and app.model.version} pending={pending} "
            f"progress={app.analysis.progress} workers={[(w.group, w.state.name) for w in app.workers]} "
            f"notices={app.notices}"
        ) from None


def table_lines(app: MoodApp) -> list[str]:
    """The track table's rows as rendered on screen."""
    tracks = app.track_list
    return [tracks.render_line(y).text for y in range(min(len(tracks.rows), tracks.size.height))]


def screen_text(app: MoodApp) -> str:
    """The whole screen as text (the active screen, modal screens included)."""
    update = app.screen._compositor.render_full_update()
    return "\n".join("".join(chop.text for chop in line) for line in update.strips)


def row_line(app: MoodApp, title: str) -> str:
    lines = [line for line in table_lines(app) if title in line]
    assert lines, (
        f"{title!r} not in the table: {table_lines(app)}; {len(app.track_list.rows)} rows shown, "
        f"{len(app.view.rows)} scanned, table size {app.track_list.size}, notices {app.notices}"
    )
    return lines[0]


async def play_title(pilot, app: MoodApp, title: str) -> None:
    """Highlight the row titled ``title``, press Enter and wait until it plays."""
    row = next(row for row in app.view.visible if row.track.title == title)
    assert app.track_list.move_to(row)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.playing is row and not app.opening, f"{title} to start")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return make_library(tmp_path / "music")


# -- start-up, table, analysis ---------------------------------------------------------------------


def test_table_fills_and_shows_moods_that_persist_across_starts(model_env: Path, library: Path) -> None:
    first: dict[str, np.ndarray] = {}

    async def first_start() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert sorted(row.track.title for row in app.view.rows) == sorted(s[3] for s in STANDARD_SONGS)
            for row in app.view.rows:
                assert row.predicted is not None and row.predicted.shape == (3,)
                line = row_line(app, row.track.title)
                if row.confidence < UNSURE_BELOW:
                    assert f"unsure ({row.predicted_label}?)" in line
                else:
                    assert f"{row.predicted_label} {100 * row.confidence:.0f}%" in line
                assert row.track.artist in line and row.track.album in line
                first[row.path] = row.predicted
            assert "Sunny Days" in screen_text(app) and f"model {app.model.version}" in screen_text(app)

    async def second_start() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            # The cached moods arrive in one query, before any background analysis could run.
            await wait_until(
                pilot, lambda: app.scan_done and all(r.predicted is not None for r in app.view.rows), "cached moods"
            )
            for row in app.view.rows:
                np.testing.assert_allclose(row.predicted, first[row.path], atol=2e-3)  # float16 in the cache

    run(first_start)
    run(second_start)


def test_demo_library_opens_with_a_notice_when_music_folder_is_missing(
    model_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moodtui.library.scan import resolve_library_dir

    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    folder, notice = resolve_library_dir(None)

    async def scenario() -> None:
        app = MoodApp(folder, notice=notice)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            assert any("demo library" in text for text in app.notices)

    run(scenario)


# -- playback ---------------------------------------------------------------------------------------


def test_play_pause_resume_and_first_slice(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and app.model is not None, "scan and model")
            await play_title(pilot, app, "Night Drive")
            await wait_until(pilot, lambda: app.now_playing.current_slice >= 0, "the first slice on screen")
            panel = app.now_playing.plain_text()
            assert "Night Drive" in panel and "slice 1/" in panel
            assert all(mood in panel for mood in CLASSES)

            start = app.player.position_s
            await wait_until(pilot, lambda: app.player.position_s > start + 0.4, "the position to advance")
            assert "▶ 0:0" in screen_text(app)  # the status line shows position / duration

            await pilot.press("space")
            assert app.player.is_paused
            held = app.player.position_s
            await pilot.pause(0.5)
            assert app.player.position_s == pytest.approx(held, abs=0.05)
            assert "⏸" in app.now_playing.plain_text()

            await pilot.press("space")
            assert not app.player.is_paused
            await wait_until(pilot, lambda: app.player.position_s > held + 0.3, "playback to resume")
            assert any("no sound device" in text for text in app.notices) == bool(app.player.backend_is_null)

    run(scenario)


def test_seek_moves_playhead_and_current_slice(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music", [("long.flac", "positive", 14.0, "Long One", "A", "B")])

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and app.model is not None, "scan and model")
            await play_title(pilot, app, "Long One")
            await wait_until(pilot, lambda: app.now_playing.song is not None, "the whole song analysed")
            await pilot.press("space")  # paused: the position only moves when we seek
            panel = app.now_playing
            before_cell, before_slice = panel._playhead_cell(), panel.current_slice
            before = app.player.position_s
            await pilot.press("right")
            assert app.player.position_s == pytest.approx(before + 5, abs=0.3)
            assert panel.current_slice == before_slice + 1
            assert panel._playhead_cell() > before_cell
            assert f"slice {before_slice + 2}/5" in panel.plain_text()
            await pilot.press("right")
            assert panel.current_slice == before_slice + 3
            await pilot.press("left", "left")
            assert app.player.position_s == pytest.approx(before, abs=0.3)
            assert panel._playhead_cell() == before_cell

    run(scenario)


def test_volume_keys(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await play_title(pilot, app, "Hum")
            assert app.player.volume == pytest.approx(1.0)
            await pilot.press("minus", "minus", "minus")
            assert app.player.volume == pytest.approx(0.85)
            assert "vol 85%" in screen_text(app)
            await pilot.press("plus")
            assert app.player.volume == pytest.approx(0.90)
            await pilot.press("equals_sign", "plus", "plus")
            assert app.player.volume == pytest.approx(1.0)  # clamped
            assert "vol 100%" in screen_text(app)

    run(scenario)


def test_next_previous_and_auto_advance_to_the_end_of_the_list(model_env: Path, tmp_path: Path) -> None:
    songs = [(f"{i} short.ogg", "neutral", 2.5, f"Short {i}", "S", "T") for i in range(3)]
    library = make_library(tmp_path / "music", songs)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await play_title(pilot, app, "Short 0")
            await pilot.press("right_square_bracket")
            await wait_until(pilot, lambda: app.playing.track.title == "Short 1" and not app.opening, "next")
            await pilot.press("left_square_bracket")
            await wait_until(pilot, lambda: app.playing.track.title == "Short 0" and not app.opening, "previous")
            assert "▶ Short 0" in screen_text(app).replace("  ", " ")
            # Each track is 2.5 s long: the player goes on to the next, then stops at the end.
            await wait_until(
                pilot,
                lambda: app.playing is not None and app.playing.track.title == "Short 1",
                "auto-advance to Short 1",
                timeout=5,
            )
            await wait_until(
                pilot,
                lambda: app.playing is not None and app.playing.track.title == "Short 2",
                "auto-advance to Short 2",
                timeout=5,
            )
            await wait_until(pilot, lambda: app.playing is None, "the end of the list", timeout=5)
            assert "end of the list" in app.notices

    run(scenario)


# -- filters and sorting ----------------------------------------------------------------------------


def test_text_filter_as_you_type_escape_clears(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await pilot.press("slash", *"beta")
            assert sorted(row.track.title for row in app.view.visible) == ["Hum", "Night Drive"]
            assert len(table_lines(app)) == 2
            await pilot.press("space", *"night")  # words must all match, in any field
            assert [row.track.title for row in app.view.visible] == ["Night Drive"]
            assert "filter “beta night”" in screen_text(app)
            await pilot.press("escape")
            assert len(app.view.visible) == 4 and app.view.text_filter == ""
            assert not app.query_one("#filter").display and app.track_list.has_focus
            # Enter keeps the filter and goes back to the table, where keys act on tracks again.
            await pilot.press("slash", *"grey", "enter")
            assert [row.track.title for row in app.view.visible] == ["Grey Morning"]
            assert app.track_list.has_focus
            await pilot.press("enter")
            await wait_until(
                pilot,
                lambda: app.playing is not None and app.playing.track.title == "Grey Morning",
                "the filtered track to play",
            )

    run(scenario)


def test_keys_typed_in_a_burst_after_slash_go_to_the_filter(model_env: Path, library: Path) -> None:
    """A terminal delivers "/beta q" typed fast (or pasted) in one read: every key is filter text."""
    from textual import events

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            for character in "/beta q":
                key = {"/": "slash", " ": "space"}.get(character, character)
                app.post_message(events.Key(key, character))  # no pause in between, as from the driver
            await wait_until(pilot, lambda: app.view.text_filter == "beta q", "the filter text")
            assert app.is_running and app.filter_input.value == "beta q"

    run(scenario)


def test_mood_filter_keys_use_own_labels_first(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            hum = next(row for row in app.view.rows if row.track.title == "Hum")
            # Label Hum as the class the model does NOT predict for it: the filter must follow the label.
            own = next(mood for mood in CLASSES if mood != hum.predicted_label)
            await play_title(pilot, app, "Hum")
            await pilot.press({"positive": "p", "neutral": "n", "negative": "x"}[own])
            await wait_until(pilot, lambda: hum.user_label == own, "the label")
            for key, mood in (("1", "positive"), ("2", "neutral"), ("3", "negative")):
                await pilot.press(key)
                expected = {row.track.title for row in app.view.rows if row.mood == mood}
                assert {row.track.title for row in app.view.visible} == expected
                assert ("Hum" in expected) == (mood == own)
                for line in table_lines(app):
                    assert mood in line
                assert f"mood: {mood}" in screen_text(app)
            await pilot.press("0")
            assert len(app.view.visible) == 4

    run(scenario)


def test_sort_key_cycles_and_header_click_sorts(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            titles = lambda: [row.track.title for row in app.view.visible]  # noqa: E731
            await pilot.press("s")
            assert app.view.sort_column is SortColumn.TITLE
            assert titles() == ["Grey Morning", "Hum", "Night Drive", "Sunny Days"]
            assert "Title ▲" in screen_text(app)
            assert [line.strip().split("  ")[0] for line in table_lines(app)] == titles()
            await pilot.press("S")
            assert titles() == ["Sunny Days", "Night Drive", "Hum", "Grey Morning"]
            await pilot.press("s", "s", "s")
            assert app.view.sort_column is SortColumn.DURATION
            assert titles() == ["Hum", "Grey Morning", "Sunny Days", "Night Drive"]
            await pilot.press("s")
            assert app.view.sort_column is SortColumn.MOOD
            moods = [CLASSES.index(row.mood) for row in app.view.visible]
            assert moods == sorted(moods)
            await pilot.press("s")
            assert app.view.sort_column is SortColumn.ENERGY
            energies = [row.energy for row in app.view.visible]
            # The small test model has the energy output: every analysed song has a figure.
            assert None not in energies and energies == sorted(energies)

            header = app.query_one(TrackHeader)
            title_width = column_widths(header.content_size.width)[0]
            artist_x = MARKER_WIDTH + title_width + 2
            await pilot.click(TrackHeader, offset=(artist_x, 0))
            assert app.view.sort_column is SortColumn.ARTIST and not app.view.sort_reverse
            assert [row.track.artist for row in app.view.visible] == ["Alpha Band"] * 2 + ["Beta Crew"] * 2
            await pilot.click(TrackHeader, offset=(artist_x, 0))
            assert app.view.sort_reverse
            assert [row.track.artist for row in app.view.visible] == ["Beta Crew"] * 2 + ["Alpha Band"] * 2

    run(scenario)


# -- screens ----------------------------------------------------------------------------------------


def test_help_screen_lists_every_key(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=(140, 80)) as pilot:
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            text = screen_text(app)
            for binding in app.BINDINGS:
                assert binding.tooltip in text, binding.tooltip
            assert "play the highlighted track" in text and "command palette" in text
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)

    run(scenario)


def test_command_palette_offers_the_main_actions(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("ctrl+p", *"label next")
            await pilot.pause(0.3)
            assert "Label next" in screen_text(app)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, LabelNextScreen), "the label-next screen")

    run(scenario)


def test_label_next_lists_unsure_unlabelled_songs_and_enter_plays_one(model_env: Path, library: Path) -> None:
    from moodtui.listener.label_next import uncertainty

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await play_title(pilot, app, "Sunny Days")
            await pilot.press("p")
            await wait_until(
                pilot, lambda: "Sunny Days" in {r.track.title for r in app.view.rows if r.user_label}, "the label"
            )
            await pilot.press("l")
            screen = app.screen
            assert isinstance(screen, LabelNextScreen)
            table = screen.query_one("#label-next-table")
            await wait_until(pilot, lambda: table.row_count == 3, "three unlabelled songs ranked")
            expected = sorted(
                (row for row in app.view.rows if row.user_label is None), key=lambda row: -uncertainty(row.predicted)
            )
            assert [key.value for key in table.rows] == [row.path for row in expected]
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.playing is expected[0] and not app.opening, "the chosen song")

    run(scenario)


def test_models_screen_rolls_back_and_reloads(model_env: Path, library: Path, small_model: Path) -> None:
    from moodtui.mood.versions import current_name

    # A second real version: the small model under another version name.
    version_dir = model_env / "models" / "20990101-000000"
    version_dir.mkdir(parents=True)
    shutil.copy(small_model, version_dir / "model.onnx")
    meta = json.loads(small_model.with_suffix(".json").read_text())
    meta["version"] = "20990101-000000"
    (version_dir / "model.json").write_text(json.dumps(meta))

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            base_version = app.model.version
            await pilot.press("m")
            screen = app.screen
            assert isinstance(screen, ModelsScreen)
            table = screen.query_one("#models-table")
            await wait_until(pilot, lambda: table.row_count == 2, "two versions listed")
            assert "base" in screen_text(app) and "20990101-000000" in screen_text(app)
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: app.model.version == "20990101-000000", "the rolled-back model")
            assert current_name() == "20990101-000000"
            await wait_settled(pilot, app)  # moods under the new version (rescored from embeddings)
            assert all(row.predicted is not None for row in app.view.rows)
            assert "model 20990101-000000" in screen_text(app)
            await pilot.press("m")
            await wait_until(pilot, lambda: app.screen.query_one("#models-table").row_count == 2, "versions")
            await pilot.press("enter")  # the cursor starts on the version in use
            await pilot.pause(0.3)
            await pilot.press("m")
            await wait_until(pilot, lambda: app.screen.query_one("#models-table").row_count == 2, "versions")
            await pilot.press("up", "enter")
            await wait_until(pilot, lambda: app.model.version == base_version, "back to the base model")
            assert current_name() == "base"

    run(scenario)


# -- labels -----------------------------------------------------------------------------------------


def test_labels_are_written_to_the_store_shown_and_undone(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("p")
            assert any("play a song first" in text for text in app.notices)
            await play_title(pilot, app, "Grey Morning")
            row = app.playing
            await wait_until(pilot, lambda: app.now_playing.song is not None, "the analysis")
            store = LabelStore(model_env / "labels.json")

            def written(label: str) -> Callable[[], bool]:
                return lambda: getattr(store.label_for(row.path), "label", None) == label

            await pilot.press("p")
            assert row.user_label == "positive"  # shown at once, before the writer confirms
            await wait_until(pilot, written("positive"), "the positive label written")
            await wait_until(
                pilot,
                lambda: any("“Grey Morning” labelled positive · u undoes" in t for t in app.notices),
                "the label notice",
            )
            record = store.label_for(row.path)
            assert record.label == "positive" and record.model_version == app.model.version
            assert [record.model_probs[c] for c in CLASSES] == pytest.approx(
                app.now_playing.song.song_probs.tolist(), abs=1e-4
            )
            assert "● positive (you)" in row_line(app, "Grey Morning")
            assert "you: ● positive" in app.now_playing.plain_text()

            await pilot.press("n")
            await wait_until(pilot, lambda: row.user_label == "neutral", "the neutral label")
            await pilot.press("x")
            await wait_until(pilot, lambda: row.user_label == "negative", "the negative label")
            await wait_until(pilot, written("negative"), "the negative label written")
            assert "● negative (you)" in row_line(app, "Grey Morning")
            await wait_until(pilot, lambda: any("(was neutral)" in text for text in app.notices), "the was-notice")

            await pilot.press("u")
            await wait_until(pilot, lambda: row.user_label == "neutral", "undo to neutral")
            assert store.label_for(row.path).label == "neutral"
            await pilot.press("u", "u")
            await wait_until(pilot, lambda: row.user_label is None, "every label undone")
            assert store.label_for(row.path) is None
            assert f"{row.predicted_label} " in row_line(app, "Grey Morning")
            assert "(you)" not in row_line(app, "Grey Morning")
            await pilot.press("u")
            await wait_until(pilot, lambda: "nothing to undo" in app.notices, "the nothing-to-undo notice")
            assert len(store.history()) == 3 and all(r.undone for r in store.history())

    run(scenario)


def test_labels_typed_in_a_burst_are_written_in_key_order(model_env: Path, library: Path) -> None:
    from textual import events

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await play_title(pilot, app, "Night Drive")
            row = app.playing
            for key in "pxnxp":
                app.post_message(events.Key(key, key))
            store = LabelStore(model_env / "labels.json")
            await wait_until(pilot, lambda: len(store.history()) == 5, "five label events")
            assert [record.label for record in store.history()] == [
                "positive",
                "negative",
                "neutral",
                "negative",
                "positive",
            ]
            await wait_until(pilot, lambda: row.user_label == "positive", "the last label shown")

    run(scenario)


def test_a_file_name_that_is_not_utf8_plays_and_takes_a_label(model_env: Path, tmp_path: Path) -> None:
    library = tmp_path / "music"
    library.mkdir()
    name = os.fsdecode(b"caf\xe9 \xff song.flac")  # Latin-1 bytes: not valid UTF-8
    write_song(library / name, "positive", 5.0)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            (row,) = app.view.rows
            assert row.error is None and row.predicted is not None
            assert "caf\\xe9 \\xff song" in table_lines(app)[0]
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.playing is row and app.now_playing.current_slice >= 0, "playback")
            await pilot.press("n")
            store = LabelStore(model_env / "labels.json")
            await wait_until(
                pilot, lambda: getattr(store.label_for(library / name), "label", None) == "neutral", "the label written"
            )
            assert row.user_label == "neutral"
            assert "caf\\xe9 \\xff song" in screen_text(app)

    run(scenario)


def test_export_the_visible_list_as_a_playlist_from_the_command_palette(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("slash", *"alpha", "enter")
            await pilot.press("ctrl+p", *"export")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(
                pilot, lambda: any(text.startswith("wrote 2 tracks") for text in app.notices), "the export notice"
            )
            (playlist,) = (model_env / "playlists").glob("*.m3u")
            lines = playlist.read_text(encoding="utf-8").splitlines()
            assert lines[0] == "#EXTM3U"
            assert sorted(Path(line).name for line in lines if not line.startswith("#")) == [
                "Grey Morning.flac",
                "Sunny Days.flac",
            ]

    run(scenario)


def test_labels_from_another_process_show_at_start(model_env: Path, library: Path) -> None:
    LabelStore(model_env / "labels.json").add_label(library / "Beta Crew/Hum.ogg", "negative")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert "● negative (you)" in row_line(app, "Hum")

    run(scenario)


def test_a_labelled_song_moved_while_the_app_was_closed_shows_its_label_at_start(
    model_env: Path, library: Path
) -> None:
    LabelStore(model_env / "labels.json").add_label(library / "Beta Crew/Hum.ogg", "negative")
    (library / "Moved Away").mkdir()
    (library / "Beta Crew/Hum.ogg").rename(library / "Moved Away/Hum (remaster).ogg")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await wait_until(pilot, lambda: "● negative (you)" in row_line(app, "Hum"), "the moved song's label")
            assert any("1 labelled song found under a new name or folder" in text for text in app.notices)
        # The store followed the file: the next start (or the CLI) finds it at its new path.
        [record] = LabelStore(model_env / "labels.json").current_labels()
        assert record.path == str(library / "Moved Away/Hum (remaster).ogg")

    run(scenario)


def test_retrain_with_too_few_labels_is_refused_with_a_message(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("R")
            await wait_until(pilot, lambda: not app.model_keeper.retraining, "the refusal")
            assert any("label at least 3 songs" in text for text in app.notices), app.notices
            assert not app.query_one("#retrain-progress").display

    run(scenario)


# -- bad input --------------------------------------------------------------------------------------


def test_broken_files_show_as_errors_and_playback_skips_them(model_env: Path, tmp_path: Path) -> None:
    library = tmp_path / "music"
    library.mkdir()
    (library / "a broken.mp3").write_bytes(b"\xff\xfb\x90\x00 this is not an mp3 file " * 50)
    (library / "b empty.wav").write_bytes(b"")
    (library / "c text.ogg").write_text("just text, not audio\n" * 20)
    write_song(library / "d short.wav", "neutral", 1.5)
    make_library(library, [("e good.flac", "positive", 6.0, "Good Song", "G", "H")])

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            errors = {row.track.path.name: row.error for row in app.view.rows if row.error}
            assert set(errors) == {"a broken.mp3", "b empty.wav", "c text.ogg", "d short.wav"}
            assert errors["b empty.wav"] == "empty file (0 bytes)"
            assert "too short" in errors["d short.wav"]
            for name in errors:
                assert "✗ error" in row_line(app, name.split(".")[0])
            assert "✗ error" not in row_line(app, "Good Song")
            # The reason of the highlighted broken file shows in the status line.
            assert f"a broken.mp3: {errors['a broken.mp3']}"[:40] in screen_text(app)

            await pilot.press("e")
            assert isinstance(app.screen, ErrorsScreen)
            text = screen_text(app)
            assert "4 files with errors" in text and "empty file" in text and "too short" in text
            await pilot.press("escape")

            await pilot.press("home", "enter")  # the broken mp3; the empty wav and the text file are known broken
            await wait_until(
                pilot,
                lambda: (
                    app.playing is not None
                    and not app.opening
                    and app.playing.track.path.name in ("d short.wav", "e good.flac")
                ),
                "a playable track",
            )
            cannot = [text for text in app.notices if text.startswith("cannot play")]
            assert len(cannot) == 1 and app.playing.track.path.name == "d short.wav", app.notices

    run(scenario)


def test_without_any_model_the_player_still_plays(home: Path, library: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(tmp_path / "no-such-model.onnx"))

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and app.model_state == "missing", "the missing model")
            assert any("model file missing" in text for text in app.notices)
            assert "no mood model" in screen_text(app)
            assert row_line(app, "Hum").rstrip().endswith("-")
            await play_title(pilot, app, "Hum")
            await wait_until(pilot, lambda: app.player.position_s > 0.2, "playback")
            assert "no mood model" in app.now_playing.plain_text()
            await pilot.press("l")
            assert any("nothing to rank" in text for text in app.notices)

    run(scenario)


def test_a_current_model_that_fails_to_load_falls_back_with_a_notice(model_env: Path, library: Path) -> None:
    from moodtui.mood.versions import set_current

    broken = model_env / "models" / "20300101-000000"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    (broken / "model.json").write_text("{}")
    set_current("20300101-000000")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert any("using the shipped base model" in text for text in app.notices), app.notices
            assert app.model is not None and all(row.predicted is not None for row in app.view.rows)

    run(scenario)


def test_an_unusable_cache_leaves_a_plain_player_with_a_notice(model_env: Path, library: Path) -> None:
    # A link into a folder that does not exist: sqlite cannot open it (a damaged file would be replaced).
    (model_env / "cache.sqlite").symlink_to(model_env / "gone" / "cache.sqlite")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and app.model_state == "missing", "start-up")
            assert len(app.view.rows) == 4
            assert any("cannot open the cache" in text for text in app.notices), app.notices
            await play_title(pilot, app, "Hum")
            await wait_until(pilot, lambda: app.player.position_s > 0.2, "playback")

    run(scenario)


def test_a_corrupt_labels_database_is_recovered_with_a_notice(model_env: Path, library: Path) -> None:
    (model_env / "labels.json").write_text("{ this is not json")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert any("was unreadable" in text and "started a new one" in text for text in app.notices)
            await play_title(pilot, app, "Hum")
            await pilot.press("x")
            await wait_until(pilot, lambda: app.playing.user_label == "negative", "a label in the new database")

    run(scenario)


# -- quitting ---------------------------------------------------------------------------------------


def test_quit_while_workers_run_exits_promptly(model_env: Path, tmp_path: Path) -> None:
    # Twenty 2-minute songs (wav: quick to write): several seconds of analysis left when q is pressed.
    library = tmp_path / "music"
    for i in range(20):
        write_song(library / f"Long {i:02d}.wav", "neutral", 120.0, seed=i)
    timing: dict[str, float] = {}

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.analysis.progress is not None, "the background analysis")
            assert app.analysis.progress[0] <= 5
            await pilot.press("end")  # the last song: the library analyses it last
            timing["q"] = time.monotonic()
            await pilot.press("enter", "q")  # quit while its analysis and the library's run

    run(scenario)
    # asyncio.run returns once every worker thread has finished.
    assert time.monotonic() - timing["q"] < 3.0


def test_background_analysis_shows_progress_and_eta_and_pauses(model_env: Path, tmp_path: Path) -> None:
    library = tmp_path / "music"
    for i in range(16):
        write_song(library / f"Long {i:02d}.wav", "neutral", 90.0, seed=i)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(
                pilot,
                lambda: app.analysis.progress is not None and app.analysis.progress[0] >= 1,
                "the background analysis to finish a file",
                timeout=120,
            )
            await wait_until(pilot, lambda: app.analysis.eta_s is not None, "an ETA", timeout=60)
            assert "ETA" in screen_text(app) and "analysing" in screen_text(app)
            await pilot.press("B")
            assert app.caches.loaded_scheduler().paused
            # Files in flight finish; then nothing new starts.
            await wait_until(
                pilot,
                lambda: app.caches.loaded_scheduler().in_flight == 0,
                "the files in flight to finish",
                timeout=120,
            )
            for _ in range(100):  # 2 s: no file starts while paused
                await pilot.pause(0.02)
                assert app.caches.loaded_scheduler().in_flight == 0
            await wait_until(pilot, lambda: "analysis paused" in screen_text(app), "the status to say paused")
            done = app.analysis.progress[0]
            assert done < 16
            await pilot.press("B")
            assert not app.caches.loaded_scheduler().paused
            await wait_until(
                pilot,
                lambda: app.analysis.progress is None or app.analysis.progress[0] > done,
                "the analysis to go on",
                timeout=120,
            )

    run(scenario)
