"""The mood palette: one colour and one glyph per idea, for the player and the command line.

Plain strings (hex colours, characters): the CLI puts them in rich markup without importing
anything, and the player builds its rich styles from them (``moodtui.tui.palette``).
"""

from __future__ import annotations

MOOD_COLOURS = {"positive": "#4ec96b", "neutral": "#e0b73d", "negative": "#c86bd8"}
"""One colour per class (green, amber, violet: distinct for the common colour-vision deficiencies)."""

MOOD_TIMELINE_CELLS = {"positive": "█", "neutral": "▄", "negative": "▁"}
"""The timeline's cell per class: a high, middle or low bar, so the mood reads without colour."""

ERROR_COLOUR = "#e05555"

YOUR_LABEL_GLYPH = "●"
"""Marks the listener's own label (it counts before the model's guess)."""

ERROR_GLYPH = "✗"
"""Marks a file that cannot be read or analysed."""

NOT_ANALYSED_GLYPH = "·"
"""A song the model has not analysed yet."""


def mood_markup(mood: str, text: str | None = None, *, bold: bool = False) -> str:
    """Rich markup showing ``text`` (default: the mood's name) in the mood's colour."""
    style = f"bold {MOOD_COLOURS[mood]}" if bold else MOOD_COLOURS[mood]
    return f"[{style}]{mood if text is None else text}[/]"
