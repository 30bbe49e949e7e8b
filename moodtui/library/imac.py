"""Match the listener's own songs against the IMAC song emotion table.

The IMAC table (``moodtui/data/imac/SongEmotionScore.csv``, see its README for the source and the
terms) gives, for 4,159 Million Song Dataset tracks, how many Last.fm tags were positive, neutral or
negative. It ships no audio; moodtui uses it only to find songs the user already owns (by the artist
and title in their tags) so that those songs can serve as labelled training examples.

Matching rules
- Artist and title are compared after :func:`normalise` (case, accents, punctuation, "feat." parts,
  version suffixes such as "(Remastered 2009)" or "- Live").
- If that exact key is not in the table, a looser key that also drops every bracketed part of the
  title is tried, so that "Happy Xmas" finds "Happy Xmas (War Is Over)" and vice versa.
- Several table rows can share one key (the Million Song Dataset lists the same song on several
  releases). They are taken to be the same song and their tag counts are summed; the match keeps all
  the rows' track ids.
- A song's label is the strict maximum of the (summed) counts; a tie has no label and is never used
  for training.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mutagen
from mutagen.asf import ASFTags
from mutagen.id3 import ID3

from moodtui import CLASSES
from moodtui.errors import AudioError, MoodtuiError, display_path
from moodtui.library.scan import Track, walk_audio_files
from moodtui.paths import imac_table_path

Counts = tuple[int, int, int]
Key = tuple[str, str]

# --- normalisation -------------------------------------------------------------------------------

# Apostrophes are deleted (so "Don't" == "Dont"); U+00B4 must go before NFKD, which would turn it
# into a space plus a combining accent and split the word.
_APOSTROPHES = re.compile("['\u2018\u2019\u201b\u0060\u00b4\u02bc\u2032]")
# Letters that NFKD does not decompose into a base letter plus accents.
_TRANSLITERATION = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
_FEAT_WORD = r"(?:feat\.?|ft\.|featuring)"
# "(feat. X)" / "[ft. X]" anywhere, and an unbracketed "feat. X" up to the next bracket or the end.
_FEAT_BRACKETED = re.compile(rf"[(\[]\s*{_FEAT_WORD}\s[^)\]]*[)\]]?", re.IGNORECASE)
_FEAT_TRAILING = re.compile(rf"\s{_FEAT_WORD}\s[^(\[]*", re.IGNORECASE)
# Words that mark a bracketed part or a " - " suffix as a release variant rather than part of the
# song's name ("(Remastered 2009)", "[Radio Edit]", "- Live at Wembley", "(LP Version)").
_VERSION_WORDS = (
    r"remaster(?:ed)?|live|edit|version|mix|remix|mono|stereo|demo|acoustic|instrumental|single|"
    r"album|lp|radio|bonus|explicit|clean|extended|deluxe|original|soundtrack|from|take|\d{4}"
)
_VERSION_BRACKETED = re.compile(rf"[(\[][^)\]]*\b(?:{_VERSION_WORDS})\b[^)\]]*[)\]]", re.IGNORECASE)
_VERSION_DASH = re.compile(rf"\s[-\u2013\u2014]\s.*\b(?:{_VERSION_WORDS})\b.*$", re.IGNORECASE)
_ANY_BRACKETED = re.compile(r"[(\[][^)\]]*[)\]]")
_AND = re.compile(r"\s*[&+]\s*")
_NON_WORD = re.compile(r"[\W_]+")
_LEADING_THE = re.compile(r"^the\s+")


def _fold(text: str) -> str:
    """Case-fold, drop accents and apostrophes, and turn all other punctuation into single spaces."""
    text = _APOSTROPHES.sub("", text).casefold().translate(_TRANSLITERATION)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _AND.sub(" and ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def normalise(text: str, *, artist: bool = False) -> str:
    """The form of an artist or title used to compare tags with the IMAC table.

    Case-folded, accents stripped, "&"/"+" read as "and", apostrophes dropped, other punctuation and
    runs of white space turned into single spaces; "feat./ft./featuring ..." parts and version
    suffixes ("(Remastered 2009)", "- Remastered", "(Live)", "[Radio Edit]", "(Album Version)")
    removed; for an artist (``artist=True``) a leading "the" is dropped. If removing parts would leave
    nothing (a title such as "(Untitled Live)"), only the folding is applied.
    """
    stripped = _FEAT_BRACKETED.sub(" ", text)
    stripped = _FEAT_TRAILING.sub(" ", stripped)
    stripped = _VERSION_BRACKETED.sub(" ", stripped)
    stripped = _VERSION_DASH.sub("", stripped)
    folded = _fold(stripped) or _fold(text)
    if artist:
        folded = _LEADING_THE.sub("", folded) or folded
    return folded


def _loose_title(title: str) -> str:
    """The fallback title key: :func:`normalise` after dropping every bracketed part."""
    return normalise(_ANY_BRACKETED.sub(" ", title)) or normalise(title)


# --- the table -----------------------------------------------------------------------------------


def _strict_label(counts: Counts) -> str | None:
    """The class with the strictly largest count; None on a tie (or no tags at all)."""
    best = max(counts)
    if counts.count(best) > 1:
        return None
    return CLASSES[counts.index(best)]


@dataclass(frozen=True)
class ImacSong:
    """One row of the IMAC table."""

    msd_track_id: str
    title: str
    artist: str
    counts: Counts  # Last.fm tag counts in class order: positive, neutral, negative

    @property
    def label(self) -> str | None:
        return _strict_label(self.counts)


def load_table(path: Path | None = None) -> list[ImacSong]:
    """Read the IMAC table (default: the shipped one). Raises MoodtuiError if it is unreadable."""
    path = imac_table_path() if path is None else path
    songs = []
    try:
        with open(path, encoding="utf-8", newline="") as table:
            for line_number, row in enumerate(csv.reader(table), start=1):
                try:
                    msd_track_id, title, artist, scores = row
                    positive, neutral, negative = (int(n) for n in scores.split("_"))
                except ValueError:
                    raise MoodtuiError(
                        f"{display_path(path)}: line {line_number} is not msd_track_id,title,artist,pos_neu_neg"
                    ) from None
                songs.append(ImacSong(msd_track_id, title, artist, (positive, neutral, negative)))
    except (OSError, UnicodeDecodeError) as error:
        raise MoodtuiError(f"{display_path(path)}: cannot read the IMAC table ({error})") from None
    return songs


class ImacIndex:
    """The table's rows grouped by normalised (artist, title), with a looser fallback key."""

    def __init__(self, songs: Iterable[ImacSong]) -> None:
        self.by_key: dict[Key, list[ImacSong]] = {}
        self._by_loose_key: dict[Key, list[ImacSong]] = {}
        for song in songs:
            artist = normalise(song.artist, artist=True)
            self.by_key.setdefault((artist, normalise(song.title)), []).append(song)
            self._by_loose_key.setdefault((artist, _loose_title(song.title)), []).append(song)

    def lookup(self, artist: str, title: str) -> tuple[ImacSong, ...]:
        """All rows for this song (empty if none): the exact key first, else the loose key."""
        artist_key = normalise(artist, artist=True)
        songs = self.by_key.get((artist_key, normalise(title)))
        if songs is None:
            songs = self._by_loose_key.get((artist_key, _loose_title(title)), [])
        return tuple(songs)


@functools.cache
def shipped_index() -> ImacIndex:
    """The index of the shipped table (built once per process)."""
    return ImacIndex(load_table())


# --- tags ----------------------------------------------------------------------------------------


def _first_text(values: object) -> str | None:
    """The first non-empty string of a tag value (mutagen gives lists of str or of frames)."""
    if values is None:
        return None
    items = values if isinstance(values, list) else [values]
    for item in items:
        text = str(item).strip()
        if text:
            return text
    return None


def read_tags(path: Path) -> tuple[str, str] | None:
    """The (artist, title) tags of an audio file, or None if either is missing.

    Raises AudioError if mutagen does not recognise the file or cannot read it.
    """
    try:
        audio = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError) as error:
        raise AudioError(path, f"cannot read tags ({error})") from None
    if audio is None:
        raise AudioError(path, "not a recognised audio file")
    tags = audio.tags
    if tags is None:
        return None
    if isinstance(tags, ID3):  # WAVE and AIFF carry plain ID3 (no "easy" key names)
        artist, title = (_first_text([str(t) for t in tags.getall(k)]) for k in ("TPE1", "TIT2"))
    elif isinstance(tags, ASFTags):  # WMA
        artist, title = _first_text(tags.get("Author")), _first_text(tags.get("Title"))
    else:
        artist, title = _first_text(tags.get("artist")), _first_text(tags.get("title"))
    if artist is None or title is None:
        return None
    return artist, title


# --- matching a folder ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImacMatch:
    """A file of the listener's whose tags name a song in the IMAC table."""

    path: Path
    artist: str  # as tagged in the file
    title: str
    songs: tuple[ImacSong, ...]  # every IMAC row with this normalised artist and title

    @property
    def counts(self) -> Counts:
        positive, neutral, negative = (sum(column) for column in zip(*(s.counts for s in self.songs)))
        return positive, neutral, negative

    @property
    def label(self) -> str | None:
        return _strict_label(self.counts)


@dataclass
class ImacScan:
    """The outcome of scanning a folder: matched, unmatched and skipped files."""

    matches: list[ImacMatch] = field(default_factory=list)
    unmatched: list[tuple[Path, str, str]] = field(default_factory=list)  # (path, artist, title)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)

    @property
    def audio_file_count(self) -> int:
        return len(self.matches) + len(self.unmatched) + len(self.skipped)


def _audio_files(directory: Path, scan: ImacScan) -> list[Path]:
    """The library's audio files under ``directory`` (the player's walk: the same files, in the
    same order); unreadable folders are recorded as skipped."""

    def skip_folder(error: OSError) -> None:
        scan.skipped.append((Path(error.filename or directory), f"cannot list folder ({error.strerror})"))

    return [Path(entry.path) for entry in walk_audio_files(directory, on_error=skip_folder)]


def scan_directory(directory: Path, index: ImacIndex | None = None) -> ImacScan:
    """Read the tags of every audio file under ``directory`` (recursively) and look them up.

    Files without artist/title tags or that mutagen cannot read are recorded as skipped with the
    reason; this never raises for a bad file.
    """
    index = shipped_index() if index is None else index
    scan = ImacScan()
    for path in _audio_files(directory, scan):
        try:
            tags = read_tags(path)
        except AudioError as error:
            scan.skipped.append((path, error.cause))
            continue
        if tags is None:
            scan.skipped.append((path, "no artist/title tags"))
            continue
        artist, title = tags
        songs = index.lookup(artist, title)
        if songs:
            scan.matches.append(ImacMatch(path, artist, title, songs))
        else:
            scan.unmatched.append((path, artist, title))
    return scan


def match_directory(directory: Path) -> list[ImacMatch]:
    """The files under ``directory`` whose tags name an IMAC song (see :func:`scan_directory`)."""
    return scan_directory(directory).matches


def library_matches(tracks: Iterable[Track], index: ImacIndex | None = None) -> list[ImacMatch]:
    """The already scanned tracks (the library index's) whose artist and title name an IMAC song;
    tracks without an artist are not looked up (their title may be a file name)."""
    index = shipped_index() if index is None else index
    matches = []
    for track in tracks:
        if not track.artist or not track.title:
            continue
        songs = index.lookup(track.artist, track.title)
        if songs:
            matches.append(ImacMatch(Path(track.path), track.artist, track.title, songs))
    return matches


def training_rows(directory: Path) -> list[tuple[Path, str]]:
    """(file, label) for every matched file whose IMAC counts have a strict maximum."""
    return [(m.path, m.label) for m in match_directory(directory) if m.label is not None]
