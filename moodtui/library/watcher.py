"""Noticing changes while the player runs: files in the music folder, labels and models in the data folder.

:func:`watch_folder` follows the music folder with ``watchfiles`` (inotify on Linux) and hands
over the paths that changed, a short burst at a time; when inotify cannot be used (a network
file system, the kernel's watch limit reached) it falls back to polling, and says so once. What
to make of the paths is :func:`moodtui.library.scan.scan_paths`'s business.

:class:`DataFolderWatch` notices that the labels file or the current-model pointer was rewritten
by another process (``moodtui label``, ``moodtui rollback``, ``moodtui train``): both are
replaced atomically, so a change of (inode, size, mtime) is a new version. It is polled (two
``stat`` calls), which costs nothing and needs no watch on a folder that may not exist yet.

No Textual here: the App runs these in thread workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

WATCH_STEP_MS = 100
"""A burst of changes is handed over once nothing more changed for this long."""
WATCH_DEBOUNCE_MS = 1_000
"""...or after this long at the latest, while changes keep coming (a big copy)."""
POLL_DELAY_MS = 1_000
"""Between two looks at the folder when polling."""
WATCH_ENV = "MOODTUI_WATCH"
"""``poll`` forces polling, ``off`` turns the watcher off (tests, odd file systems)."""


class StopSignal(Protocol):
    """A ``threading.Event``, or anything with ``is_set()``."""

    def is_set(self) -> bool: ...


def watch_mode() -> str:
    """``inotify`` (the default: watchfiles picks the best the system has), ``poll`` or ``off``."""
    mode = os.environ.get(WATCH_ENV, "").strip().lower()
    return mode if mode in ("poll", "off") else "inotify"


def watch_folder(
    root: str | os.PathLike[str],
    on_paths: Callable[[list[Path]], None],
    stop: StopSignal,
    *,
    polling: bool | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> None:
    """Call ``on_paths`` with the paths below ``root`` that were added, changed or removed,
    until ``stop`` is set. Blocks: run it in a thread. ``polling`` None picks by :func:`watch_mode`.
    """
    from watchfiles import watch

    if polling is None:
        polling = watch_mode() == "poll"
    while not stop.is_set():
        try:
            for changes in watch(
                os.fspath(root), watch_filter=None, debounce=WATCH_DEBOUNCE_MS, step=WATCH_STEP_MS, stop_event=stop,
                rust_timeout=500, yield_on_timeout=False, raise_interrupt=False, force_polling=polling,
                poll_delay_ms=POLL_DELAY_MS, ignore_permission_denied=True,
            ):  # fmt: skip
                paths = sorted({Path(path) for _change, path in changes})
                if paths:
                    on_paths(paths)
            return
        except FileNotFoundError:
            return  # the music folder itself is gone: nothing left to watch
        except (OSError, RuntimeError) as error:
            if polling:
                if on_notice is not None:
                    on_notice(f"cannot watch the music folder for changes ({_reason(error)}); press F5 to rescan")
                return
            polling = True  # e.g. "OS file watch limit reached": look every second instead
            if on_notice is not None:
                on_notice(f"watching the music folder by polling ({_reason(error)})")


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


class DataFolderWatch:
    """Which of the watched files were rewritten since the last :meth:`changed` call."""

    def __init__(self, files: dict[str, Path]) -> None:
        """``files`` maps a name (``"labels"``, ``"model"``) to the file to follow."""
        self.files = dict(files)
        self._seen = {name: _signature(path) for name, path in self.files.items()}

    def changed(self) -> set[str]:
        """The names whose file was replaced, changed, created or removed since the last call."""
        changed = set()
        for name, path in self.files.items():
            now = _signature(path)
            if now != self._seen[name]:
                self._seen[name] = now
                changed.add(name)
        return changed


__all__ = ["DataFolderWatch", "watch_folder", "watch_mode"]
