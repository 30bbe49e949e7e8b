"""Durable, atomic file replacement: what keeps labels and model pointers whole through a crash."""

from __future__ import annotations

import errno
import os
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from moodtui.errors import display_path

TEMP_SUFFIX = ".tmp"
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """True for "no space left" (and "quota exceeded"), whatever layer raised it (sqlite says
    "database or disk is full")."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    return "disk is full" in str(error) or "No space left" in str(error)


def write_failure(path: str | os.PathLike[str], error: BaseException) -> str:
    """One line saying why writing ``path`` failed; a full disk is named as such (it is not a
    broken file: nothing should be deleted, writing works again once space is freed)."""
    if is_disk_full(error):
        return f"no space left on device while writing {display_path(path)}"
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"cannot write {display_path(path)}: {reason}"


def temp_file_prefix(path: Path) -> str:
    """Name prefix of the temporary files :func:`atomic_write_bytes` makes beside ``path``
    (with :data:`TEMP_SUFFIX`): what a crash may leave behind, for cleaning up."""
    return f".{path.name}."


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno != errno.EINVAL:  # some file systems cannot fsync a directory
            raise
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, payload: bytes, *, later_mtime: bool = False) -> os.stat_result:
    """Replace ``path`` by a file holding ``payload``: temporary file, fsync, ``os.replace``,
    fsync of the folder. Returns the new file's stat.

    ``later_mtime`` gives the new file an mtime strictly later than the old one's, so readers that
    cache by (inode, size, mtime) notice a rewrite within one timestamp tick.
    """
    previous_mtime_ns = 0
    if later_mtime:
        with suppress(FileNotFoundError):
            previous_mtime_ns = os.stat(path).st_mtime_ns
    fd, temp_name = tempfile.mkstemp(prefix=temp_file_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            if later_mtime:
                now = time.time_ns()
                os.utime(temp_name, ns=(now, max(now, previous_mtime_ns + 1)))
            os.fsync(handle.fileno())
            info = os.fstat(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_directory(path.parent)
    return info


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` by a file holding ``text`` (UTF-8), as :func:`atomic_write_bytes` does."""
    atomic_write_bytes(path, text.encode("utf-8"))
