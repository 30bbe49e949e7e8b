"""The music library: find audio files under a folder and read their tags, with an index cache.

:func:`scan` walks a folder and yields batches of :class:`Track` as it goes, so that a table can
fill while a big library is still being scanned. Tags are read with mutagen only for files that
the :class:`LibraryIndex` (a table in the sqlite cache) does not already know with the same size
and modification time, so a second start is close to instant. A file whose tags cannot be read
still becomes a Track, with ``error`` set to a one-line reason: a scan never fails on one file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import mutagen

from moodtui.audio.decode import check_readable
from moodtui.audio.formats import NOT_AUDIO_TEXT, format_of, listed_extensions, looks_like_text
from moodtui.errors import AudioError, MoodtuiError, display_path
from moodtui.paths import demo_library_dir
from moodtui.sqlite_cache import Cache

DEFAULT_BATCH_SIZE = 200


@dataclass(frozen=True, slots=True)
class Track:
    """One audio file of the library, as its tags describe it."""

    path: Path
    title: str
    """The title tag, or the file name without its extension when the tag is missing."""
    artist: str | None
    album: str | None
    track_number: int | None
    duration_s: float | None
    size: int
    mtime_ns: int
    error: str | None = None
    """Why the file's tags could not be read (one line), or None."""


@dataclass(slots=True)
class ScanStats:
    """What a scan did; a caller passes one in and reads it during or after the scan."""

    files: int = 0
    """Tracks yielded so far."""
    tag_reads: int = 0
    """Files whose tags were read with mutagen (the others came from the index)."""
    removed: int = 0
    """Index entries dropped because their file has vanished (known once the scan completes)."""


LIBRARY_SCHEMA = """
CREATE TABLE IF NOT EXISTS library_tracks (
    path BLOB PRIMARY KEY,  -- os.fsencode(path): file names need not be valid UTF-8
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT NOT NULL,
    artist TEXT,
    album TEXT,
    track_number INTEGER,
    duration_s REAL,
    error TEXT
) WITHOUT ROWID;
"""

_COLUMNS = "path, size, mtime_ns, title, artist, album, track_number, duration_s, error"


class LibraryIndex:
    """The tags of files already seen, keyed by path and valid for one (size, mtime_ns)."""

    def __init__(self, cache: Cache | None = None) -> None:
        """Use the ``library_tracks`` table of ``cache`` (by default the data folder's cache)."""
        self.cache = cache if cache is not None else Cache()
        self.cache.ensure_schema("library", LIBRARY_SCHEMA)

    def entries_under(self, directory: str | Path) -> dict[bytes, Track]:
        """Every indexed track below ``directory``, keyed by its ``os.fsencode`` path."""
        return {key: _track_from_row(row) for key, row in self._rows_under(directory).items()}

    def _rows_under(self, directory: str | Path) -> dict[bytes, tuple]:
        # Raw rows: a scan builds Tracks only as it reaches their files, so its first batch is quick.
        prefix = os.fsencode(os.path.join(directory, ""))
        # Paths below DIR/ sort between b"DIR/" and b"DIR0" ("0" follows "/" in ASCII).
        upper = prefix[:-1] + bytes([prefix[-1] + 1])
        rows = self.cache.connect().execute(
            f"SELECT {_COLUMNS} FROM library_tracks WHERE path >= ? AND path < ?", (prefix, upper)
        )
        return {row[0]: row for row in rows}

    def put(self, tracks: Iterable[Track]) -> None:
        """Store (or replace) tracks, all in one transaction."""
        rows = [
            (
                os.fsencode(t.path), t.size, t.mtime_ns, t.title, t.artist, t.album,
                t.track_number, t.duration_s, t.error,
            )
            for t in tracks
        ]  # fmt: skip
        if not rows:
            return
        with self.cache.writing() as connection:
            connection.executemany(
                f"INSERT OR REPLACE INTO library_tracks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def remove(self, paths: Iterable[bytes | str | Path]) -> None:
        """Forget these paths, all in one transaction."""
        keys = [(p if isinstance(p, bytes) else os.fsencode(p),) for p in paths]
        if not keys:
            return
        with self.cache.writing() as connection:
            connection.executemany("DELETE FROM library_tracks WHERE path = ?", keys)


def _track_from_row(row: tuple, path: Path | None = None) -> Track:
    key, size, mtime_ns, title, artist, album, track_number, duration_s, error = row
    return Track(
        path=path if path is not None else Path(os.fsdecode(key)), title=title, artist=artist, album=album,
        track_number=track_number, duration_s=duration_s, size=size, mtime_ns=mtime_ns, error=error,
    )  # fmt: skip


def scan(
    directory: str | Path,
    index: LibraryIndex | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stats: ScanStats | None = None,
) -> Iterator[list[Track]]:
    """Yield the audio files below ``directory`` as batches of Tracks, while walking.

    The walk is recursive and sorted by name; it follows symbolic links but never enters a
    folder twice (no loops) and skips hidden files and folders (names starting with "."), and
    folders it may not read. With an ``index``, tags are read only for new or changed files,
    new tags are stored batch by batch, and once the walk completes, entries for files below
    ``directory`` that no longer exist are removed (not when the caller stops early).

    Raises MoodtuiError (on the first ``next``) when ``directory`` is not a readable folder.
    """
    root = Path(directory).expanduser().absolute()
    if not root.is_dir():
        raise MoodtuiError(f"{display_path(root)}: no such folder")
    try:
        with os.scandir(root):
            pass
    except OSError as error:  # not "no audio files": the listener should know it is unreadable
        raise MoodtuiError(f"{display_path(root)}: cannot read the folder ({_reason(error).lower()})") from None
    stats = stats if stats is not None else ScanStats()
    known = index._rows_under(root) if index is not None else {}
    seen: set[bytes] = set()
    batch: list[Track] = []
    fresh: list[Track] = []  # read with mutagen in this batch: to store in the index

    def unreadable_folder(error: OSError) -> None:
        # Listed like a broken file (the errors screen, export's failures), never silently skipped.
        folder = Path(os.fsdecode(error.filename)) if error.filename else root
        batch.append(_error_track(folder, 0, 0, f"cannot read the folder ({_reason(error).lower()})"))

    for entry in walk_audio_files(root, on_error=unreadable_folder):
        key = os.fsencode(entry.path)
        try:
            info = entry.stat()
        except OSError as error:
            # A dangling symbolic link, or a file removed during the scan: nothing to index.
            batch.append(_error_track(Path(entry.path), 0, 0, _reason(error)))
        else:
            seen.add(key)
            row = known.get(key)
            if row is not None and row[1:3] == (info.st_size, info.st_mtime_ns):  # see _COLUMNS
                batch.append(with_folder_layout(_track_from_row(row, Path(entry.path)), root))
            else:
                track = read_track(Path(entry.path), info.st_size, info.st_mtime_ns)
                stats.tag_reads += 1
                fresh.append(track)  # the index keeps the tags as they are; the layout is the scan's
                batch.append(with_folder_layout(track, root))
        if len(batch) >= batch_size:
            yield _flush(batch, fresh, index, stats)
            batch, fresh = [], []
    if batch:
        yield _flush(batch, fresh, index, stats)
    if index is not None:
        vanished = known.keys() - seen
        index.remove(vanished)
        stats.removed = len(vanished)


def _flush(batch: list[Track], fresh: list[Track], index: LibraryIndex | None, stats: ScanStats) -> list[Track]:
    if index is not None:
        index.put(fresh)
    stats.files += len(batch)
    return batch


@dataclass(frozen=True, slots=True)
class LinkedFile:
    """A file the walk reached through a symbolic link, named by the path the link resolves to
    (the same file under two names is one song). Has what the walk's callers use of an
    ``os.DirEntry``: ``path``, ``name``, ``stat()``."""

    path: str
    info: os.stat_result

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def stat(self) -> os.stat_result:
        return self.info


def walk_audio_files(
    root: str | os.PathLike[str],
    *,
    on_error: Callable[[OSError], None] | None = None,
    extensions: frozenset[str] | None = None,
) -> Iterator[os.DirEntry[str] | LinkedFile]:
    """THE folder walk of moodtui: every audio file below ``root`` that the library lists.

    Depth-first and sorted by name, the files of a folder before its subfolders. Follows symbolic
    links but never enters a folder twice (no loops); skips hidden files and folders (names
    starting with "."). A folder that cannot be read is skipped (``on_error`` is told). Listed
    are the extensions of :func:`moodtui.audio.formats.listed_extensions` (by default: what decodes
    on this machine). Each file is listed once: a symbolically linked file by its resolved path
    (:class:`LinkedFile`), and not again under another name. A link that leads nowhere (dangling,
    or a loop of links) is listed as it is, so that ``entry.stat()`` says why.
    """
    wanted = listed_extensions() if extensions is None else extensions
    files_seen: set[tuple[int, int]] = set()
    visited: set[tuple[int, int]] = set()
    pending = [os.fspath(root)]
    while pending:
        folder = pending.pop()
        try:
            folder_stat = os.stat(folder)
            if (folder_stat.st_dev, folder_stat.st_ino) in visited:
                continue  # a symbolic link back to a folder already walked
            visited.add((folder_stat.st_dev, folder_stat.st_ino))
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as error:
            if on_error is not None:
                on_error(error)
            continue  # unreadable folder: skip it rather than fail the whole walk
        subfolders = []
        for child in children:
            if child.name.startswith("."):
                continue
            try:
                is_dir = child.is_dir()  # follows symbolic links
            except OSError:
                is_dir = False  # a loop of links: listed below when named like audio, so it is reported
            if is_dir:
                subfolders.append(child.path)
            elif os.path.splitext(child.name)[1].lower() in wanted:
                if not child.is_symlink():
                    identity = (folder_stat.st_dev, child.inode())
                    if identity not in files_seen:
                        files_seen.add(identity)
                        yield child
                    continue
                try:
                    info = child.stat()  # the link's target
                except OSError:
                    yield child  # dangling, or a loop: the caller's stat() says so
                    continue
                if (info.st_dev, info.st_ino) not in files_seen:
                    files_seen.add((info.st_dev, info.st_ino))
                    yield LinkedFile(os.path.realpath(child.path), info)
        pending.extend(reversed(subfolders))


def expand_folders(paths: Iterable[str]) -> list[tuple[str, str | None]]:
    """The paths a command was given, each folder replaced by the audio files below it, in order.

    For ``moodtui predict DIR`` and ``moodtui label DIR MOOD``: a folder is walked as the library
    walks it (:func:`walk_audio_files`: sorted, hidden files skipped, each file once); files are
    kept as given (a file the library would not list is still tried, and says why it fails).
    Each entry is ``(path, None)``, or ``(folder, reason)`` for a folder with no audio file in it
    or one that cannot be read, in its place.
    """
    expanded: list[tuple[str, str | None]] = []
    for path in paths:
        if not os.path.isdir(path):
            expanded.append((path, None))
            continue
        unreadable: list[OSError] = []
        found = [(entry.path, None) for entry in walk_audio_files(path, on_error=unreadable.append)]
        for error in unreadable:
            expanded.append(
                (os.fsdecode(error.filename or path), f"cannot read the folder ({error.strerror or error})")
            )
        if not found and not unreadable:
            expanded.append((path, "no audio files in this folder"))
        expanded.extend(found)
    return expanded


def is_listed(
    path: str | os.PathLike[str], root: str | os.PathLike[str], extensions: frozenset[str] | None = None
) -> bool:
    """Whether :func:`walk_audio_files` of ``root`` would list ``path`` (by its name only)."""
    if not _inside_and_visible(path, root):
        return False
    wanted = listed_extensions() if extensions is None else extensions
    return os.path.splitext(os.fspath(path))[1].lower() in wanted


def _inside_and_visible(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is below ``root`` with no hidden name (".") on the way."""
    relative = Path(os.path.relpath(path, root))
    return relative.parts[:1] != ("..",) and not any(part.startswith(".") for part in relative.parts)


_DISC_FOLDER = re.compile(r"^(cd|dis[ck])\s*\d+$", re.IGNORECASE)


def folder_layout(path: Path, root: Path) -> tuple[str | None, str | None]:
    """(artist, album) from the folders between ``root`` and ``path``: ``Artist/Album/song``
    (a trailing ``CD1`` / ``Disc 2`` folder is passed over) or ``Artist - Album/song``."""
    try:
        folders = list(path.relative_to(root).parts[:-1])
    except ValueError:
        return None, None
    while folders and _DISC_FOLDER.match(folders[-1]):
        folders.pop()
    if len(folders) >= 2:
        return display_path(folders[-2]), display_path(folders[-1])
    if len(folders) == 1 and " - " in folders[0]:
        artist, album = folders[0].split(" - ", 1)
        return display_path(artist.strip()) or None, display_path(album.strip()) or None
    return None, None


def with_folder_layout(track: Track, root: Path) -> Track:
    """``track`` with a missing artist or album taken from the folder layout (tags win)."""
    if track.artist is not None and track.album is not None:
        return track
    artist, album = folder_layout(track.path, root)
    if (track.artist or artist) == track.artist and (track.album or album) == track.album:
        return track
    return replace(track, artist=track.artist or artist, album=track.album or album)


def scan_paths(
    root: str | Path, paths: Iterable[str | os.PathLike[str]], index: LibraryIndex | None = None
) -> tuple[list[Track], list[Path]]:
    """Look at some paths below ``root`` again (what a file watcher reported changed).

    Returns the tracks of listed files that exist (tags from the index when the file is
    unchanged; a folder given is walked) and the paths that are gone, which are dropped from the
    index (a gone folder stands for everything below it).
    """
    root = Path(root).expanduser().absolute()
    extensions = listed_extensions()
    found: list[Track] = []
    gone: list[Path] = []
    fresh: list[Track] = []
    entries: list[tuple[Path, os.stat_result]] = []
    for raw in dict.fromkeys(os.fspath(p) for p in paths):
        path = Path(raw)
        try:
            info = path.stat()
        except FileNotFoundError:
            if _inside_and_visible(path, root):
                gone.append(path)
            continue
        except OSError:
            continue
        if path.is_dir():
            if _inside_and_visible(path, root):
                for entry in walk_audio_files(path, extensions=extensions):
                    try:
                        entries.append((Path(entry.path), entry.stat()))
                    except OSError:
                        continue
        elif is_listed(path, root, extensions):
            entries.append((path, info))
    known = {} if index is None else _rows_for(index, [p for p, _ in entries])
    for path, info in entries:
        row = known.get(os.fsencode(path))
        if row is not None and row[1:3] == (info.st_size, info.st_mtime_ns):
            track = _track_from_row(row, path)
        else:
            track = read_track(path, info.st_size, info.st_mtime_ns)
            fresh.append(track)
        found.append(with_folder_layout(track, root))
    if index is not None:
        index.put(fresh)
        gone_keys: list[bytes] = []
        for path in gone:
            gone_keys.append(os.fsencode(path))
            gone_keys.extend(index._rows_under(path))
        index.remove(gone_keys)
    return found, gone


def _rows_for(index: LibraryIndex, paths: list[Path]) -> dict[bytes, tuple]:
    rows: dict[bytes, tuple] = {}
    for folder in {p.parent for p in paths}:
        rows.update(index._rows_under(folder))
    return rows


# Tag keys in mutagen's "easy" interface, then the names it does not translate: raw ID3 frames
# (ID3 in wav and aiff files has no easy interface) and ASF (wma) attributes.
_TAG_KEYS = {
    "title": ("title", "TIT2", "Title"),
    "artist": ("artist", "albumartist", "TPE1", "TPE2", "Author", "WM/AlbumArtist"),
    "album": ("album", "TALB", "WM/AlbumTitle"),
    "track_number": ("tracknumber", "TRCK", "WM/TrackNumber"),
}


def read_track(path: Path, size: int, mtime_ns: int) -> Track:
    """Read one file's tags with mutagen; failures become a Track with ``error`` set, the reason
    worded as the decoder words it (not a regular file, empty file, not audio, not a readable ...)."""
    try:
        check_readable(path)  # before mutagen opens it: a FIFO would block
    except AudioError as error:
        return _error_track(path, size, mtime_ns, error.cause)
    try:
        audio = mutagen.File(path, easy=True)
    except Exception as error:  # mutagen raises many kinds on broken files; none may stop a scan
        return _error_track(path, size, mtime_ns, _unreadable(path, error))
    if audio is None:
        return _error_track(path, size, mtime_ns, _unreadable(path, None))
    tags = audio.tags or {}
    length = getattr(audio.info, "length", None)
    number = _first_tag(tags, _TAG_KEYS["track_number"])
    return Track(
        path=path,
        title=_first_tag(tags, _TAG_KEYS["title"]) or _title_from_name(path),
        artist=_first_tag(tags, _TAG_KEYS["artist"]),
        album=_first_tag(tags, _TAG_KEYS["album"]),
        track_number=_parse_track_number(number),
        duration_s=float(length) if length else None,
        size=size,
        mtime_ns=mtime_ns,
    )


def _first_tag(tags, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        try:
            values = tags.get(key)
        except (KeyError, ValueError):  # easy interfaces raise on keys they do not know
            values = None
        if values:
            text = _clean_text(str(values[0] if isinstance(values, list) else values))
            if text:
                return text
    return None


def _clean_text(text: str) -> str:
    # Tags may hold NULs, line breaks or lone surrogates that a table or sqlite cannot take.
    text = " ".join(text.replace("\x00", " ").split())
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _parse_track_number(text: str | None) -> int | None:
    """ "3", "3/12", "03" -> 3; anything else -> None."""
    if not text:
        return None
    head = text.split("/")[0].strip()
    return int(head) if head.isdigit() else None


def _title_from_name(path: Path) -> str:
    return display_path(path.stem)


def _error_track(path: Path, size: int, mtime_ns: int, reason: str) -> Track:
    return Track(
        path=path, title=_title_from_name(path), artist=None, album=None, track_number=None,
        duration_s=None, size=size, mtime_ns=mtime_ns, error=reason,
    )  # fmt: skip


def _unreadable(path: Path, error: Exception | None) -> str:
    """Why mutagen could not read ``path``: "not audio" for text, else "not a readable <format> file"."""
    try:
        if looks_like_text(path):
            return NOT_AUDIO_TEXT
    except OSError as os_error:
        return f"cannot read ({_reason(os_error)})"
    fmt = format_of(path)
    kind = fmt.name if fmt is not None else (path.suffix.lower().lstrip(".") or "audio")
    if error is None:
        return f"not a readable {kind} file (format not recognised)"
    # A codec error is mutagen reading a damaged header as text: not a cause the listener can use.
    detail = "damaged header" if isinstance(error, UnicodeError) else _reason(error)
    return f"not a readable {kind} file ({detail})"


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = " ".join(str(error).split())
    return text or type(error).__name__


def resolve_library_dir(arg: str | None) -> tuple[Path, str | None]:
    """The folder to play from, and a notice for the user when it is not the one asked for.

    An explicit ``arg`` must be an existing folder (MoodtuiError otherwise). Without it the
    library is ~/Music; when that does not exist or holds no audio file, the bundled demo
    library is used instead, with a notice saying so.
    """
    if arg is not None:
        folder = Path(arg).expanduser()
        if not folder.is_dir():
            raise MoodtuiError(f"{display_path(folder)}: no such folder")
        return folder, None
    music = Path.home() / "Music"
    if not music.is_dir():
        reason = f"{display_path(music)} does not exist"
    elif not _holds_audio(music):
        reason = f"no audio files in {display_path(music)}"
    else:
        return music, None
    return demo_library_dir(), f"{reason}: playing the demo library"


def _holds_audio(folder: Path) -> bool:
    """True as soon as the walk finds one audio file (it does not walk the whole folder)."""
    return next(walk_audio_files(folder), None) is not None


__all__ = [
    "LibraryIndex",
    "ScanStats",
    "Track",
    "folder_layout",
    "is_listed",
    "read_track",
    "resolve_library_dir",
    "scan",
    "scan_paths",
    "LinkedFile",
    "walk_audio_files",
    "with_folder_layout",
]
