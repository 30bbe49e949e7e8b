"""The mood palette as rich styles (colours from ``moodtui.mood.palette``) and text helpers for widgets."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.style import Style

from moodtui.mood.palette import ERROR_COLOUR, MOOD_COLOURS

MOOD_STYLES = {mood: Style(color=colour) for mood, colour in MOOD_COLOURS.items()}
ERROR_STYLE = Style(color=ERROR_COLOUR)
DIM_STYLE = Style(dim=True)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` terminal cells."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def format_time(seconds: float | None) -> str:
    """m:ss (h:mm:ss from an hour); "-:--" when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "-:--"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
