"""Mood radio: stations that keep playing songs of a mood from the whole library (no Textual).

A :class:`MoodStation` plays one mood, shuffled, never the same song twice in a session: the
listener's own labels of that mood first, then songs the model predicts with confidence. An
:class:`EnergyStation` plays an energy range (calm, energetic) the same way. A
:class:`PathStation` walks a mood path over N songs ("lift me up": negative -> neutral ->
positive; "wind down": energetic -> calm) and then stays at the path's end.

Stations read the library through a callable returning :class:`SongFacts`, so songs analysed
while the station plays count too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from moodtui import CLASSES

CONFIDENT = 0.5
"""A prediction this sure (song-level probability of its mood) counts for a station of that mood."""
PATH_SONGS = 12
"""Songs a mood path takes to go from its start to its end."""

VALENCE = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
"""Where each mood sits on the path from negative to positive."""


@dataclass(frozen=True, slots=True)
class SongFacts:
    """What a station needs to know of one song."""

    path: str
    user_label: str | None = None
    probs: np.ndarray | None = None
    """Song-level probabilities (CLASSES order) under the current model, or None (not analysed)."""
    energy: float | None = None
    """0 calm .. 1 energetic, when the model gives one (newer models); else None."""
    playable: bool = True


Library = Callable[[], Iterable[SongFacts]]


def _valence(song: SongFacts) -> float | None:
    """-1 (negative) .. +1 (positive): the listener's label, else the model's expectation."""
    if song.user_label is not None:
        return VALENCE[song.user_label]
    if song.probs is None:
        return None
    return float(sum(VALENCE[c] * float(p) for c, p in zip(CLASSES, song.probs)))


def _energy_by_mood(song: SongFacts) -> float | None:
    """Without an energy output: a stand-in from the mood (positive lively, neutral calm).

    The model's classes say nothing of tempo; positive songs are the livelier ones in the base
    model's training data, neutral ones the calmest, so "wind down" goes positive -> neutral.
    """
    if song.user_label is not None:
        return {"positive": 1.0, "negative": 0.5, "neutral": 0.0}[song.user_label]
    if song.probs is None:
        return None
    p = dict(zip(CLASSES, (float(x) for x in song.probs)))
    return p["positive"] + 0.5 * p["negative"]


class MoodStation:
    """Songs of ``mood`` from the whole library: own labels first, then confident predictions."""

    kind = "mood"

    def __init__(
        self, mood: str, library: Library, *, played: Iterable[str] = (), rng: random.Random | None = None
    ) -> None:
        if mood not in CLASSES:
            raise ValueError(f"no such mood: {mood}")
        self.mood = mood
        self.name = f"{mood} radio"
        self._library = library
        self._rng = rng or random.Random()
        self.played: set[str] = set(played)

    def next(self) -> str | None:
        labelled, predicted = [], []
        for song in self._library():
            if not song.playable or song.path in self.played:
                continue
            if song.user_label is not None:
                if song.user_label == self.mood:
                    labelled.append(song.path)
            elif song.probs is not None and float(song.probs[CLASSES.index(self.mood)]) >= CONFIDENT:
                predicted.append(song.path)
        pool = labelled or predicted
        if not pool:
            return None
        chosen = self._rng.choice(pool)
        self.played.add(chosen)
        return chosen


ENERGY_RANGES = {"calm": (0.0, 1 / 3), "energetic": (2 / 3, 1.0)}
"""Energy stations: songs whose energy (0 calm .. 1 energetic) falls in the range."""


def _energy_of(songs: list[SongFacts]) -> Callable[[SongFacts], float | None]:
    """The model's energy when the songs at hand carry one, else the stand-in from the mood."""
    if any(song.energy is not None for song in songs):
        return lambda song: song.energy
    return _energy_by_mood


class EnergyStation:
    """Songs of an energy range (``calm``, ``energetic``) from the whole library, shuffled, never twice."""

    kind = "energy"

    def __init__(
        self, band: str, library: Library, *, played: Iterable[str] = (), rng: random.Random | None = None
    ) -> None:
        if band not in ENERGY_RANGES:
            raise ValueError(f"no such energy range: {band}")
        self.band = band
        self.name = f"{band} radio"
        self._library = library
        self._rng = rng or random.Random()
        self.played: set[str] = set(played)

    def next(self) -> str | None:
        songs = [song for song in self._library() if song.playable and song.path not in self.played]
        energy = _energy_of(songs)
        low, high = ENERGY_RANGES[self.band]
        pool = [song.path for song in songs if (e := energy(song)) is not None and low <= e <= high]
        if not pool:
            return None
        chosen = self._rng.choice(pool)
        self.played.add(chosen)
        return chosen


@dataclass(frozen=True)
class MoodPath:
    """A path of N songs from one end of a scale to the other."""

    id: str
    name: str
    start: float
    end: float
    scale: str
    """``valence`` (-1 negative .. +1 positive) or ``energy`` (0 calm .. 1 energetic)."""


PATHS = {
    "lift": MoodPath("lift", "lift me up", -1.0, 1.0, "valence"),
    "wind-down": MoodPath("wind-down", "wind down", 1.0, 0.0, "energy"),
}


class PathStation:
    """Walks ``path`` over ``songs`` songs, each the unplayed song nearest the step's target."""

    kind = "path"

    def __init__(
        self,
        path: MoodPath,
        library: Library,
        *,
        songs: int = PATH_SONGS,
        step: int = 0,
        played: Iterable[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.path = path
        self.name = path.name
        self.songs = max(songs, 2)
        self.step = step
        self._library = library
        self._rng = rng or random.Random()
        self.played: set[str] = set(played)

    def target(self, step: int) -> float:
        share = min(step / (self.songs - 1), 1.0)
        return self.path.start + share * (self.path.end - self.path.start)

    def _position(self, songs: list[SongFacts]) -> Callable[[SongFacts], float | None]:
        return _valence if self.path.scale == "valence" else _energy_of(songs)

    def next(self) -> str | None:
        songs = [song for song in self._library() if song.playable and song.path not in self.played]
        position = self._position(songs)
        target = self.target(self.step)
        scored = []
        for song in songs:
            where = position(song)
            if where is not None:
                # Own labels win ties: the listener said so.
                scored.append((abs(where - target) - (0.05 if song.user_label else 0.0), song.path))
        if not scored:
            return None
        scored.sort()
        best = scored[0][0]
        near = [path for distance, path in scored if distance <= best + 0.05]
        chosen = self._rng.choice(near)
        self.played.add(chosen)
        self.step += 1
        return chosen


def station_id(station) -> dict:
    """What to save of a station to restart it (resume)."""
    if isinstance(station, MoodStation):
        return {"kind": "mood", "mood": station.mood, "played": sorted(station.played)}
    if isinstance(station, EnergyStation):
        return {"kind": "energy", "band": station.band, "played": sorted(station.played)}
    if isinstance(station, PathStation):
        return {
            "kind": "path",
            "path": station.path.id,
            "songs": station.songs,
            "step": station.step,
            "played": sorted(station.played),
        }
    raise TypeError(station)


def station_from_id(saved: dict, library: Library):
    """The station :func:`station_id` described (ValueError if the description is not one)."""
    kind = saved.get("kind")
    played = [str(p) for p in saved.get("played", [])]
    if kind == "mood":
        return MoodStation(str(saved.get("mood")), library, played=played)
    if kind == "energy":
        return EnergyStation(str(saved.get("band")), library, played=played)
    if kind == "path" and saved.get("path") in PATHS:
        return PathStation(
            PATHS[saved["path"]],
            library,
            songs=int(saved.get("songs", PATH_SONGS)),
            step=int(saved.get("step", 0)),
            played=played,
        )
    raise ValueError(f"not a station: {saved!r}")


def station_for(choice: str, library: Library):
    """The station a listener chose: a mood (``positive`` ...) or a mood path id (``lift``, ``wind-down``)."""
    if choice in CLASSES:
        return MoodStation(choice, library)
    if choice in ENERGY_RANGES:
        return EnergyStation(choice, library)
    if choice in PATHS:
        return PathStation(PATHS[choice], library)
    raise ValueError(f"no station {choice!r}: choose one of {', '.join(STATION_IDS)}")


STATION_IDS = (*CLASSES, *ENERGY_RANGES, *PATHS)
"""Every station a listener can choose (``moodtui --radio``, the radio screen)."""
