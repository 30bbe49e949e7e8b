"""Mood radio: choose a station (a mood from the whole library, or a mood path), or stop it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from moodtui import CLASSES
from moodtui.player.radio import ENERGY_RANGES, PATHS

STATION_CHOICES = (
    *((mood, f"{mood} radio: {mood} songs from the whole library, shuffled, never twice") for mood in CLASSES),
    *((band, f"{band} radio: {band} songs (by the model's energy, else by mood)") for band in ENERGY_RANGES),
    *(
        (path.id, f"{path.name}: {'negative → neutral → positive' if path.scale == 'valence' else 'energetic → calm'}")
        for path in PATHS.values()
    ),
    ("off", "stop the station: back to the list"),
)


class RadioScreen(ModalScreen[str | None]):
    """Returns the chosen station's id (a mood, a path id, or "off"), or None (Escape)."""

    BINDINGS = [Binding("escape,q,t", "dismiss(None)", "Close", id="radio_close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="radio-body"):
            yield Static("Mood radio: your own labels first, then songs the model is sure about.", id="radio-intro")
            yield OptionList(*(Option(text, id=key) for key, text in STATION_CHOICES), id="radio-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
