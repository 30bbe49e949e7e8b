"""The command palette (ctrl+p): the player's main actions by name, with the key in force for each."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider

from moodtui import CLASSES
from moodtui.tui.bindings import keys_for_id

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class MoodCommandPalette(CommandPalette):
    """Textual's command palette, dismissed at most once.

    Ctrl+P, Enter, Escape typed in quick succession (one read from the terminal) let Escape
    dismiss the palette before the selection made by Enter was handled; the selection handler
    then dismissed it again, popping the player's own screen: ``ScreenStackError: Can't pop
    screen`` ended the app (textual 8.2, 3 of 4 tries). A second dismiss, or one of a palette
    that is no longer the top screen, does nothing here; the chosen command still runs.
    """

    _dismissed = False

    def dismiss(self, result: None = None) -> AwaitComplete:
        if self._dismissed or not self.is_attached or self.app.screen is not self:
            return AwaitComplete.nothing()
        self._dismissed = True
        # Nothing of the palette's may run on after it is gone (its timers and the search worker
        # query its widgets: "NoMatches: No nodes match 'CommandList'").
        self._stop_no_matches_countdown()
        self._stop_busy_countdown()
        self._cancel_gather_commands()
        return super().dismiss(result)


class PlayerCommands(Provider):
    """Play/pause, next, queue, shuffle, repeat, radio, labels, retrain, models, filters, export, help."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("MoodApp", self.app)  # this provider is the player's (MoodApp.COMMANDS)
        tune_in = app.order_keeper.start_station
        # (name, help, action, binding id or None): the help text ends with the key in force.
        commands: list[tuple[str, str, Callable[[], object], str | None]] = [
            (
                "Play / pause",
                "start the highlighted track, or pause and resume",
                app.action_toggle_pause,
                "toggle_pause",
            ),
            ("Next track", "the queue, then the station or the list", app.action_next_track, "next_track"),
            ("Previous track", "back through what played", app.action_previous_track, "previous_track"),
            (
                "Add to the queue",
                "the highlighted track plays after the queued ones",
                app.action_queue_add,
                "queue_add",
            ),
            ("Show the queue", "reorder, remove, clear", app.action_queue_show, "queue_show"),
            ("Shuffle on / off", "every track of the list once, in random order", app.action_shuffle, "shuffle"),
            ("Repeat: off / all / one", "what happens at the end of the list", app.action_repeat, "repeat"),
            ("Mood radio", "choose a station", app.action_radio, "radio"),
            ("Radio: lift me up", "negative -> neutral -> positive", lambda: tune_in("lift"), None),
            ("Radio: wind down", "energetic -> calm", lambda: tune_in("wind-down"), None),
            ("Radio: calm", "calm songs from the whole library", lambda: tune_in("calm"), None),
            (
                "Radio: energetic",
                "energetic songs from the whole library",
                lambda: tune_in("energetic"),
                None,
            ),
            ("Radio: off", "stop the station", lambda: tune_in("off"), None),
            (
                "Retrain on my labels",
                "adapt the model to your labels (playback continues)",
                app.action_retrain,
                "retrain",
            ),
            ("Label next", "songs the model is least sure about", app.action_label_next, "label_next"),
            ("Models", "model versions, figures and rollback", app.action_models, "models"),
            ("Mood changes", "songs whose mood the last model switch changed", app.action_mood_changes, None),
            ("Undo last label", "undo the most recent label", app.action_undo_label, "undo_label"),
            ("Errors", "files that cannot be read or analysed, and notices", app.action_errors, "errors"),
            ("Filter by text", "type words of a title, artist or album", app.action_open_filter, "filter"),
            ("Sort: next column", "cycle the sort column", app.action_cycle_sort, "cycle_sort"),
            ("Sort: reverse", "reverse the sort direction", app.action_reverse_sort, "reverse_sort"),
            (
                "Export the list as a playlist",
                "write the visible tracks to an m3u file",
                app.action_export_playlist,
                None,
            ),
            (
                "Go to the playing track",
                "move the cursor to the track playing",
                app.action_goto_playing,
                "goto_playing",
            ),
            ("Help", "every key", app.action_help, "help"),
        ]
        for mood in ("all", *CLASSES):
            commands.append(
                (
                    f"Show {mood} songs" if mood != "all" else "Show all moods",
                    "filter the list by mood (your labels count first)",
                    partial(app.action_mood_filter, mood),
                    f"mood_{mood}",
                )
            )
        for mood in CLASSES:
            commands.append(
                (
                    f"Radio: {mood}",
                    f"{mood} songs from the whole library, shuffled",
                    partial(tune_in, mood),
                    None,
                )
            )
            commands.append(
                (
                    f"Label the playing song {mood}",
                    "your own label; R retrains on your labels",
                    partial(app.action_label, mood),
                    f"label_{mood}",
                )
            )
        return [
            (name, f"{text} · key {keys_for_id(app, binding_id)}" if binding_id else text, action)
            for name, text, action, binding_id in commands
        ]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
