"""Messages the workers post to the app (dataclasses; every field is ready to show, no I/O left)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from textual.message import Message

from moodtui.library.scan import Track
from moodtui.listener.label_next import MoodChange
from moodtui.listener.label_writer import LabelOutcome
from moodtui.listener.progress import ProgressEvent
from moodtui.listener.retrain import RetrainResult
from moodtui.mood.analysis import SongMood
from moodtui.mood.model import MoodModel

Severity = Literal["information", "warning", "error"]
"""How a notice is shown (Textual's toast severities)."""


@dataclass
class ModelReady(Message):
    """The mood model is loaded and warm (or could not be loaded: ``model`` is None)."""

    model: MoodModel | None
    notice: str | None


@dataclass
class ScanBatch(Message):
    """Tracks found by the library scan since the last batch."""

    tracks: list[Track]
    done: bool


@dataclass
class ScanFailed(Message):
    reason: str


@dataclass
class MoodsUpdated(Message):
    """Song-level results for some tracks under ``model_version``.

    ``moods`` maps path -> song probabilities (CLASSES order); ``errors`` maps path -> reason.
    ``complete`` means ``moods`` covers every analysed song: rows missing from it await analysis.
    """

    model_version: str
    moods: dict[str, np.ndarray]
    errors: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    complete: bool = False
    energies: dict[str, float] = field(default_factory=dict)
    """Song energy (0 calm .. 1 energetic) of songs whose model gives one (the wind-down station)."""


@dataclass
class AnalysisProgress(Message):
    """The background analysis: ``done`` of ``total`` tracks looked at; ``finished`` at the end;
    ``eta_s`` the time left at the rate so far; ``paused`` by the listener."""

    done: int
    total: int
    finished: bool = False
    eta_s: float | None = None
    paused: bool = False


@dataclass
class SlicesAnalysed(Message):
    """The next slices of the playing track (from analysis of the playing track, block by block)."""

    token: int
    """The play request they belong to (results of an earlier request are ignored)."""
    starts_s: np.ndarray
    probs: np.ndarray


@dataclass
class SongAnalysed(Message):
    """The playing track's full analysis (or the reason it failed)."""

    token: int
    mood: SongMood | None
    error: str | None = None


@dataclass
class TrackStarted(Message):
    """The player opened the requested track and is playing it."""

    token: int
    duration_s: float | None
    notice: str | None


@dataclass
class TrackFailed(Message):
    """The player could not open the requested track."""

    token: int
    reason: str


@dataclass
class LabelsLoaded(Message):
    """The listener's labels: path -> label (every current label), with a store notice if any."""

    labels: dict[str, str]
    notice: str | None = None
    relinked: bool = False
    """True when sent after labelled songs were found at a new path (the store is already open)."""


@dataclass
class LabelWritten(Message):
    """The label writer served a request (a label, an undo, moved songs found, or a failure)."""

    outcome: LabelOutcome


@dataclass
class RetrainProgress(Message):
    """One progress event of the training job (``moodtui.listener.progress``)."""

    event: ProgressEvent


@dataclass
class RetrainFinished(Message):
    """The retrain ended; ``model`` is the newly loaded model on success."""

    result: RetrainResult
    model: MoodModel | None
    notice: str | None = None


@dataclass
class ModelSwitched(Message):
    """A model is now current (after a retrain or a rollback) and the cached moods are rescored."""

    model: MoodModel
    rescored: int
    message: str
    changes: list[MoodChange] = field(default_factory=list)
    show_changes: bool = False  # open the changes screen (after a retrain)


@dataclass
class Notice(Message):
    """A one-line notice for the listener from a worker."""

    text: str
    severity: Severity = "information"
