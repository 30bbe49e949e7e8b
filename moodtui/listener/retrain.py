"""Running the training job from the player: a subprocess, its progress lines, one at a time.

The player never imports TensorFlow: it starts ``python -m moodtui train --listener`` (the same
interpreter) and follows the progress lines the job prints (``moodtui.listener.progress`` events). A lock file in the data folder
(taken by the job itself, for its whole run) makes sure only one retrain runs at a time, across
processes (two players, or a player and a ``moodtui train`` typed in a shell).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from moodtui.errors import MoodtuiError
from moodtui.listener.progress import (
    EpochEnded,
    FeaturesRead,
    GuardCompared,
    HeadTried,
    JobDone,
    JobFailed,
    JobStarted,
    ModelExported,
    ProgressEvent,
    SongSkipped,
    from_line,
)
from moodtui.paths import data_home
from moodtui.text import plural

MIN_LABELLED_SONGS = 3
"""The fewest labelled songs a personal retrain takes (the player, the CLI and the job check it)."""


@dataclass(frozen=True)
class RetrainResult:
    ok: bool
    version: str | None
    message: str
    agreement: float | None
    switched: bool = True
    """False when the new model was kept as a version but not switched on (not as good as the current)."""
    guard: dict[str, Any] | None = None
    """The comparison with the current model (``guard`` in the new model's metadata)."""

    def switch_notice(self) -> str:
        """What the player says when it switches to the new model."""
        if self.guard:
            detail = self.message
        elif self.agreement is not None:
            detail = f"agrees with you on {100 * self.agreement:.0f}% of held-out songs"
        else:
            detail = "no held-out agreement figure"
        return f"new model {self.version}: {detail}"


def stage_words(event: ProgressEvent, stage: str) -> str:
    """The status line's words for a retrain at ``event`` (``stage``: the words so far)."""
    if isinstance(event, JobStarted):
        return f"retrain: {event.songs} labelled songs"
    if isinstance(event, FeaturesRead):
        return "retrain: reading your songs"
    if isinstance(event, EpochEnded):
        return f"retrain: epoch {event.epoch}/{event.epochs}"
    if isinstance(event, HeadTried):
        return f"retrain: trying head {event.done}/{event.total} on held-out songs"
    if isinstance(event, GuardCompared):
        return "retrain: comparing with the current model"
    if isinstance(event, ModelExported):
        return "retrain: exporting the model"
    if isinstance(event, SongSkipped):
        return "retrain: skipping a song"
    return stage


def stage_fraction(event: ProgressEvent) -> tuple[int, int] | None:
    """(done, total) for a progress bar at ``event``, when the event counts steps."""
    if isinstance(event, EpochEnded) and event.epochs:
        return event.epoch, event.epochs
    if isinstance(event, HeadTried) and event.total:
        return event.done, event.total
    return None


def guard_message(guard: dict[str, Any], version: str, switch_hint: str) -> str:
    """One line: how the new model and the current one did on the listener's held-out songs, and
    what happened ("... kept the current one; `m` to switch anyway")."""
    songs = guard.get("songs", 0)
    figures = (
        f"the new model agrees with {guard.get('new_agrees')} of your {songs} songs, "
        f"the current one with {guard.get('current_agrees')}"
    )
    if guard.get("head") == "base":
        # Nothing was fitted: say so, or the listener takes "switched" for their labels taking effect.
        figures += (
            f" (it is the base model as it is: your {songs} songs do not yet show clearly how your moods"
            " differ from it)"
        )
    if guard.get("switched"):
        return f"{figures}: switched to the new model {version}"
    return f"{figures}: kept the current one (new model {version} kept as a version); {switch_hint} to switch anyway"


class RetrainJob:
    """One retrain: ``start()``, iterate ``events()``, then ``wait()``."""

    def __init__(self, home: Path | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.home = home or data_home()
        self.extra_args = extra_args
        self._process: subprocess.Popen[str] | None = None
        self._last: ProgressEvent | None = None
        self._errors: list[str] = []

    def start(self) -> None:
        """Start the job; MoodtuiError when one already runs or there are too few labels."""
        from moodtui.listener.labels import default_store

        songs = len(default_store().current_labels())
        if songs < MIN_LABELLED_SONGS:
            raise MoodtuiError(
                f"{plural(songs, 'song')} labelled: label at least {MIN_LABELLED_SONGS} songs (p / n / x while "
                f"one plays) before retraining"
            )
        # Fail fast with the job's own message when another job runs (the job holds the lock).
        training_lock(self.home).close()
        env = dict(os.environ, MOODTUI_HOME=os.fspath(self.home), PYTHONUNBUFFERED="1")
        env[EXIT_WITH_PARENT_ENV] = "1"
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moodtui", "train", "--listener", "--json", *self.extra_args],
                # stdin: a pipe nobody writes to; it reaches end-of-file when this process goes
                # (quit, crash, kill -9, its terminal closed): the job then ends too.
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                # Its own process group so that cancel() also stops anything the job started.
                start_new_session=True,
            )
        except OSError as exc:
            raise MoodtuiError(f"cannot start the training job ({exc.strerror or exc})") from None

    def events(self) -> Iterator[ProgressEvent]:
        """The job's progress events as they come (blocking); ends when the job's output ends."""
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            event = from_line(line)
            if event is None:
                continue
            if isinstance(event, JobFailed):
                self._errors.append(event.message)
            self._last = event
            yield event

    def wait(self) -> RetrainResult:
        """Wait for the job to end and say how it went."""
        assert self._process is not None
        for _ in self.events():
            pass
        stderr = self._process.stderr.read() if self._process.stderr else ""
        code = self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()  # the job's parent pipe: no longer needed
        if code == 0 and isinstance(self._last, JobDone):
            done = self._last
            message = (
                guard_message(done.guard, done.version, "`m` to switch anyway")
                if done.guard
                else f"new model {done.version}"
            )
            return RetrainResult(True, done.version, message, done.song_agreement, done.switched, done.guard)
        if self._errors:
            reason = self._errors[-1]
        elif code < 0:
            reason = f"training job killed by signal {-code}"
        else:
            tail = [ln for ln in stderr.strip().splitlines() if ln.strip()]
            reason = tail[-1] if tail else f"training job exited with code {code}"
        return RetrainResult(False, None, f"retrain failed: {reason}; the previous model stays in use", None)

    def cancel(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


EXIT_WITH_PARENT_ENV = "MOODTUI_EXIT_WITH_PARENT"
"""Set by :class:`RetrainJob` for the job it starts: end when the player's pipe on stdin closes."""
PARENT_GONE_GRACE_S = 30.0
"""How long a job whose player is gone may take to clean up before it exits regardless."""


def exit_with_parent() -> None:
    """In the training job: end as on Ctrl+C (so its staging folder is removed and the previous
    model stays) on SIGTERM (``RetrainJob.cancel``), and, when started by the player, once the
    player's pipe on stdin reaches end-of-file: the player quit, crashed, was killed or its
    terminal closed (SIGHUP never reaches the job: it runs in its own session). No orphans."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    if os.environ.get(EXIT_WITH_PARENT_ENV) != "1":
        return

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked in a buffered read
        # holds its lock, and the interpreter's exit would then wait for it forever.
        with suppress(OSError):
            while os.read(0, 4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(PARENT_GONE_GRACE_S)
        os._exit(130)  # still here: stuck in native code; the next job removes what is left

    threading.Thread(target=watch, name="moodtui-parent-watch", daemon=True).start()


def training_lock(home: Path) -> IO[str]:
    """Take the data folder's training lock (held by the training job for its whole run).

    Raises MoodtuiError naming the holder's pid when another job holds it. Closing the returned
    handle (or the process ending, even by kill -9) releases it.
    """
    handle = open(home / "train.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise MoodtuiError(
            f"a retrain is already running{f' (pid {holder})' if holder else ''}; wait for it to finish"
        ) from None
    # The pid only names the holder to a refused second job: on a full disk writing it fails,
    # which must not stop the job (it then fails on the real write with a clear message).
    with suppress(OSError):
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
    return handle
