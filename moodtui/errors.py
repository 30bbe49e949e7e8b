"""Errors that are expected and reported to the user as one line (never a traceback)."""

from __future__ import annotations

import os


class MoodtuiError(Exception):
    """An expected failure with a one-line, user-facing message."""


class AudioError(MoodtuiError):
    """A file could not be decoded or analysed; the message names the file and the cause."""

    def __init__(self, path: str | os.PathLike[str], cause: str) -> None:
        self.path = os.fsdecode(path)
        self.cause = cause
        super().__init__(f"{display_path(path)}: {cause}")


class ModelError(MoodtuiError):
    """A model file is missing, unreadable or does not match this version of the code."""


def display_path(path: str | os.PathLike[str]) -> str:
    """A printable form of a path, even when the file name is not valid UTF-8."""
    text = os.fsdecode(path)
    # Surrogate escapes (undecodable bytes) cannot be printed; show them as \xNN.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
