"""Words for people: counts with the right plural ("1 file", "2 files")."""

from __future__ import annotations


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, in the plural (``words``, default ``word + "s"``) unless it is 1."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


__all__ = ["plural"]
