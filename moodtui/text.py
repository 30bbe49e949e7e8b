"""Words for people: counts with the right plural ("1 file", "2 files"), folders with ``~``."""

from __future__ import annotations

from pathlib import Path

from moodtui.errors import display_path


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, in the plural (``words``, default ``word + "s"``) unless it is 1."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def short_path(path: Path) -> str:
    """``path`` for display, with the home folder written ``~``."""
    try:
        return display_path(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return display_path(path)


__all__ = ["plural", "short_path"]
