"""The player's key bindings: every one with a stable id (config.toml's [keys] table maps ids to
keys through ``App.set_keymap``; the footer, the help screen and the palette show the keys in force)."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.binding import Binding, BindingType

from moodtui.listener.retrain import MIN_LABELLED_SONGS
from moodtui.tui.widgets.track_list import TrackList

PLAYER_BINDINGS: list[BindingType] = [
    Binding(
        "space",
        "toggle_pause",
        "Pause",
        id="toggle_pause",
        tooltip="pause / resume (plays the highlighted track when stopped)",
    ),
    # Help and Quit right after Pause: the footer shows bindings in this order and a narrow
    # terminal (80 columns) cuts the end, where these two used to be.
    Binding("question_mark", "help", "Help", key_display="?", id="help", tooltip="this list of keys"),
    Binding("q", "quit", "Quit", id="quit", tooltip="quit"),
    Binding(
        "escape",
        "clear_filter",
        "Clear filter",
        show=False,
        id="clear_filter",
        tooltip="on the table: clear the text filter, then the mood filter",
    ),
    Binding("left", "seek(-1)", "Seek -", show=False, id="seek_back", tooltip="seek back (seek_step, 5 s)"),
    Binding("right", "seek(1)", "Seek +", show=False, id="seek_forward", tooltip="seek forward (seek_step, 5 s)"),
    Binding(
        "plus,equals_sign",
        "volume(1)",
        "Vol +",
        show=False,
        key_display="+",
        id="volume_up",
        tooltip="volume up (volume_step, 5 %)",
    ),
    Binding("minus", "volume(-1)", "Vol -", show=False, key_display="-", id="volume_down", tooltip="volume down"),
    Binding(
        "right_square_bracket",
        "next_track",
        "Next",
        show=False,
        key_display="]",
        id="next_track",
        tooltip="next track: the queue, then the station or the list",
    ),
    Binding(
        "left_square_bracket",
        "previous_track",
        "Prev",
        show=False,
        key_display="[",
        id="previous_track",
        tooltip="back through the tracks that played",
    ),
    Binding("a", "queue_add", "Queue +", show=False, id="queue_add", tooltip="add the highlighted track to the queue"),
    Binding(
        "w",
        "queue_show",
        "Queue",
        show=False,
        id="queue_show",
        tooltip="the queue: reorder (shift+up / down), remove (d), clear (c)",
    ),
    Binding(
        "z",
        "shuffle",
        "Shuffle",
        show=False,
        id="shuffle",
        tooltip="shuffle on / off (no repeats until all played)",
    ),
    Binding("r", "repeat", "Repeat", show=False, id="repeat", tooltip="repeat: off, all, one"),
    Binding(
        "t",
        "radio",
        "Radio",
        show=False,
        id="radio",
        tooltip="mood radio: a mood from the whole library, or a mood path",
    ),
    Binding(
        "slash",
        "open_filter",
        "Filter",
        key_display="/",
        id="filter",
        tooltip="filter by words of the title, artist, album or file name (Esc clears)",
    ),
    Binding("0", "mood_filter('all')", "All", show=False, id="mood_all", tooltip="show every mood"),
    Binding(
        "1",
        "mood_filter('positive')",
        "Positive",
        show=False,
        id="mood_positive",
        tooltip="show positive songs only",
    ),
    Binding("2", "mood_filter('neutral')", "Neutral", show=False, id="mood_neutral", tooltip="show neutral songs only"),
    Binding(
        "3",
        "mood_filter('negative')",
        "Negative",
        show=False,
        id="mood_negative",
        tooltip="show negative songs only",
    ),
    Binding(
        "s",
        "cycle_sort",
        "Sort",
        show=False,
        id="cycle_sort",
        tooltip="sort by the next column (folder, title, artist, album, time, mood)",
    ),
    Binding("S", "reverse_sort", "Reverse", show=False, id="reverse_sort", tooltip="reverse the sort direction"),
    Binding(
        "p", "label('positive')", "Positive", id="label_positive", tooltip="label the playing song positive (yours)"
    ),
    Binding("n", "label('neutral')", "Neutral", id="label_neutral", tooltip="label the playing song neutral (yours)"),
    Binding(
        "x", "label('negative')", "Negative", id="label_negative", tooltip="label the playing song negative (yours)"
    ),
    Binding("u", "undo_label", "Undo", show=False, id="undo_label", tooltip="undo the last label"),
    Binding(
        "R",
        "retrain",
        "Retrain",
        id="retrain",
        tooltip=f"adapt the model to your labels (needs {MIN_LABELLED_SONGS} labelled songs)",
    ),
    Binding(
        "l", "label_next", "Label next", id="label_next", tooltip="songs the model is least sure about: label those"
    ),
    Binding(
        "m",
        "models",
        "Models",
        show=False,
        id="models",
        tooltip="model versions with their figures; Enter rolls back",
    ),
    Binding(
        "e",
        "errors",
        "Errors",
        show=False,
        id="errors",
        tooltip="files that cannot be read or analysed, and notices",
    ),
    Binding(
        "B",
        "toggle_analysis",
        "Pause analysis",
        show=False,
        id="toggle_analysis",
        tooltip="pause / resume the background analysis of the library",
    ),
    Binding(
        "g",
        "goto_playing",
        "Go to playing",
        show=False,
        id="goto_playing",
        tooltip="move the cursor to the playing track",
    ),
    Binding(
        "f5",
        "rescan",
        "Rescan",
        show=False,
        id="rescan",
        tooltip="rescan the music folder for new, changed and removed files",
    ),
]


def binding_list() -> list[Binding]:
    """Every binding of the player with an id (the app's, the table's, the screens')."""
    from moodtui.tui.screens.label_next import LabelNextScreen
    from moodtui.tui.screens.queue import QueueScreen
    from moodtui.tui.screens.radio import RadioScreen

    return [
        binding
        for binding in (
            *PLAYER_BINDINGS,
            *TrackList.BINDINGS,
            *QueueScreen.BINDINGS,
            *LabelNextScreen.BINDINGS,
            *RadioScreen.BINDINGS,
        )
        if isinstance(binding, Binding) and binding.id
    ]


def binding_ids() -> set[str]:
    return {binding.id for binding in binding_list() if binding.id}


def keys_for(app: App[Any], binding: Binding) -> str:
    """The key(s) in force for ``binding`` (after ``app``'s keymap), as the footer writes them."""
    keys = app._keymap.get(binding.id) if binding.id else None
    if keys is None and binding.key_display:
        return binding.key_display
    return " / ".join(app.get_key_display(Binding(key, "")) for key in (keys or binding.key).split(","))


def keys_for_id(app: App[Any], binding_id: str) -> str:
    """The key(s) in force for the binding with id ``binding_id`` ("" when there is none)."""
    binding = next((b for b in binding_list() if b.id == binding_id), None)
    return keys_for(app, binding) if binding is not None else ""
