"""The player's caches on one cache.sqlite: opened once, a damaged file replaced with one line (no Textual)."""

from __future__ import annotations

import threading
from pathlib import Path

from moodtui.player.caches import PlayerCaches
from moodtui.sqlite_cache import Cache


def test_the_caches_open_once_whichever_thread_asks_first(tmp_path: Path) -> None:
    caches = PlayerCaches(Cache(tmp_path / "cache.sqlite"))
    assert caches.index is None and caches.analysis is None and caches.scheduler is None
    opened: list[object] = []
    threads = [threading.Thread(target=lambda: opened.append(caches.open())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {id(index) for index, _ in opened} == {id(caches.index)}  # one index for every thread
    assert [notice for _, notice in opened] == [None] * 4  # a new cache: nothing to say
    assert caches.loaded_analysis() is caches.analysis and caches.loaded_scheduler() is caches.scheduler


def test_a_damaged_cache_is_replaced_and_said_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"not a database, " * 100)
    caches = PlayerCaches(Cache(path))
    _, notice = caches.open()
    assert notice is not None and "cache.sqlite" in notice
    assert caches.open()[1] is None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("cache.sqlite.corrupt-")]
