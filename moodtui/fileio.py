"""Durable, atomic file replacement: what keeps labels and model pointers whole through a crash."""

from __future__ import annotations

import errno
import itertools
import os
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from moodtui.errors import display_path

TEMP_SUFFIX = ".tmp"
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException, where: str | os.PathLike[str] | None = None) -> bool:
    """True for "no space left" (and "quota exceeded"), whatever layer raised it (sqlite says
    "database or disk is full"). With ``where`` (the file being written), an error that does not
    say why (sqlite's "disk I/O error" when it cannot grow its WAL files) counts as a full disk
    when that file system has no byte left."""
    if isinstance(error, OSError):
        if error.errno in DISK_FULL_ERRNOS:
            return True
    elif "disk is full" in str(error) or "No space left" in str(error):
        return True
    return where is not None and _no_space_left(where)


def _no_space_left(where: str | os.PathLike[str]) -> bool:
    folder = os.path.dirname(os.path.abspath(os.fsdecode(where)))
    try:
        info = os.statvfs(folder)
    except OSError:
        return False
    return (info.f_bavail == 0 and os.geteuid() != 0) or info.f_bfree == 0  # root may use the reserve


def disk_full_in(error: BaseException) -> bool:
    """True when ``error`` or an error it was raised from (``__cause__`` / ``__context__``) is a
    full disk: libraries such as Keras wrap the OSError in their own exceptions."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if is_disk_full(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def write_failure(path: str | os.PathLike[str], error: BaseException) -> str:
    """One line saying why writing ``path`` failed; a full disk is named as such (it is not a
    broken file: nothing should be deleted, writing works again once space is freed)."""
    if is_disk_full(error, path):
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


def move_aside(path: Path, tag: str) -> Path:
    """Rename ``path`` (a file, a link or a folder) to ``<name>.<tag>-<UTC time>`` beside it, and
    return the new path. Never replaces anything: when the name is taken, ``-1``, ``-2`` ... follow.

    What a damaged file of the data folder becomes (kept for the curious, never deleted)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for counter in itertools.count():
        aside = path.with_name(f"{path.name}.{tag}-{stamp}" + (f"-{counter}" if counter else ""))
        try:
            _rename_exclusively(path, aside)
        except FileExistsError:
            continue
        fsync_directory(path.parent)
        return aside
    raise AssertionError("unreachable")


def _rename_exclusively(source: Path, target: Path) -> None:
    """``os.rename`` that fails with FileExistsError instead of replacing ``target``."""
    if source.is_dir() and not source.is_symlink():
        os.mkdir(target)  # claims the name (O_EXCL-like); a folder may replace an empty folder
        try:
            os.rename(source, target)
        except BaseException:
            with suppress(OSError):
                os.rmdir(target)
            raise
    else:
        os.link(source, target, follow_symlinks=False)  # FileExistsError when the name is taken
        os.unlink(source)
