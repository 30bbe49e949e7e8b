"""The command palette (ctrl+p): the player's main actions by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class PlayerCommands(Provider):
    """Play/pause, next, labels, retrain, label next, models, filters, sorting, export, help."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("MoodApp", self.app)  # this provider is the player's (MoodApp.COMMANDS)
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Play / pause", "start the highlighted track, or pause and resume", app.action_toggle_pause),
            ("Next track", "play the next track of the list", app.action_next_track),
            ("Previous track", "play the previous track of the list", app.action_previous_track),
            ("Retrain on my labels", "adapt the model to your labels (playback continues)", app.action_retrain),
            ("Label next", "songs the model is least sure about", app.action_label_next),
            ("Models", "model versions, figures and rollback", app.action_models),
            ("Undo last label", "undo the most recent label", app.action_undo_label),
            ("Errors", "files that cannot be read or analysed, and notices", app.action_errors),
            ("Filter by text", "type words of a title, artist or album", app.action_open_filter),
            ("Sort: next column", "cycle the sort column", app.action_cycle_sort),
            ("Sort: reverse", "reverse the sort direction", app.action_reverse_sort),
            ("Export the list as a playlist", "write the visible tracks to an m3u file", app.action_export_playlist),
            ("Go to the playing track", "move the cursor to the track playing", app.action_goto_playing),
            ("Help", "every key", app.action_help),
        ]
        for mood in ("all", "positive", "neutral", "negative"):
            commands.append((f"Show {mood} songs" if mood != "all" else "Show all moods",
                             "filter the list by mood (your labels count first)",
                             partial(app.action_mood_filter, mood)))
        for mood in ("positive", "neutral", "negative"):
            commands.append((f"Label the playing song {mood}", "your own label; R retrains on your labels",
                             partial(app.action_label, mood)))
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
