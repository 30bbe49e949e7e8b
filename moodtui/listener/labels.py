"""The listener's labels: which songs they feel are positive, neutral or negative.

The labels live in ``data_home()/labels.json``, a TinyDB JSON file::

    {"meta":   {"1": {"schema": 1}},
     "labels": {"1": {"path": "/music/a.mp3", "fingerprint": "9f…", "label": "positive",
                      "labelled_at": "2025-01-01T12:00:00.000+00:00", "model_version": "v3",
                      "model_probs": {"positive": 0.7, "neutral": 0.2, "negative": 0.1},
                      "undone_at": null, "size": 4812305}, ...}}

Every label is an event, numbered in write order. Undo marks the latest event as undone, so the
song's previous label (if any) becomes current again and the history keeps everything the
training job may want. A song is its content fingerprint (:mod:`moodtui.listener.identity`), so a moved
or renamed file keeps its label; the path is a fallback for a file re-tagged in place.

Several processes write this file (the TUI, ``moodtui label`` in another terminal), and TinyDB's
own storage rewrites the file in place without a lock, so:

- every write goes to a temporary file in the same folder, is flushed and fsynced, then
  ``os.replace``-d over the database and the folder is fsynced: a ``kill -9`` or a power cut at
  any moment leaves the old database or the new one, never a torn one, and readers need no lock;
- every read-modify-write holds an exclusive ``flock`` on ``labels.json.lock`` and re-reads the
  file under it, so two writers never lose each other's labels. The holder writes its pid into
  the lock file so that a timed-out waiter can say who holds it.

A database that does not parse or has the wrong shape is moved aside to
``labels.json.corrupt-<UTC time>`` (kept, never deleted), reported through
:attr:`LabelStore.recovered_from` / :attr:`LabelStore.recovery_message`, and a fresh one starts.

Reads are cheap: the parsed database is kept in memory and reused as long as the file's
(device, inode, size, mtime) is unchanged; each write replaces the file (new inode) and gives it
an mtime strictly greater than the previous one, so another process's write is always noticed
(on file systems with nanosecond timestamps; on coarser ones two writes by other processes of
equal size within one timestamp tick could go unnoticed until the next write).
"""

from __future__ import annotations

import fcntl
import glob
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from moodtui import CLASSES
from moodtui.errors import AudioError, MoodtuiError, display_path
from moodtui.fileio import (
    TEMP_SUFFIX,
    atomic_write_bytes,
    is_disk_full,
    move_aside,
    temp_file_prefix,
    write_failure,
)
from moodtui.listener import identity
from moodtui.paths import data_home

LABELS_FILE_NAME = "labels.json"
SCHEMA_VERSION = 1
LOCK_TIMEOUT_S = 5.0
_LOCK_POLL_S = 0.01
_LABELS_TABLE = "labels"
_META_TABLE = "meta"

_T = TypeVar("_T")


@dataclass(frozen=True)
class LabelRecord:
    """One label event: the listener said ``label`` about the file with ``fingerprint``."""

    id: int
    """Event number, increasing in write order (the TinyDB document id)."""
    path: str
    """Absolute path of the file (updated when the file is found to have moved)."""
    fingerprint: str
    """Content fingerprint (:func:`moodtui.listener.identity.fingerprint`)."""
    label: str
    """One of :data:`moodtui.CLASSES`."""
    labelled_at: str
    """UTC time, ISO 8601."""
    model_version: str | None = None
    """The model in use when the label was given (None when unknown, e.g. from the CLI)."""
    model_probs: Mapping[str, float] | None = field(default=None, hash=False)
    """That model's song-level probabilities per class at that moment (read-only), or None."""
    undone_at: str | None = None
    """UTC time of the undo, or None while the event stands."""
    size: int | None = None
    """The file's size in bytes when labelled (None in records written without it): a moved file
    is looked for only among files of this size, so finding it costs a few reads, not a library's."""

    @property
    def undone(self) -> bool:
        return self.undone_at is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "id": self.id,
            "path": self.path,
            "fingerprint": self.fingerprint,
            "label": self.label,
            "labelled_at": self.labelled_at,
            "model_version": self.model_version,
            "model_probs": dict(self.model_probs) if self.model_probs is not None else None,
            "undone_at": self.undone_at,
            "size": self.size,
        }


class LabelStore:
    """The labels database at ``path``: safe to share between threads and between processes.

    Opening reads and checks the file (moving a corrupt one aside, see :attr:`recovered_from`);
    a missing file is an empty database, created on the first label.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        if self.path.is_symlink():
            # The listener linked the database elsewhere (a synced folder): write the file the
            # link names, beside it, so the link keeps working (os.replace would replace the link).
            self.path = Path(os.path.realpath(self.path))
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout
        self.recovered_from: Path | None = None
        """Where a corrupt database found by this store was moved, or None."""
        self.recovery_message: str | None = None
        """A one-line report of that recovery, or None."""
        self._snapshot: _Snapshot | None = None
        self._stale_temp_files_removed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MoodtuiError(
                f"cannot create the folder of labels database {display_path(self.path)}: {_reason(error)}"
            ) from error
        self._current()

    # -- reading --------------------------------------------------------------------------------

    def label_for(self, path: str | os.PathLike[str], fingerprint: str | None = None) -> LabelRecord | None:
        """The current label of the file at ``path``, or None.

        Looks the song up by content fingerprint first (computed from the file when not given),
        so a moved or renamed file keeps its label, then by path, so a file re-tagged in place
        keeps it too. When the file moved (the labelled path no longer exists) or was re-tagged
        (new fingerprint at the labelled path), the stored records are updated to the new path
        or fingerprint; that update is best effort and skipped if the database is busy or
        read-only, since the lookup works without it.
        """
        snapshot = self._current()
        if not snapshot.current:
            return None  # nothing labelled: do not read the file for its fingerprint
        where = _absolute(path)
        if fingerprint is None:
            try:
                fingerprint = identity.fingerprint(where)
            except AudioError:
                fingerprint = None  # a missing file can still be found by its path
        if fingerprint is not None:
            record = snapshot.current.get(fingerprint)
            if record is not None:
                moved = record.path != where and not os.path.exists(record.path)
                if moved and os.path.exists(where):
                    return self._relink(record, {"path": where})
                return record
        record = snapshot.by_path.get(where)
        if record is not None and fingerprint is not None and record.fingerprint != fingerprint:
            changes: dict[str, Any] = {"fingerprint": fingerprint}
            with suppress(OSError):
                changes["size"] = os.stat(where).st_size
            return self._relink(record, changes)
        return record

    def find_moved(self, files: Iterable[tuple[str | os.PathLike[str], int]]) -> list[LabelRecord]:
        """Re-link labelled songs whose file is gone to where they now are among ``files``.

        ``files`` are (path, size in bytes) pairs, e.g. a library scan. Only the files with the
        byte size of a missing song are fingerprinted, so a whole library costs a few reads.
        Returns the records re-linked (with their new path).
        """
        snapshot = self._current()
        present = {_absolute(path): size for path, size in files}
        missing = [
            record
            for record in snapshot.current.values()
            if record.size is not None and record.path not in present and not os.path.exists(record.path)
        ]
        if not missing:
            return []
        by_size: dict[int | None, list[str]] = {}
        for path, size in present.items():
            if path not in snapshot.by_path:  # a file that has a label of its own is not a moved one
                by_size.setdefault(size, []).append(path)
        fingerprints: dict[str, str | None] = {}
        moved = []
        for record in missing:
            for candidate in by_size.get(record.size, ()):
                if candidate not in fingerprints:
                    try:
                        fingerprints[candidate] = identity.fingerprint(candidate)
                    except AudioError:
                        fingerprints[candidate] = None
                if fingerprints[candidate] == record.fingerprint:
                    moved.append(self._relink(record, {"path": candidate}))
                    break
        return moved

    def labels_by_fingerprint(self) -> dict[str, LabelRecord]:
        """Every song's current label, keyed by fingerprint: one cheap read for a whole library."""
        return dict(self._current().current)

    def current_labels(self) -> list[LabelRecord]:
        """One current label per song, oldest first."""
        return list(self._current().current.values())

    def history(self) -> list[LabelRecord]:
        """Every label event, undone ones included, in write order."""
        return list(self._current().history)

    # -- writing --------------------------------------------------------------------------------

    def add_label(
        self,
        path: str | os.PathLike[str],
        label: str,
        *,
        model_version: str | None = None,
        model_probs: Mapping[str, float] | Sequence[float] | None = None,
        fingerprint: str | None = None,
    ) -> LabelRecord:
        """Record that the listener feels ``label`` about the file at ``path``; returns the event.

        ``model_probs`` is a mapping class -> probability or a sequence in :data:`CLASSES` order
        (a model output row). ``fingerprint`` skips reading the file when the caller knows it.
        Raises MoodtuiError for an unknown label, AudioError when the file cannot be read.
        """
        check_label(label)
        where = _absolute(path)
        if fingerprint is None:
            fingerprint = identity.fingerprint(where)
        try:
            size: int | None = os.stat(where).st_size
        except OSError:
            size = None
        document = {
            "path": where,
            "fingerprint": fingerprint,
            "label": label,
            "labelled_at": _utc_now(),
            "model_version": model_version,
            "model_probs": _probs_dict(model_probs),
            "undone_at": None,
            "size": size,
        }

        def insert(db: TinyDB, snapshot: _Snapshot) -> LabelRecord:
            if not snapshot.has_meta:
                db.table(_META_TABLE).insert({"schema": SCHEMA_VERSION})
            doc_id = db.table(_LABELS_TABLE, cache_size=0).insert(document)
            return _record_from_document(str(doc_id), document)

        return self._modify(insert)

    def undo_last(self) -> LabelRecord | None:
        """Undo the most recent label event that still stands; returns it (undone), or None."""

        def undo(db: TinyDB, snapshot: _Snapshot) -> LabelRecord | None:
            target = next((r for r in reversed(snapshot.history) if not r.undone), None)
            if target is None:
                return None
            undone_at = _utc_now()
            db.table(_LABELS_TABLE, cache_size=0).update({"undone_at": undone_at}, doc_ids=[target.id])
            return replace(target, undone_at=undone_at)

        return self._modify(undo)

    def _relink(self, record: LabelRecord, changes: dict[str, Any]) -> LabelRecord:
        """Point every event of ``record``'s song at a new path or fingerprint (best effort)."""

        def update(db: TinyDB, snapshot: _Snapshot) -> None:
            song = Query().fingerprint == record.fingerprint
            db.table(_LABELS_TABLE, cache_size=0).update(changes, song)

        with suppress(MoodtuiError):
            self._modify(update)
        return replace(record, **changes)

    # -- the file -------------------------------------------------------------------------------

    def _modify(self, change: Callable[[TinyDB, _Snapshot], _T]) -> _T:
        """Run ``change`` on the freshly read database under the cross-process lock."""
        with self._locked():
            snapshot = self._current_locked()
            # A fresh TinyDB per change: a long-lived one caches the next document id, which
            # another process's insert makes stale.
            db = TinyDB(self.path, storage=_AtomicJSONStorage)
            try:
                self._remove_stale_temp_files()
                result = change(db, snapshot)
            except OSError as error:
                raise MoodtuiError(
                    write_failure(self.path, error)
                    if is_disk_full(error)
                    else f"cannot write labels database {display_path(self.path)}: {_reason(error)}"
                ) from error
            finally:
                db.close()
            storage = db.storage
            assert isinstance(storage, _AtomicJSONStorage)
            written = storage.written
            if written is not None:
                # What was just written is the database now: no need to read it back.
                data, signature = written
                self._snapshot = _Snapshot.build(signature, *_check_database(data, self.path, snapshot.documents))
            return result

    def _current(self) -> _Snapshot:
        """The database as it is now (from memory when the file has not changed)."""
        try:
            return self._read_snapshot()
        except _CorruptDatabase:
            with self._locked():
                return self._current_locked()

    def _current_locked(self) -> _Snapshot:
        """Like :meth:`_current`, for a caller holding the lock: may move a corrupt file aside."""
        try:
            return self._read_snapshot()
        except _CorruptDatabase as corrupt:
            self._move_aside(corrupt.reason)
            return _EMPTY_SNAPSHOT

    def _read_snapshot(self) -> _Snapshot:
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                signature = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
                cached = self._snapshot
                if cached is not None and cached.signature == signature:
                    return cached
                raw = handle.read()
        except FileNotFoundError:
            return _EMPTY_SNAPSHOT
        except OSError as error:
            raise MoodtuiError(f"cannot read labels database {display_path(self.path)}: {_reason(error)}") from error
        known = self._snapshot.documents if self._snapshot is not None else {}
        snapshot = _Snapshot.build(signature, *_parse_database(raw, self.path, known))
        self._snapshot = snapshot
        return snapshot

    def _move_aside(self, reason: str) -> None:
        try:
            aside = move_aside(self.path, "corrupt")
        except OSError as error:
            raise MoodtuiError(
                f"labels database {display_path(self.path)} is unreadable ({reason}) "
                f"and could not be moved aside: {_reason(error)}"
            ) from error
        self.recovered_from = aside
        self.recovery_message = (
            f"labels database {display_path(self.path)} was unreadable ({reason}); "
            f"kept it as {display_path(aside)} and started a new one"
        )

    def _remove_stale_temp_files(self) -> None:
        """Delete temporary files left by writers killed mid-write (the caller holds the lock)."""
        if self._stale_temp_files_removed:
            return
        pattern = os.path.join(glob.escape(str(self.path.parent)), temp_file_prefix(self.path) + "*" + TEMP_SUFFIX)
        for stale in glob.glob(pattern):
            with suppress(FileNotFoundError):
                os.unlink(stale)
        self._stale_temp_files_removed = True

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the cross-process lock (waiting up to ``lock_timeout`` seconds)."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise MoodtuiError(f"cannot open lock file {display_path(self.lock_path)}: {_reason(error)}") from error
        try:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise MoodtuiError(
                            f"labels database {display_path(self.path)} is locked by another "
                            f"moodtui process ({_lock_holder(fd)})"
                        ) from None
                    time.sleep(_LOCK_POLL_S)
            # The pid only helps a timed-out waiter name the holder: on a full disk writing it
            # fails (ENOSPC), which must not stop the write it guards from being tried.
            with suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            try:
                yield
            finally:
                with suppress(OSError):
                    os.ftruncate(fd, 0)  # the pid means "holder" only while the lock is held
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def default_store() -> LabelStore:
    """The labels database of the data folder (``data_home()/labels.json``)."""
    return LabelStore(data_home() / LABELS_FILE_NAME)


def check_label(label: str) -> None:
    """Raise a one-line MoodtuiError unless ``label`` is one of :data:`moodtui.CLASSES`."""
    if label not in CLASSES:
        raise MoodtuiError(f"unknown label {label!r}: use one of {', '.join(CLASSES)}")


# -- internals ------------------------------------------------------------------------------------


class _CorruptDatabase(Exception):
    """The file is not a labels database; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Snapshot:
    """The parsed database at one moment, with the indexes that reads need."""

    signature: tuple[int, int, int, int] | None
    has_meta: bool
    history: tuple[LabelRecord, ...]
    current: Mapping[str, LabelRecord]
    """Current label per fingerprint, in event order."""
    by_path: Mapping[str, LabelRecord]
    """Current label per stored path."""
    documents: Mapping[str, tuple[dict[str, Any], LabelRecord]]
    """Document id -> (stored document, its record): the next read reuses unchanged ones."""

    @classmethod
    def build(
        cls,
        signature: tuple[int, int, int, int] | None,
        has_meta: bool,
        documents: Mapping[str, tuple[dict[str, Any], LabelRecord]],
    ) -> _Snapshot:
        history = tuple(sorted((record for _, record in documents.values()), key=lambda r: r.id))
        current: dict[str, LabelRecord] = {}
        for record in history:
            if not record.undone:
                current.pop(record.fingerprint, None)  # re-insert: keep event order
                current[record.fingerprint] = record
        by_path = {record.path: record for record in current.values()}
        return cls(signature, has_meta, history, current, by_path, documents)


_EMPTY_SNAPSHOT = _Snapshot.build(None, False, {})


class _AtomicJSONStorage(Storage):
    """TinyDB storage that replaces the whole file atomically on every write.

    An instance lives for one change made under the store's lock, so nobody else writes the
    file meanwhile: the file is parsed once, on the first read, and later reads return the data
    as last read or written (TinyDB reads the table twice per insert).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._data: dict[str, dict[str, Any]] | None = None
        self.written: tuple[dict[str, dict[str, Any]], tuple[int, int, int, int]] | None = None
        """The data last written and the file's signature, or None before any write."""

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._data is None:
            try:
                raw = self._path.read_bytes()
            except FileNotFoundError:
                return None
            self._data = json.loads(raw) if raw.strip() else None
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        # ensure_ascii (the default): file names that are not valid UTF-8 survive as \udcNN.
        signature = _atomic_write(self._path, json.dumps(data).encode("ascii"))
        self._data = data
        self.written = (data, signature)


def _atomic_write(path: Path, payload: bytes) -> tuple[int, int, int, int]:
    """Replace ``path`` by a file holding ``payload``, durably and atomically.

    Returns the new file's signature (device, inode, size, mtime), as readers compute it; the mtime
    is strictly later than the old file's, so readers' caches notice this write (module docstring).
    """
    info = atomic_write_bytes(path, payload, later_mtime=True)
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _lock_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


def _parse_database(
    raw: bytes, path: Path, known: Mapping[str, tuple[dict[str, Any], LabelRecord]]
) -> tuple[bool, dict[str, tuple[dict[str, Any], LabelRecord]]]:
    """(has meta, {document id: (document, record)}) of a database file's bytes.

    ``known`` holds the documents of the previous read: an identical document reuses its
    already-checked record, which makes re-reading after a write several times faster.
    Raises _CorruptDatabase when the file is not a labels database.
    """
    if not raw.strip():
        return False, {}  # an empty file is an empty database (TinyDB's convention)
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise _CorruptDatabase(f"invalid JSON: {error}") from error
    return _check_database(data, path, known)


def _check_database(
    data: object, path: Path, known: Mapping[str, tuple[dict[str, Any], LabelRecord]]
) -> tuple[bool, dict[str, tuple[dict[str, Any], LabelRecord]]]:
    """Like :func:`_parse_database`, for data already decoded from JSON."""
    if not isinstance(data, dict):
        raise _CorruptDatabase("not a JSON object")
    meta = data.get(_META_TABLE, {})
    labels = data.get(_LABELS_TABLE, {})
    if not isinstance(meta, dict) or not isinstance(labels, dict):
        raise _CorruptDatabase("tables are not JSON objects")
    if meta:
        meta_document = meta.get("1")
        schema = meta_document.get("schema") if isinstance(meta_document, dict) else None
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise _CorruptDatabase("bad schema version")
        if schema > SCHEMA_VERSION:
            # Not corrupt: written by a newer moodtui. Moving it aside would hide its labels.
            raise MoodtuiError(
                f"labels database {display_path(path)} has schema {schema}, newer than this "
                f"moodtui's {SCHEMA_VERSION}: upgrade moodtui"
            )
    documents = {}
    for doc_id, document in labels.items():
        previous = known.get(doc_id)
        if previous is not None and previous[0] == document:
            documents[doc_id] = previous
        else:
            documents[doc_id] = (document, _record_from_document(doc_id, document))
    return bool(meta), documents


def _record_from_document(doc_id: str, document: object) -> LabelRecord:
    """A LabelRecord from one stored document; raises _CorruptDatabase when it is malformed."""
    if not (isinstance(doc_id, str) and doc_id.isdigit()) or not isinstance(document, dict):
        raise _CorruptDatabase(f"malformed label {doc_id!r}")

    def optional_text(name: str) -> str | None:
        value = document.get(name)
        return None if value is None else text(name)

    def text(name: str) -> str:
        value = document.get(name)
        if isinstance(value, str) and value:
            return value
        raise _CorruptDatabase(f"label {doc_id}: bad {name!r}")

    label = text("label")
    if label not in CLASSES:
        raise _CorruptDatabase(f"label {doc_id}: unknown label {label!r}")
    probs = document.get("model_probs")
    if probs is not None:
        valid = (
            isinstance(probs, dict)
            and set(probs) == set(CLASSES)
            and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in probs.values())
        )
        if not valid:
            raise _CorruptDatabase(f"label {doc_id}: bad 'model_probs'")
        probs = MappingProxyType({name: float(probs[name]) for name in CLASSES})
    return LabelRecord(
        id=int(doc_id),
        path=text("path"),
        fingerprint=text("fingerprint"),
        label=label,
        labelled_at=text("labelled_at"),
        model_version=optional_text("model_version"),
        model_probs=probs,
        undone_at=optional_text("undone_at"),
        size=_size(doc_id, document.get("size")),
    )


def _size(doc_id: str, value: object) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise _CorruptDatabase(f"label {doc_id}: bad 'size'")


def _probs_dict(model_probs: Mapping[str, float] | Sequence[float] | None) -> dict[str, float] | None:
    """Model probabilities as {class: float} in class order; ValueError when malformed."""
    if model_probs is None:
        return None
    if isinstance(model_probs, Mapping):
        if set(model_probs) != set(CLASSES):
            raise ValueError(f"model_probs must have the keys {CLASSES}, got {sorted(model_probs)}")
        values = [float(model_probs[name]) for name in CLASSES]
    else:
        values = [float(value) for value in model_probs]
        if len(values) != len(CLASSES):
            raise ValueError(f"model_probs must have {len(CLASSES)} values, got {len(values)}")
    if not all(math.isfinite(value) for value in values):
        raise ValueError(f"model_probs must be finite, got {values}")
    return dict(zip(CLASSES, values))


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fsdecode(path))


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
