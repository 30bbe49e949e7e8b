"""The training job's progress events: one dataclass per kind, shared by the job and the player.

The job (``moodtui train``, its own process) prints each event as one JSON line on stdout,
``{"event": "<kind>", ...fields}``; the player's runner (``moodtui.listener.retrain.RetrainJob``) reads the
lines back into the same dataclasses. Both ends use these classes, so a field renamed on one side
is a type error, not a silently empty progress bar. The JSON lines are also the job's documented
machine-readable output (``moodtui train`` in a shell prints them).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class JobStarted:
    """The job read its songs and starts training ``version``."""

    kind: ClassVar[str] = "start"
    mode: str  # "personal" (the last layer on the listener's labels) or "full" (the whole CNN)
    songs: int
    version: str


@dataclass(frozen=True)
class SongSkipped:
    """A labelled song that cannot be read: the job goes on without it."""

    kind: ClassVar[str] = "skip"
    path: str
    reason: str


@dataclass(frozen=True)
class FeaturesRead:
    """Features (or embeddings) of ``done`` of ``total`` songs are ready."""

    kind: ClassVar[str] = "features"
    done: int
    total: int


@dataclass(frozen=True)
class DataSplit:
    """Full training: the song-level split into training and validation sets."""

    kind: ClassVar[str] = "data"
    train_songs: int
    val_songs: int
    train_slices: int
    val_slices: int
    aux: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EpochEnded:
    """One epoch done (``epoch`` counts from 1). The figures after ``loss`` come from full training."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    loss: float
    accuracy: float | None = None
    seconds: float | None = None
    val_slice_accuracy: float | None = None
    val_song_accuracy: float | None = None


@dataclass(frozen=True)
class HeadTried:
    """Personal training: ``done`` of ``total`` candidate heads cross-validated on held-out songs."""

    kind: ClassVar[str] = "crossval"
    done: int
    total: int
    head: str | None = None
    hits: int | None = None  # held-out songs it agreed with


@dataclass(frozen=True)
class GuardCompared:
    """Personal training: the new model against the one in use, on the listener's held-out songs."""

    kind: ClassVar[str] = "guard"
    current_version: str
    current_model_version: str
    songs: int
    new_agrees: int
    current_agrees: int
    switched: bool
    head: str = ""  # the new model's head (``train.heads.HEADS``); "base": the base as it is


@dataclass(frozen=True)
class ModelExported:
    """The ONNX export loads and matches Keras within ``max_abs_diff``."""

    kind: ClassVar[str] = "export"
    max_abs_diff: float


@dataclass(frozen=True)
class JobDone:
    """The new version is installed; current unless ``switched`` is False (the retrain guard kept
    the model in use: ``guard`` says why)."""

    kind: ClassVar[str] = "done"
    version: str
    path: str
    seconds: float
    validation: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    head: str | None = None  # personal training: the head the held-out songs chose
    guard: dict[str, Any] | None = None  # GuardCompared's fields
    switched: bool = True

    @property
    def song_agreement(self) -> float | None:
        """Held-out agreement with the listener's labels, by song (0..1), when measured."""
        value = (self.agreement or {}).get("song_agreement")
        return float(value) if isinstance(value, (int, float)) else None


@dataclass(frozen=True)
class JobFailed:
    """The job stops; the model in use stays."""

    kind: ClassVar[str] = "error"
    message: str


ProgressEvent = (
    JobStarted
    | SongSkipped
    | FeaturesRead
    | DataSplit
    | EpochEnded
    | HeadTried
    | GuardCompared
    | ModelExported
    | JobDone
    | JobFailed
)

_BY_KIND: dict[str, type[ProgressEvent]] = {
    cls.kind: cls
    for cls in (
        JobStarted,
        SongSkipped,
        FeaturesRead,
        DataSplit,
        EpochEnded,
        HeadTried,
        GuardCompared,
        ModelExported,
        JobDone,
        JobFailed,
    )
}


def describe(event: ProgressEvent) -> str | None:
    """The event for a person at a terminal (``moodtui train`` without ``--json``); None: nothing
    worth a line (the epochs of a personal fit, a feature count on the way)."""
    if isinstance(event, JobStarted):
        return f"training ({event.mode}) on {event.songs} songs: version {event.version}"
    if isinstance(event, SongSkipped):
        return f"skipped {event.path}: {event.reason}"
    if isinstance(event, FeaturesRead):
        return f"read {event.done}/{event.total} songs" if event.done == event.total else None
    if isinstance(event, DataSplit):
        return (
            f"{event.train_songs} songs to train on ({event.train_slices} slices), "
            f"{event.val_songs} held out ({event.val_slices} slices)"
        )
    if isinstance(event, EpochEnded):
        figure = (
            f", held-out song accuracy {100 * event.val_song_accuracy:.1f} %"
            if event.val_song_accuracy is not None
            else ""
        )
        return f"epoch {event.epoch}/{event.epochs}: loss {event.loss:.3f}{figure}"
    if isinstance(event, HeadTried):
        return None
    if isinstance(event, GuardCompared):
        kept = "switched to the new model" if event.switched else f"kept {event.current_version}"
        return (
            f"of your {event.songs} songs the new model agrees with {event.new_agrees}, "
            f"the one in use with {event.current_agrees}: {kept}"
        )
    if isinstance(event, ModelExported):
        return f"exported to ONNX (largest difference from Keras {event.max_abs_diff:.1e})"
    if isinstance(event, JobDone):
        agreement = event.song_agreement
        figure = f", agrees with you on {100 * agreement:.0f} % of held-out songs" if agreement is not None else ""
        state = "in use" if event.switched else "kept as a version, not switched on"
        return f"done in {event.seconds:.0f} s: model {event.version} ({state}){figure}"
    if isinstance(event, JobFailed):
        return f"failed: {event.message}"
    return None


def to_line(event: ProgressEvent) -> str:
    """The event as one JSON line (no newline); fields left at None are left out."""
    data = {name: value for name, value in asdict(event).items() if value is not None}
    return json.dumps({"event": event.kind, **data}, default=_json_default)


def from_line(line: str) -> ProgressEvent | None:
    """The event a job's output line carries, or None for any other line (a warning, a log line)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    cls = _BY_KIND.get(data.pop("event", None)) if isinstance(data, dict) else None
    if cls is None:
        return None
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{name: value for name, value in data.items() if name in known})
    except TypeError:  # a required field is missing: not one of our lines
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
