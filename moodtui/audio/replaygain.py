"""ReplayGain: the loudness correction a file's tags carry, as a playback volume factor.

Tags are read with mutagen from every tag kind the formats table can hold: Vorbis comments
(flac, ogg, opus), ID3 ``TXXX`` frames (mp3, wav, aiff), MP4 free-form atoms (m4a) and APEv2
(ape, wavpack, musepack); Opus's ``R128_TRACK_GAIN`` / ``R128_ALBUM_GAIN`` (relative to -23 LUFS)
are turned into ReplayGain's -18 LUFS reference. The mode is the ``replaygain`` setting:
``off``, ``track`` (each song at the same loudness; album gain when a file has only that) or
``album`` (an album keeps its own dynamics; track gain when a file has only that).

Clipping prevention: the factor never lifts the file's peak above full scale (factor x peak <= 1).
The player's output volume tops at 1, so a positive gain is applied only up to unity.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import mutagen

MODES = ("off", "track", "album")
R128_TO_REPLAYGAIN_DB = 5.0
"""ReplayGain 2 plays at -18 LUFS, R128 gains in Opus files aim at -23 LUFS."""

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_MP4_PREFIX = "----:com.apple.itunes:"


@dataclass(frozen=True, slots=True)
class ReplayGainTags:
    track_gain_db: float | None = None
    track_peak: float | None = None
    album_gain_db: float | None = None
    album_peak: float | None = None


@dataclass(frozen=True, slots=True)
class GainChoice:
    """What to apply to one track: a volume factor, and words for the status line."""

    factor: float
    text: str | None
    """E.g. "RG track -6.2 dB", "RG album: no tags"; None when the mode is off."""


def read_replaygain(path: str | os.PathLike[str]) -> ReplayGainTags:
    """The ReplayGain tags of a file; empty when it has none or its tags cannot be read."""
    try:
        audio = mutagen.File(path)
    except Exception:  # mutagen raises many kinds on damaged files; no tags is the answer
        return ReplayGainTags()
    if audio is None or audio.tags is None:
        return ReplayGainTags()
    values = _tag_texts(audio.tags)
    track_gain = _number(values.get("replaygain_track_gain"))
    album_gain = _number(values.get("replaygain_album_gain"))
    if track_gain is None and "r128_track_gain" in values:
        track_gain = _r128(values["r128_track_gain"])
    if album_gain is None and "r128_album_gain" in values:
        album_gain = _r128(values["r128_album_gain"])
    return ReplayGainTags(
        track_gain, _peak(values.get("replaygain_track_peak")), album_gain, _peak(values.get("replaygain_album_peak"))
    )


def _tag_texts(tags) -> dict[str, str]:
    """Lower-case tag name -> first value as text, for every kind of tag mutagen reads."""
    texts: dict[str, str] = {}
    getall = getattr(tags, "getall", None)
    if callable(getall):  # ID3: the values live in TXXX frames named by their description
        for frame in getall("TXXX"):
            if frame.text:
                texts[str(frame.desc).lower()] = str(frame.text[0])
        return texts
    try:
        items = list(tags.items())
    except Exception:
        return texts
    for key, value in items:
        name = str(key).lower().removeprefix(_MP4_PREFIX)
        if isinstance(value, list):
            if not value:
                continue
            value = value[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        texts.setdefault(name, str(value))
    return texts


def _number(text: str | None) -> float | None:
    if not text:
        return None
    match = _NUMBER.search(text.replace("\u2212", "-"))
    if match is None:
        return None
    value = float(match.group().replace(",", "."))
    return value if math.isfinite(value) and abs(value) < 60 else None


def _peak(text: str | None) -> float | None:
    value = _number(text)
    return value if value is not None and value > 0 else None


def _r128(text: str) -> float | None:
    try:
        q78 = int(text.strip())
    except ValueError:
        return None
    return q78 / 256 + R128_TO_REPLAYGAIN_DB


def choose_gain(tags: ReplayGainTags, mode: str) -> GainChoice:
    """The factor for ``mode`` (see the module docstring), with clipping prevention."""
    if mode not in ("track", "album"):
        return GainChoice(1.0, None)
    if mode == "track":
        gain, peak = (
            (tags.track_gain_db, tags.track_peak)
            if tags.track_gain_db is not None
            else (tags.album_gain_db, tags.album_peak)
        )
    else:
        gain, peak = (
            (tags.album_gain_db, tags.album_peak)
            if tags.album_gain_db is not None
            else (tags.track_gain_db, tags.track_peak)
        )
    if gain is None:
        return GainChoice(1.0, f"RG {mode}: no tags")
    factor = 10 ** (gain / 20)
    limited = ""
    if peak is not None and factor * peak > 1.0:
        factor = 1.0 / peak
        limited = " (peak-limited)"
    return GainChoice(factor, f"RG {mode} {20 * math.log10(factor):+.1f} dB{limited}")


__all__ = ["MODES", "GainChoice", "ReplayGainTags", "choose_gain", "read_replaygain"]
