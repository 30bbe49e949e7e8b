"""The sqlite cache shared by the library index and the analysis cache (``data_home()/cache.sqlite``).

Everything in it can be rebuilt from the music files, so losing it costs only time.

Concurrency: the database is in WAL mode (readers never block the writer) with a busy timeout, so
several moodtui processes can use it at once. Each thread gets its own connection (sqlite
connections must not be shared between threads that use them at the same time); write through
:meth:`Cache.transaction`, which takes the write lock up front (``BEGIN IMMEDIATE``) so that two
writers queue on the busy timeout instead of failing with "database is locked" half way through.

Adding a table: a module keeps its ``CREATE TABLE IF NOT EXISTS ...`` script in a constant and
calls :meth:`Cache.ensure_schema` with a name of its own before its first query (see
``moodtui.library.scan.LibraryIndex``). To change a table's layout, give the table a new name (for
example ``analysis_v2``): old databases then simply grow the new table.

A damaged cache (not a database, a truncated or corrupt file, a folder in its place) is moved aside
(``cache.sqlite.corrupt-<UTC time>``, with its ``-wal`` / ``-shm``) when a :class:`Cache` first
opens it, and a new one starts: :attr:`Cache.recovery_notice` says so once. Only damage found at
that first opening is repaired this way (``PRAGMA quick_check``: ~50 ms for a 130 MB cache).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moodtui.errors import MoodtuiError, display_path
from moodtui.fileio import is_disk_full, move_aside, write_failure
from moodtui.paths import data_home

CACHE_FILE_NAME = "cache.sqlite"
BUSY_TIMEOUT_S = 30.0
SIDE_FILE_SUFFIXES = ("-wal", "-shm", "-journal")
"""sqlite's files beside the database: they go with it when it is moved aside (a stale WAL would be
replayed into the new database)."""


class Cache:
    """One sqlite database file, with one connection per thread and per-module schemas."""

    def __init__(self, path: str | Path | None = None) -> None:
        """Open (lazily) the cache at ``path``, by default ``data_home()/cache.sqlite``."""
        self.path = Path(path) if path is not None else data_home() / CACHE_FILE_NAME
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._schemas_done: set[str] = set()
        self.write_failure: str | None = None
        """Why the last :meth:`writing` transaction failed, or None."""
        self.recovery_notice: str | None = None
        """Set when this Cache moved a damaged database aside and started a new one (say it once:
        :meth:`take_recovery_notice`)."""
        self._checked = False  # the file was checked for damage (first connection of this object)
        self._check_lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """The calling thread's connection (created on first use), in autocommit mode.

        The first connection checks the database and replaces a damaged one (see the module)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._checked:
                connection = self._open()
            else:
                with self._check_lock:
                    connection = self._open() if self._checked else self._open_checked()
                    self._checked = True
        except sqlite3.DatabaseError as error:
            if is_disk_full(error, self.path):  # nothing is wrong with the file: deleting it would not help
                raise MoodtuiError(write_failure(self.path, error)) from error
            raise MoodtuiError(f"{display_path(self.path)}: cannot open the cache ({error})") from error
        except OSError as error:
            raise MoodtuiError(
                f"{display_path(self.path)}: cannot open the cache ({error.strerror or error})"
            ) from error
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def take_recovery_notice(self) -> str | None:
        """:attr:`recovery_notice` the first time it is asked for (one notice however many ask)."""
        with self._lock:
            notice, self.recovery_notice = self.recovery_notice, None
        return notice

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; writers use transaction().
        # check_same_thread=False only so that close() can close every thread's connection.
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            _enable_wal(connection)
            # NORMAL is durable enough for a cache and avoids an fsync per transaction in WAL mode.
            connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            connection.close()
            raise
        return connection

    def _open_checked(self) -> sqlite3.Connection:
        """Open the database; when it is damaged, move it aside and open a new one."""
        try:
            identity = os.stat(self.path)
        except FileNotFoundError:
            return self._open()  # a new cache
        if not os.path.isfile(self.path):
            return self._replace_damaged(identity, "a folder" if os.path.isdir(self.path) else "not a regular file")
        try:
            connection = self._open()
        except sqlite3.DatabaseError as error:
            if not _is_damage(error):
                raise
            return self._replace_damaged(identity, str(error))
        try:
            verdict = connection.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.DatabaseError as error:
            connection.close()
            if not _is_damage(error):
                raise
            return self._replace_damaged(identity, str(error))
        if verdict != ("ok",):
            connection.close()
            return self._replace_damaged(identity, f"damaged: {verdict[0] if verdict else 'no answer'}")
        return connection

    def _replace_damaged(self, identity: os.stat_result, reason: str) -> sqlite3.Connection:
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_dev, now.st_ino) == (identity.st_dev, identity.st_ino):
            aside = move_aside(self.path, "corrupt")
            for suffix in SIDE_FILE_SUFFIXES:
                side = self.path.with_name(self.path.name + suffix)
                if os.path.lexists(side):
                    os.rename(side, aside.with_name(aside.name + suffix))  # aside's name is new: nothing there
            self.recovery_notice = (
                f"{display_path(self.path)}: the cache was damaged ({reason}): kept it as {aside.name} and "
                "started a new one (the library's tags and moods are read again)"
            )
        # else another process replaced it meanwhile: use the new one
        return self._open()

    def ensure_schema(self, name: str, script: str) -> None:
        """Run a module's idempotent ``CREATE ... IF NOT EXISTS`` script once per Cache object."""
        with self._lock:
            if name in self._schemas_done:
                return
        connection = self.connect()
        try:
            # One script in one write transaction, so concurrent processes create tables once.
            connection.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")
        except BaseException as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error) and is_disk_full(error, self.path):
                # The tables of an existing cache are there: reading works, writes say why not.
                self.write_failure = write_failure(self.path, error)
                return
            raise
        with self._lock:
            self._schemas_done.add(name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection: committed on success, else rolled back."""
        connection = self.connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of derived data (an index, analysis results): when it fails (a
        full disk, a read-only folder) it is rolled back, the reason is kept in
        :attr:`write_failure` and nothing is raised: the data is simply not stored this time, and
        the next write that succeeds clears the reason."""
        try:
            with self.transaction() as connection:
                yield connection
        except (sqlite3.Error, OSError, MoodtuiError) as error:
            self.write_failure = write_failure(self.path, error)
        else:
            self.write_failure = None

    def close(self) -> None:
        """Close every thread's connection; the Cache reconnects if used again."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def _enable_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL mode, waiting out a concurrent first opener.

    Changing the journal mode needs a moment of exclusive access that the busy timeout does not
    cover: two threads or processes opening a new cache file together can see "database is
    locked" here. Retry briefly instead of failing.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """True when sqlite says the file is not a database or is corrupt (not: locked, full, no access)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
