"""Small frictions of the player a first-time user met (issue 13 item 10), through Pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import make_library, run, screen_text, wait_settled, wait_until
from textual.widgets._toast import Toast

from moodtui.mood.palette import MOOD_TIMELINE_CELLS
from moodtui.tui.app import MoodApp


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOODTUI_WATCH", "off")
    return make_library(tmp_path / "music")


def test_at_80x24_the_footer_shows_help_and_quit(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await pilot.pause(0.2)
            footer = screen_text(app).splitlines()[-1]
            assert "Help" in footer and "Quit" in footer and "Pause" in footer, footer

    run(scenario)


def test_escape_on_the_table_clears_the_filter_and_no_match_says_so(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=(110, 34)) as pilot:
            await wait_until(pilot, lambda: app.scan_done and len(app.view.rows) == 4, "the scan")
            await pilot.press("slash", *"zzzz", "enter")
            assert app.view.text_filter == "zzzz" and app.view.visible == []
            assert "no track matches the filter (Esc clears it)" in str(app.library_bar.render())
            assert app.focused is app.track_list
            await pilot.press("escape")
            assert app.view.text_filter == "" and len(app.view.visible) == 4
            assert "no track matches" not in str(app.library_bar.render())
            await pilot.press("1")  # the mood filter: Escape clears it too
            await pilot.press("escape")
            assert app.view.mood_filter == "all"

    run(scenario)


def test_notices_do_not_cover_the_timeline_or_the_status_line(model_env: Path, library: Path) -> None:
    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=(110, 34), notifications=True) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.now_playing.song is not None, "the playing song's analysis")
            for k in range(3):
                app.show_notice(f"a notice long enough to wrap over two lines of a toast, number {k} " * 2)
            await pilot.pause(0.3)
            toasts = list(app.screen.query(Toast))
            assert toasts
            for toast in toasts:
                region = toast.region
                assert not region.overlaps(app.now_playing.region), (region, app.now_playing.region)
                assert not region.overlaps(app.status_bar.line.region)
            timeline = app.now_playing.plain_text().splitlines()[-1]
            # The mood reads without colour: each analysed cell is a high, middle or low bar.
            assert set(timeline) <= {*MOOD_TIMELINE_CELLS.values(), "┃", "─"} and set(timeline) & set(
                MOOD_TIMELINE_CELLS.values()
            ), timeline

    run(scenario)
