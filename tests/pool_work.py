"""Work functions for tests/functional/test_pool.py: they run inside the analysis pool's worker processes,
so they live in a module the workers can import (the tests folder is on their sys.path)."""

from __future__ import annotations

import os
import signal
import time


def kill_own_worker_on(item: str) -> str:
    """Return the item, except that an item starting with "crash" kills the process running it."""
    if item.startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return item.upper()


def sleep_long(item: str) -> str:
    time.sleep(60)
    return item
